/**
 * Static check of a function's code before it is stored or loaded: it must parse (as an ES module
 * or as a CommonJS script) and must plausibly export the handler. Returns the module format the
 * sandbox runtime needs. It only parses; it never evaluates the code.
 */
import { isBuiltin } from 'node:module';
import { getLineInfo, parse, type Node, type Options, type Program } from 'acorn';
import { TaskForgeError } from './errors.js';

export type CodeFormat = 'esm' | 'cjs';

export interface CodeCheckResult {
  format: CodeFormat;
  /**
   * The export the runtime calls: the spec's handler, except that handler 'default' (the spec's
   * default) falls back to an export named 'handler' when there is no default export, as code
   * written for AWS Lambda has it (the runtime applies the same rule).
   */
  handler: string;
}

/** The export that handler 'default' falls back to when the code has no default export. */
export const FALLBACK_HANDLER = 'handler';

const BUNDLE_HINT = 'bundle it, e.g. esbuild --bundle --platform=node';

interface ParseFailure {
  message: string;
  line: number;
  column: number;
  pos: number;
}

type Parsed = { ok: true; program: Program } | { ok: false; failure: ParseFailure };

// No locations on every node (they double the parse's cost on a large bundle): a refusal's line
// is computed from the node's offset, and acorn's syntax errors carry theirs anyway.
const BASE_OPTIONS: Options = { ecmaVersion: 'latest', locations: false, allowHashBang: true };

/** Throws TaskForgeError('INVALID_CODE') saying what is wrong and where. */
export function checkCode(code: string, handler: string): CodeCheckResult {
  const asModule = tryParse(code, { ...BASE_OPTIONS, sourceType: 'module' });
  if (asModule.ok && hasModuleSyntax(asModule.program)) {
    checkImports(asModule.program, 'esm', code);
    return { format: 'esm', handler: checkEsmExport(asModule.program, handler, code) };
  }
  // No import/export: a script, evaluated inside the CommonJS wrapper (top-level return allowed).
  // A module parse that succeeded is already the script's tree unless it used what only modules
  // have: a CommonJS bundle is parsed once, not twice.
  const asScript =
    asModule.ok && !usesModuleOnlySyntax(asModule.program)
      ? asModule
      : tryParse(code, { ...BASE_OPTIONS, sourceType: 'script', allowReturnOutsideFunction: true });
  if (asScript.ok) {
    checkImports(asScript.program, 'cjs', code);
    return { format: 'cjs', handler: checkCjsExport(asScript.program, handler, code) };
  }
  if (asModule.ok) {
    // Parses only as a module (e.g. top-level await) yet exports nothing.
    checkImports(asModule.program, 'esm', code);
    return { format: 'esm', handler: checkEsmExport(asModule.program, handler, code) };
  }
  // Neither parses: report the parse that got further, which is most likely the intended one.
  const failure = asModule.failure.pos >= asScript.failure.pos ? asModule.failure : asScript.failure;
  throw new TaskForgeError('INVALID_CODE', `code does not parse: ${failure.message} at line ${failure.line}, column ${failure.column}`, {
    field: 'body.code',
    reason: 'syntax',
    line: failure.line,
    column: failure.column,
    parserMessage: failure.message,
  });
}

function tryParse(code: string, options: Options): Parsed {
  try {
    return { ok: true, program: parse(code, options) };
  } catch (err) {
    const e = err as { message?: string; loc?: { line: number; column: number }; pos?: number };
    const loc = e.loc ?? { line: 1, column: 0 };
    // acorn appends "(line:column)" to its message; the position is reported separately.
    const message = String(e.message ?? err).replace(/\s*\(\d+:\d+\)$/, '');
    return { ok: false, failure: { message, line: loc.line, column: loc.column + 1, pos: e.pos ?? 0 } };
  }
}

/** `import.meta`, or `await` outside any function (top-level await): valid in a module only. */
function usesModuleOnlySyntax(program: Program): boolean {
  const stack: Node[] = [program];
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (node.type === 'MetaProperty') return true;
    if (node.type === 'AwaitExpression' || (node.type === 'ForOfStatement' && (node as Node & { await?: boolean }).await)) return true;
    for (const key of Object.keys(node)) {
      const value = (node as unknown as Record<string, unknown>)[key];
      for (const child of Array.isArray(value) ? value : [value]) {
        // Inside a function, await is that function's (or an error the parse already reported).
        if (isNode(child) && !FUNCTION_NODES.has(child.type)) stack.push(child);
      }
    }
  }
  return false;
}

const FUNCTION_NODES = new Set(['FunctionDeclaration', 'FunctionExpression', 'ArrowFunctionExpression']);

function hasModuleSyntax(program: Program): boolean {
  return program.body.some((n) => n.type.startsWith('Export') || n.type === 'ImportDeclaration');
}

// ---- ES modules --------------------------------------------------------------------------------

function checkEsmExport(program: Program, handler: string, code: string): string {
  const exports = esmExports(program);
  const names = [...exports.keys()];
  const resolved = resolveHandler(handler, exports.has.bind(exports));
  if (resolved !== undefined) {
    checkIsFunction(exports.get(resolved) ?? null, resolved, 'esm', code);
    return resolved;
  }
  const what = handler === 'default' ? `no default export and no export named '${FALLBACK_HANDLER}'` : `no export named '${handler}'`;
  const list = names.length > 0 ? `exports: ${names.join(', ')}; set handler to one of them` : 'it exports nothing';
  throw new TaskForgeError('INVALID_CODE', `handler '${handler}' not found: the module has ${what} (${list})`, {
    field: 'body.handler',
    reason: 'no_handler',
    handler,
    format: 'esm',
    exports: names,
  });
}

/** handler 'default' falls back to FALLBACK_HANDLER when there is no default export. */
function resolveHandler(handler: string, has: (name: string) => boolean): string | undefined {
  if (has(handler)) return handler;
  if (handler === 'default' && has(FALLBACK_HANDLER)) return FALLBACK_HANDLER;
  return undefined;
}

/** Export name → the expression or declaration it is bound to, where that is visible (else null). */
function esmExports(program: Program): Map<string, Node | null> {
  const out = new Map<string, Node | null>();
  const locals = topLevelValues(program);
  for (const node of program.body) {
    if (node.type === 'ExportDefaultDeclaration') {
      const decl = node.declaration as Node;
      out.set('default', decl.type === 'Identifier' ? (locals.get(nameOf(decl)) ?? null) : decl);
    } else if (node.type === 'ExportAllDeclaration') {
      if (node.exported) out.set(nameOf(node.exported), null);
    } else if (node.type === 'ExportNamedDeclaration') {
      const decl = node.declaration;
      if (decl?.type === 'FunctionDeclaration' || decl?.type === 'ClassDeclaration') out.set(decl.id.name, decl);
      else if (decl?.type === 'VariableDeclaration') {
        for (const d of decl.declarations) {
          const names = new Set<string>();
          bindingNames(d.id, names);
          for (const name of names) out.set(name, d.id.type === 'Identifier' && decl.kind === 'const' ? (d.init ?? null) : null);
        }
      }
      for (const spec of node.specifiers) {
        const local = spec.local as Node;
        out.set(nameOf(spec.exported), node.source ? null : (locals.get(nameOf(local)) ?? null));
      }
    }
  }
  return out;
}

/** Top-level `const x = <expr>` and `function x() {}`: what a local name is bound to, if fixed. */
function topLevelValues(program: Program): Map<string, Node> {
  const out = new Map<string, Node>();
  for (const raw of program.body) {
    const node = raw.type === 'ExportNamedDeclaration' && raw.declaration ? raw.declaration : raw;
    if (node.type === 'FunctionDeclaration' || node.type === 'ClassDeclaration') {
      if (node.id) out.set(node.id.name, node);
    } else if (node.type === 'VariableDeclaration' && node.kind === 'const') {
      for (const d of node.declarations) if (d.id.type === 'Identifier' && d.init) out.set(d.id.name, d.init);
    }
  }
  return out;
}

/** Expression kinds whose value is never a function. */
const NOT_FUNCTION: Record<string, string> = {
  Literal: 'literal',
  TemplateLiteral: 'string',
  ArrayExpression: 'array',
  ObjectExpression: 'object',
  UnaryExpression: 'primitive value',
  BinaryExpression: 'primitive value',
  UpdateExpression: 'number',
};

/** Refuses a handler export that is statically visible as something other than a function. */
function checkIsFunction(value: Node | null, handler: string, format: CodeFormat, code: string): void {
  if (!value || !(value.type in NOT_FUNCTION)) return;
  let kind = NOT_FUNCTION[value.type]!;
  if (value.type === 'Literal') {
    const v = (value as Node & { value: unknown; regex?: unknown }).value;
    kind = (value as Node & { regex?: unknown }).regex ? 'regular expression' : v === null ? 'null' : typeof v;
  }
  const what = handler === 'default' ? 'the default export' : `export '${handler}'`;
  const example =
    format === 'esm'
      ? `export const ${handler === 'default' ? FALLBACK_HANDLER : handler} = async (event, context) => { … }`
      : `exports.${handler === 'default' ? FALLBACK_HANDLER : handler} = async (event, context) => { … }`;
  throw new TaskForgeError(
    'INVALID_CODE',
    `handler '${handler}' is not a function: ${what} is ${/^[aeiou]/.test(kind) ? 'an' : 'a'} ${kind}; export a function, e.g. ${example}`,
    {
      field: 'body.handler',
      reason: 'not_a_function',
      handler,
      format,
      line: getLineInfo(code, value.start).line,
    },
  );
}

// ---- imports -----------------------------------------------------------------------------------

/**
 * The sandbox reads no files: only Node.js builtins can be imported or required. Anything else
 * (a package, a relative path) would fail at load time, so it is refused here with the fix.
 */
function checkImports(program: Program, format: CodeFormat, code: string): void {
  const refuse = (specifier: string, node: Node, how: string): never => {
    const what = specifier.startsWith('.') || specifier.startsWith('/') ? `the file '${specifier}'` : `the package '${specifier}'`;
    const line = getLineInfo(code, node.start).line;
    throw new TaskForgeError(
      'INVALID_CODE',
      `the code ${how} ${what} (line ${line}), which the sandbox cannot load: only Node.js builtins are available; ${BUNDLE_HINT}`,
      { field: 'body.code', reason: 'not_bundled', format, specifier, line },
    );
  };
  // A require or import() inside a try block is optional (bundles keep `try { require('bufferutil') }`
  // for optional dependencies): the code handles the failure, so it is not refused.
  walk(program, (node, guarded) => {
    const n = node as Node & Record<string, unknown>;
    if ((n.type === 'ImportExpression' || n.type === 'CallExpression') && guarded) return true;
    if ((n.type === 'ImportDeclaration' || n.type === 'ExportAllDeclaration' || n.type === 'ExportNamedDeclaration') && n.source) {
      const spec = literalValue(n.source as Node);
      if (spec !== undefined && !isBuiltin(spec)) refuse(spec, node, n.type === 'ImportDeclaration' ? 'imports' : 're-exports');
    } else if (n.type === 'ImportExpression') {
      const spec = literalValue(n.source as Node);
      if (spec !== undefined && !isBuiltin(spec)) refuse(spec, node, 'imports');
    } else if (n.type === 'CallExpression' && isIdentifier(n.callee as Node, 'require')) {
      const spec = literalValue((n.arguments as Node[])[0]);
      if (spec !== undefined && !isBuiltin(spec)) refuse(spec, node, 'requires');
    }
    return true;
  });
}

function nameOf(node: Node): string {
  const n = node as Node & { name?: string; value?: unknown };
  return n.type === 'Identifier' ? String(n.name) : String(n.value);
}

function bindingNames(pattern: Node, out: Set<string>): void {
  const p = pattern as Node & Record<string, unknown>;
  switch (p.type) {
    case 'Identifier':
      out.add(String(p.name));
      return;
    case 'ObjectPattern':
      for (const prop of p.properties as Node[]) {
        const pr = prop as Node & { value?: Node; argument?: Node };
        bindingNames(pr.type === 'RestElement' ? pr.argument! : pr.value!, out);
      }
      return;
    case 'ArrayPattern':
      for (const el of p.elements as (Node | null)[]) if (el) bindingNames(el, out);
      return;
    case 'RestElement':
      bindingNames(p.argument as Node, out);
      return;
    case 'AssignmentPattern':
      bindingNames(p.left as Node, out);
      return;
  }
}

// ---- CommonJS ----------------------------------------------------------------------------------

interface CjsExports {
  /** Names assigned on exports / module.exports, with the assigned value. */
  names: Map<string, Node | null>;
  /** `module.exports = <not an object literal>`: its value, names unknowable. */
  whole: Node | null;
  /** Object.assign(exports, …) or a spread: more names may exist than are seen. */
  opaque: boolean;
}

function checkCjsExport(program: Program, handler: string, code: string): string {
  const found = cjsExports(program);
  if (found.whole) {
    // `module.exports = fn`: the runtime calls it for 'default'; any other name may hang off it.
    if (handler === 'default') checkIsFunction(found.whole, handler, 'cjs', code);
    return handler;
  }
  const resolved = resolveHandler(handler, (name) => found.names.has(name));
  if (resolved !== undefined) {
    checkIsFunction(found.names.get(resolved) ?? null, resolved, 'cjs', code);
    return resolved;
  }
  if (found.opaque) return handler;
  const names = [...found.names.keys()];
  const expected =
    handler === 'default'
      ? `\`module.exports = …\`, \`module.exports.default = …\` or \`exports.${FALLBACK_HANDLER} = …\``
      : `\`exports.${handler} = …\` or \`module.exports = { ${handler} }\``;
  const list = names.length > 0 ? `it exports: ${names.join(', ')}; set handler to one of them` : 'it exports nothing';
  throw new TaskForgeError(
    'INVALID_CODE',
    `handler '${handler}' not found: the code has no export statements and no ${expected} assignment (${list}; an ES module needs \`export\`)`,
    { field: 'body.handler', reason: 'no_handler', handler, format: 'cjs', exports: names },
  );
}

function cjsExports(program: Program): CjsExports {
  const out: CjsExports = { names: new Map(), whole: null, opaque: false };
  walk(program, (node) => {
    const n = node as Node & Record<string, unknown>;
    if (n.type === 'AssignmentExpression' && n.operator === '=') {
      const left = n.left as Node;
      const right = n.right as Node & { properties?: Node[] };
      if (isModuleExports(left)) {
        if (right.type !== 'ObjectExpression') out.whole = right;
        else {
          for (const p of right.properties!) {
            if (p.type === 'SpreadElement') out.opaque = true;
            else {
              const name = propertyName(p);
              const prop = p as Node & { value?: Node; shorthand?: boolean; method?: boolean };
              if (name !== undefined) out.names.set(name, prop.shorthand || prop.method ? null : (prop.value ?? null));
              else out.opaque = true;
            }
          }
        }
      } else if (left.type === 'MemberExpression') {
        const m = left as Node & { object: Node; property: Node; computed: boolean };
        const name = memberName(m);
        if (isExportsObject(m.object) && name !== undefined) out.names.set(name, right);
      }
    }
    if (n.type === 'CallExpression') {
      // Object.defineProperty(exports, 'handler', …) / Object.assign(module.exports, {…}), as compilers emit.
      const callee = n.callee as Node & { object?: Node; property?: Node };
      const args = n.arguments as Node[];
      if (callee.type === 'MemberExpression' && isIdentifier(callee.object, 'Object') && args.length > 0 && isExportsObject(args[0]!)) {
        const method = callee.property as Node & { name?: string };
        if (method.name === 'assign') out.opaque = true;
        if (method.name === 'defineProperty') {
          const name = literalValue(args[1]);
          if (name !== undefined) out.names.set(name, null);
        }
      }
    }
    return true;
  });
  return out;
}

function isIdentifier(node: Node | undefined, name: string): boolean {
  return node?.type === 'Identifier' && (node as Node & { name: string }).name === name;
}

function isModuleExports(node: Node): boolean {
  if (node.type !== 'MemberExpression') return false;
  const m = node as Node & { object: Node; property: Node; computed: boolean };
  return isIdentifier(m.object, 'module') && memberName(m) === 'exports';
}

function isExportsObject(node: Node): boolean {
  return isIdentifier(node, 'exports') || isModuleExports(node);
}

function memberName(m: { property: Node; computed: boolean }): string | undefined {
  if (!m.computed && m.property.type === 'Identifier') return (m.property as Node & { name: string }).name;
  return literalValue(m.property);
}

function literalValue(node: Node | undefined): string | undefined {
  if (node?.type !== 'Literal') return undefined;
  const value = (node as Node & { value: unknown }).value;
  return typeof value === 'string' ? value : undefined;
}

function propertyName(prop: Node): string | undefined {
  const p = prop as Node & { key?: Node; computed?: boolean };
  if (!p.key) return undefined;
  if (!p.computed && p.key.type === 'Identifier') return (p.key as Node & { name: string }).name;
  return literalValue(p.key);
}

/**
 * Depth-first over every AST node, in one pass; the visitor returns false to stop. `guarded`:
 * the node is inside the block of a try statement.
 */
function walk(root: Node, visit: (node: Node, guarded: boolean) => boolean): void {
  const stack: [Node, boolean][] = [[root, false]];
  while (stack.length > 0) {
    const [node, guarded] = stack.pop()!;
    if (!visit(node, guarded)) return;
    const tryBlock = node.type === 'TryStatement' ? (node as Node & { block: Node }).block : null;
    for (const key of Object.keys(node)) {
      const value = (node as unknown as Record<string, unknown>)[key];
      if (Array.isArray(value)) {
        for (const v of value) if (isNode(v)) stack.push([v, guarded]);
      } else if (isNode(value)) stack.push([value, guarded || value === tryBlock]);
    }
  }
}

function isNode(value: unknown): value is Node {
  return typeof value === 'object' && value !== null && typeof (value as { type?: unknown }).type === 'string';
}
