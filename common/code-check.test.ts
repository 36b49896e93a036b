import { describe, expect, it } from 'vitest';
import { checkCode } from './code-check.js';
import { TaskForgeError } from './errors.js';

function invalid(code: string, handler: string): TaskForgeError {
  try {
    checkCode(code, handler);
  } catch (err) {
    expect(err).toBeInstanceOf(TaskForgeError);
    expect((err as TaskForgeError).code).toBe('INVALID_CODE');
    expect((err as TaskForgeError).statusCode).toBe(400);
    return err as TaskForgeError;
  }
  throw new Error('expected INVALID_CODE');
}

describe('checkCode: ES modules', () => {
  it.each([
    ['default function', 'export default async function (event) { return event; }', 'default'],
    ['default arrow', 'export default async (e) => e;', 'default'],
    ['export async function', 'export async function handler(e) { return e; }', 'handler'],
    ['export const', 'export const handler = async (e) => e;', 'handler'],
    ['export { x as handler }', 'const x = async () => 1;\nexport { x as handler };', 'handler'],
    ['export { x as default }', 'const x = async () => 1;\nexport { x as default };', 'default'],
    ['destructured export', 'export const { handler } = { handler: () => 1 };', 'handler'],
    ['import of a builtin', "import { createHash } from 'node:crypto';\nexport default () => createHash('sha256').digest('hex');", 'default'],
    ['top-level await', 'const v = await Promise.resolve(1);\nexport const main = () => v;', 'main'],
  ])('accepts %s', (_label, code, handler) => {
    expect(checkCode(code, handler)).toEqual({ format: 'esm', handler });
  });

  it('rejects a module without the handler export, listing what it exports', () => {
    const err = invalid('export const helper = 1;\nexport function other() {}', 'handler');
    expect(err.message).toBe("handler 'handler' not found: the module has no export named 'handler' (exports: helper, other; set handler to one of them)");
    expect(err.details).toMatchObject({ reason: 'no_handler', handler: 'handler', format: 'esm', exports: ['helper', 'other'] });
  });

  it.each([
    ['export const handler', 'export const handler = async (event) => event;'],
    ['export function handler', 'export async function handler(event) { return event; }'],
    ['export { x as handler }', 'const x = async () => 1;\nexport { x as handler };'],
  ])("finds %s when handler is 'default' and there is no default export", (_label, code) => {
    expect(checkCode(code, 'default')).toEqual({ format: 'esm', handler: 'handler' });
  });

  it('prefers the default export over one named handler', () => {
    expect(checkCode('export default () => 1;\nexport const handler = () => 2;', 'default')).toEqual({ format: 'esm', handler: 'default' });
  });

  it('rejects a module with neither a default export nor one named handler', () => {
    const err = invalid('export const main = () => 1;', 'default');
    expect(err.message).toBe(
      "handler 'default' not found: the module has no default export and no export named 'handler' (exports: main; set handler to one of them)",
    );
    expect(err.details).toMatchObject({ exports: ['main'] });
  });

  it('takes code without import/export as a module when it uses import.meta or await outside functions', () => {
    // Parsed once as a module; these make it one even though nothing is imported or exported.
    expect(invalid('const u = import.meta.url;\nglobalThis.h = () => u;', 'default').details).toMatchObject({ format: 'esm' });
    expect(invalid('for await (const x of []) ;', 'default').details).toMatchObject({ format: 'esm' });
    // await inside an async function is the function's: still a script.
    expect(checkCode('module.exports = async () => { await 1; for await (const x of []) ; };', 'default')).toEqual({ format: 'cjs', handler: 'default' });
  });

  it('rejects a module with top-level await that exports nothing', () => {
    const err = invalid('await 1;', 'default');
    expect(err.message).toContain('it exports nothing');
  });
});

describe('checkCode: CommonJS', () => {
  it.each([
    ['module.exports = function', 'module.exports = async function (e) { return e; };', 'default'],
    ['module.exports.default', 'module.exports.default = async (e) => e;', 'default'],
    ['exports.handler', "const fs = require('node:fs');\nexports.handler = async (e) => e;", 'handler'],
    ['module.exports = { handler }', 'async function handler(e) { return e; }\nmodule.exports = { handler };', 'handler'],
    ["exports['handler']", "exports['handler'] = async () => 1;", 'handler'],
    ['module.exports = { ...spread }', 'const impl = { handler: () => 1 };\nmodule.exports = { ...impl };', 'handler'],
    ['Object.defineProperty', "Object.defineProperty(exports, 'handler', { value: () => 1 });", 'handler'],
    ['non-strict script syntax', 'with (Math) { var r = max(1, 2); }\nmodule.exports = () => r;', 'default'],
  ])('accepts %s', (_label, code, handler) => {
    expect(checkCode(code, handler)).toEqual({ format: 'cjs', handler });
  });

  it.each([
    ['exports.handler', 'exports.handler = async (event) => event;'],
    ['module.exports.handler', 'module.exports.handler = async (event, context, callback) => callback(null, event);'],
    ['module.exports = { handler }', 'async function handler(e) { return e; }\nmodule.exports = { handler };'],
  ])("finds %s when handler is 'default' and there is no default export", (_label, code) => {
    expect(checkCode(code, 'default')).toEqual({ format: 'cjs', handler: 'handler' });
  });

  it('rejects module.exports = { … } without the handler key, listing the exports', () => {
    const err = invalid('module.exports = { other: () => 1, main() {} };', 'handler');
    expect(err.message).toContain('it exports: other, main; set handler to one of them');
    expect(err.details).toMatchObject({ reason: 'no_handler', format: 'cjs', exports: ['other', 'main'] });
  });

  it('rejects a script with no export assignment', () => {
    const err = invalid('function handler() { return 1; }', 'handler');
    expect(err.message).toContain("handler 'handler' not found");
    expect(err.details).toMatchObject({ handler: 'handler', format: 'cjs' });
  });

  it('rejects empty code', () => {
    invalid('', 'default');
  });
});

describe('checkCode: syntax errors', () => {
  it('reports what and where (1-based line and column)', () => {
    const err = invalid('export default async (e) => {\n  return e +;\n};', 'default');
    expect(err.message).toBe('code does not parse: Unexpected token at line 2, column 13');
    expect(err.details).toEqual({ field: 'body.code', reason: 'syntax', line: 2, column: 13, parserMessage: 'Unexpected token' });
  });

  it('reports the error of the script parse when that one got further', () => {
    const err = invalid('module.exports = () => {\n  let x = ;\n};', 'default');
    expect(err.details).toMatchObject({ line: 2, column: 11 });
  });
});

describe('checkCode: imports the sandbox cannot load', () => {
  it.each([
    ['an ESM package import', "import _ from 'lodash';\nexport default () => _.noop();", 'lodash'],
    ['a scoped package import', "import { S3Client } from '@aws-sdk/client-s3';\nexport const handler = () => S3Client;", '@aws-sdk/client-s3'],
    ['a re-export', "export { chunk } from 'lodash';\nexport default () => 1;", 'lodash'],
    ['a dynamic import', "export default async () => (await import('lodash')).noop();", 'lodash'],
    ['a CommonJS require', "const _ = require('lodash');\nexports.handler = async () => _.noop();", 'lodash'],
    ['a nested require', "exports.handler = async () => require('uuid').v4();", 'uuid'],
    ['a relative file', "const util = require('./util');\nexports.handler = async () => util();", './util'],
    ['a require inside an ES module', "const x = require('left-pad');\nexport default () => x;", 'left-pad'],
  ])('refuses %s, naming the fix', (_label, code, specifier) => {
    const err = invalid(code, 'default');
    expect(err.message).toContain(`'${specifier}'`);
    expect(err.message).toContain('bundle it, e.g. esbuild --bundle --platform=node');
    expect(err.details).toMatchObject({ field: 'body.code', reason: 'not_bundled', specifier });
  });

  it.each([
    ['node: builtins in ESM', "import { readFileSync } from 'node:fs';\nimport os from 'os';\nexport default () => [readFileSync, os];"],
    ['bare builtin names in CJS', "const fs = require('fs');\nconst p = require('node:path');\nexports.handler = async () => [fs, p];"],
    ['a builtin dynamic import', "export default async () => (await import('node:crypto')).randomUUID();"],
    ['a computed require', 'const name = "fs";\nexports.handler = async () => require(name);'],
    ['an optional require in a try block', "let bu;\ntry { bu = require('bufferutil'); } catch { bu = null; }\nexports.handler = async () => bu;"],
    ['an optional import() in a try block', "export default async () => { try { return await import('optional-dep'); } catch { return null; } };"],
  ])('accepts %s', (_label, code) => {
    expect(() => checkCode(code, 'default')).not.toThrow();
  });
});

describe('checkCode: a handler export that is not a function', () => {
  it.each([
    ['export default 42', 'export default 42;', 'default', 'a number'],
    ['export default a string', "export default 'hello';", 'default', 'a string'],
    ['export default an object', 'export default { run() {} };', 'default', 'an object'],
    ['export const handler = string', "export const handler = 'x';", 'handler', 'a string'],
    ['export { x as handler } of a const number', 'const x = 1;\nexport { x as handler };', 'handler', 'a number'],
    ['exports.handler = string', "exports.handler = 'x';", 'handler', 'a string'],
    ['module.exports = 42', 'module.exports = 42;', 'default', 'a number'],
    ['module.exports = { handler: null }', 'module.exports = { handler: null };', 'handler', 'a null'],
  ])('refuses %s', (_label, code, handler, kind) => {
    const err = invalid(code, handler);
    expect(err.message).toContain('is not a function');
    expect(err.message).toContain(kind);
    expect(err.message).toContain('export a function, e.g.');
    expect(err.details).toMatchObject({ field: 'body.handler', reason: 'not_a_function' });
  });

  it('refuses the fallback handler when it is not a function', () => {
    const err = invalid('exports.handler = [1, 2];', 'default');
    expect(err.message).toBe(
      "handler 'handler' is not a function: export 'handler' is an array; export a function, e.g. exports.handler = async (event, context) => { … }",
    );
  });

  it('accepts exports whose value is not statically known', () => {
    expect(checkCode('let h = 1;\nh = () => 1;\nexport { h as handler };', 'handler')).toEqual({ format: 'esm', handler: 'handler' });
    expect(checkCode('exports.handler = make();\nfunction make() { return () => 1; }', 'handler')).toEqual({ format: 'cjs', handler: 'handler' });
  });
});
