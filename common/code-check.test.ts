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
    expect(checkCode(code, handler)).toEqual({ format: 'esm' });
  });

  it('rejects a module without the handler export, listing what it exports', () => {
    const err = invalid('export const helper = 1;\nexport function other() {}', 'handler');
    expect(err.message).toBe("handler 'handler' not found: the module has no export named 'handler' (exports: helper, other)");
    expect(err.details).toMatchObject({ handler: 'handler', format: 'esm', exports: ['helper', 'other'] });
  });

  it('rejects a module without a default export when the handler is default', () => {
    const err = invalid('export const handler = () => 1;', 'default');
    expect(err.message).toContain('no default export');
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
    expect(checkCode(code, handler)).toEqual({ format: 'cjs' });
  });

  it('rejects a script with no export assignment', () => {
    const err = invalid('function handler() { return 1; }', 'handler');
    expect(err.message).toContain("handler 'handler' not found");
    expect(err.details).toMatchObject({ handler: 'handler', format: 'cjs' });
  });

  it('rejects module.exports = { … } without the handler key', () => {
    invalid('module.exports = { other: () => 1 };', 'handler');
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
