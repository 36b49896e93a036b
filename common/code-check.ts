/**
 * Static check of a function's code before it is stored or loaded: it must parse (as an ES module
 * or as a CommonJS script) and must plausibly export the handler. Returns the module format the
 * sandbox runtime needs. It only parses; it never evaluates the code.
 */
import { parse, type Node, type Options, type Program } from 'acorn';
import { TaskForgeError } from './errors.js';

export type CodeFormat = 'esm' | 'cjs';

export interface CodeCheckResult {
  format: CodeFormat;
}

interface ParseFailure {
  message: string;
  line: number;
  column: number;
  pos: number;
}

type Parsed = { ok: true; program: Program } | { ok: false; failure: ParseFailure };

const BASE_OPTIONS: Options = { ecmaVersion: 'latest', locations: true, allowHashBang: true };

/** Throws TaskForgeError('INVALID_CODE') saying what is wrong and where. */
export function checkCode(code: string, handler: string): CodeCheckResult {
  const asModule = tryParse(code, { ...BASE_OPTIONS, sourceType: 'module' });
  if (asModule.ok && hasModuleSyntax(asModule.program)) {
    checkEsmExport(asModule.program, handler);
    return { format: 'esm' };
  }
  // No import/export: a script, evaluated inside the CommonJS wrapper (top-level return allowed).
  const asScript = tryParse(code, { ...BASE_OPTIONS, sourceType: 'script', allowReturnOutsideFunction: true });
  if (asScript.ok) {
    checkCjsExport(asScript.program, handler);
    return { format: 'cjs' };
  }
  if (asModule.ok) {
    // Parses only as a module (e.g. top-level await) yet exports nothing.
    checkEsmExport(asModule.program, handler);
    return { format: 'esm' };
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

function hasModuleSyntax(program: Program): boolean {
  return program.body.some((n) => n.type.startsWith('Export') || n.type === 'ImportDeclaration');
}

// ---- ES modules --------------------------------------------------------------------------------

function checkEsmExport(program: Program, handler: string): void {
  const names = esmExportNames(program);
  if (names.has(handler)) return;
  const what = handler === 'default' ? 'no default export' : `no export named '${handler}'`;
  const list = names.size > 0 ? `exports: ${[...names].join(', ')}` : 'it exports nothing';
  throw new TaskForgeError('INVALID_CODE', `handler '${handler}' not found: the module has ${what} (${list})`, {
    field: 'body.handler',
    reason: 'no_handler',
    handler,
    format: 'esm',
    exports: [...names],
  });
}

function esmExportNames(program: Program): Set<string> {
  const names = new Set<string>();
  for (const node of program.body) {
    if (node.type === 'ExportDefaultDeclaration') names.add('default');
    else if (node.type === 'ExportAllDeclaration') {
      if (node.exported) names.add(nameOf(node.exported));
    } else if (node.type === 'ExportNamedDeclaration') {
      const decl = node.declaration;
      if (decl?.type === 'FunctionDeclaration' || decl?.type === 'ClassDeclaration') names.add(decl.id.name);
      else if (decl?.type === 'VariableDeclaration') for (const d of decl.declarations) bindingNames(d.id, names);
      for (const spec of node.specifiers) names.add(nameOf(spec.exported));
    }
  }
  return names;
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

function checkCjsExport(program: Program, handler: string): void {
  let found = false;
  walk(program, (node) => {
    if (!found && exportsHandler(node, handler)) found = true;
    return !found;
  });
  if (found) return;
  const expected = handler === 'default' ? '`module.exports = …`' : `\`exports.${handler} = …\` or \`module.exports = { ${handler} }\``;
  throw new TaskForgeError(
    'INVALID_CODE',
    `handler '${handler}' not found: the code has no export statements and no ${expected} assignment (an ES module needs \`export\`)`,
    { field: 'body.handler', reason: 'no_handler', handler, format: 'cjs' },
  );
}

/** Plausible, not proven: the runtime still checks that the export is a function. */
function exportsHandler(node: Node, handler: string): boolean {
  const n = node as Node & Record<string, unknown>;
  if (n.type === 'AssignmentExpression') {
    const left = n.left as Node;
    if (isModuleExports(left)) {
      const right = n.right as Node & { properties?: Node[] };
      if (handler === 'default' || right.type !== 'ObjectExpression') return true;
      return right.properties!.some((p) => p.type === 'SpreadElement' || propertyName(p) === handler);
    }
    if (left.type === 'MemberExpression') {
      const m = left as Node & { object: Node; property: Node; computed: boolean };
      if (isExportsObject(m.object) && memberName(m) === handler) return true;
    }
  }
  if (n.type === 'CallExpression') {
    // Object.defineProperty(exports, 'handler', …) / Object.assign(module.exports, {…}), as compilers emit.
    const callee = n.callee as Node & { object?: Node; property?: Node };
    const args = n.arguments as Node[];
    if (callee.type === 'MemberExpression' && isIdentifier(callee.object, 'Object') && args.length > 0 && isExportsObject(args[0]!)) {
      const method = callee.property as Node & { name?: string };
      if (method.name === 'assign') return true;
      if (method.name === 'defineProperty') return literalValue(args[1]) === handler;
    }
  }
  return false;
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

/** Depth-first over every AST node; the visitor returns false to stop. */
function walk(root: Node, visit: (node: Node) => boolean): void {
  const stack: Node[] = [root];
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (!visit(node)) return;
    for (const key of Object.keys(node)) {
      if (key === 'loc') continue;
      const value = (node as unknown as Record<string, unknown>)[key];
      if (Array.isArray(value)) {
        for (const v of value) if (isNode(v)) stack.push(v);
      } else if (isNode(value)) stack.push(value);
    }
  }
}

function isNode(value: unknown): value is Node {
  return typeof value === 'object' && value !== null && typeof (value as { type?: unknown }).type === 'string';
}
