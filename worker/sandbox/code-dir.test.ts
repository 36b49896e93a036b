import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CodeDirectory, COMPILE_CACHE_LIMITS } from './code-dir.js';

const fnA = { name: 'alpha', version: 3, codeSha256: 'aa', code: 'export default () => 1;' };
const entry = (path: string, bytes = 4): { path: string; data: string } => ({ path, data: Buffer.alloc(bytes, 7).toString('base64') });

let parent: string;
let code: CodeDirectory;
beforeEach(() => {
  parent = mkdtempSync(join(tmpdir(), 'tf-code-test-'));
  code = new CodeDirectory(parent);
});
afterEach(() => {
  code.close();
  rmSync(parent, { recursive: true, force: true });
});

describe('CodeDirectory', () => {
  it("gives each process an empty directory that its uid can traverse, and places only its function's file there", () => {
    const a = code.createSandboxDir();
    const b = code.createSandboxDir();
    expect(a).not.toBe(b);
    expect(statSync(a).mode & 0o777).toBe(0o755);
    const placed = code.place(a, '/code', fnA, 'esm', false);
    expect(placed).toEqual({ path: '/code/alpha@3.mjs', compileCache: null });
    expect(readdirSync(a)).toEqual(['alpha@3.mjs']);
    expect(readFileSync(join(a, 'alpha@3.mjs'), 'utf8')).toBe(fnA.code);
    expect(statSync(join(a, 'alpha@3.mjs')).mode & 0o777).toBe(0o444);
    expect(readdirSync(b)).toEqual([]);
    expect(code.place(b, b, fnA, 'cjs', false).path).toBe(`${b}/alpha@3.cjs`);
  });

  it('asks the first process of a version to write the cache, no other one while it does, and later ones to read it', () => {
    const first = code.place(code.createSandboxDir(), '/code', fnA, 'esm', true);
    expect(first.compileCache).toEqual({ dir: '/tmp/.taskforge-compile-cache', mode: 'write' });
    const during = code.createSandboxDir();
    expect(code.place(during, '/code', fnA, 'esm', true).compileCache).toBeNull();
    expect(code.storeCache(fnA, [entry('v26-x64-abc/1234', 10)])).toBe(true);
    const later = code.createSandboxDir();
    expect(code.place(later, '/code', fnA, 'esm', true).compileCache).toEqual({ dir: '/code/cache', mode: 'read' });
    expect(readFileSync(join(later, 'cache', 'v26-x64-abc', '1234'))).toEqual(Buffer.alloc(10, 7));
  });

  it('lets the next process produce the cache when the one asked died or failed to load', () => {
    code.place(code.createSandboxDir(), '/code', fnA, 'esm', true);
    code.abandonCache(fnA);
    expect(code.place(code.createSandboxDir(), '/code', fnA, 'esm', true).compileCache?.mode).toBe('write');
  });

  it('drops what a hostile process hands back as its cache: paths out of the tree, too many files, too many bytes, wrong types', () => {
    const bad: unknown[] = [
      null,
      'x',
      [],
      [entry('../escape')],
      [entry('a/../../b')],
      [entry('/abs/path')],
      [entry('a/b/c')],
      [entry('onlyone')],
      [{ path: 'a/b', data: 5 }],
      [{ path: 5, data: '' }],
      Array.from({ length: COMPILE_CACHE_LIMITS.entries + 1 }, (_, i) => entry(`a/f${i}`)),
      [entry('a/big', COMPILE_CACHE_LIMITS.bytes + 1)],
    ];
    for (const entries of bad) {
      code.place(code.createSandboxDir(), '/code', fnA, 'esm', true);
      expect(code.storeCache(fnA, entries)).toBe(false);
    }
    expect(readdirSync(code.root, { recursive: true }).some((p) => String(p).includes('cache'))).toBe(false);
    expect(existsSync(join(parent, 'escape'))).toBe(false);
    // Still uncached: the next process is asked to write it.
    expect(code.place(code.createSandboxDir(), '/code', fnA, 'esm', true).compileCache?.mode).toBe('write');
  });

  it('keeps versions apart: same name and version with other code is another directory', () => {
    const dir = code.createSandboxDir();
    code.place(dir, '/code', fnA, 'esm', true);
    code.storeCache(fnA, [entry('s/e')]);
    const changed = { ...fnA, codeSha256: 'bb', code: 'export default () => 2;' };
    const other = code.createSandboxDir();
    expect(code.place(other, '/code', changed, 'esm', true).compileCache?.mode).toBe('write');
    expect(readFileSync(join(other, 'alpha@3.mjs'), 'utf8')).toBe(changed.code);
  });

  it('removes a process directory, and everything on close', () => {
    const dir = code.createSandboxDir();
    code.place(dir, '/code', fnA, 'esm', false);
    code.removeSandboxDir(dir);
    expect(existsSync(dir)).toBe(false);
    code.close();
    expect(existsSync(code.root)).toBe(false);
  });
});
