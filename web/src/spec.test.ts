import { describe, expect, it } from 'vitest';
import { rememberCode, recallCode, MAX_CODES } from './code-cache.js';
import { specBody } from './spec.js';
import { MemoryStorage } from './testing/fakes.js';
import type { FunctionInfo } from './types.js';

const previous = (env: Record<string, string | null>): FunctionInfo => ({
  name: 'a',
  version: 2,
  handler: 'main',
  runtime: 'nodejs',
  timeoutMs: 5000,
  memoryMb: 256,
  maxRetries: 1,
  concurrency: 3,
  maxQueueMs: 60_000,
  env,
  description: 'old',
  codeSha256: 'x',
  codeBytes: 1,
  createdAt: '',
  updatedAt: '',
});

describe('specBody', () => {
  it('sends only what the form sets for a new function', () => {
    expect(specBody({ code: 'c', handler: ' ', timeoutMs: '', description: '' }, null)).toEqual({ body: { code: 'c' }, envDropped: false });
    expect(specBody({ code: 'c', handler: ' h ', timeoutMs: '900', description: 'd' }, null).body).toEqual({
      code: 'c',
      handler: 'h',
      timeoutMs: 900,
      description: 'd',
    });
  });

  it("keeps the previous version's other settings, env included, for a new version", () => {
    expect(specBody({ code: 'c', handler: 'main', timeoutMs: '5000', description: 'new' }, previous({ A: '1' }))).toEqual({
      body: {
        code: 'c',
        handler: 'main',
        timeoutMs: 5000,
        description: 'new',
        memoryMb: 256,
        maxRetries: 1,
        concurrency: 3,
        maxQueueMs: 60_000,
        env: { A: '1' },
      },
      envDropped: false,
    });
  });

  it('cannot send env values hidden from the key, and says so', () => {
    const r = specBody({ code: 'c', handler: '', timeoutMs: '', description: '' }, previous({ A: null }));
    expect(r.envDropped).toBe(true);
    expect(r.body.env).toBeUndefined();
  });
});

describe('the code cache', () => {
  it('remembers code by its digest, bounded', () => {
    const s = new MemoryStorage();
    for (let i = 0; i < MAX_CODES + 5; i++) rememberCode(s, `sha${i}`, `code ${i}`);
    expect(s.length).toBe(MAX_CODES);
    expect(recallCode(s, `sha${MAX_CODES + 4}`)).toBe(`code ${MAX_CODES + 4}`);
    rememberCode(s, `sha${MAX_CODES + 4}`, 'again');
    expect(s.length).toBe(MAX_CODES);
  });

  it('gives up quietly when storage refuses the write', () => {
    const s = new MemoryStorage();
    s.failWrites = true;
    rememberCode(s, 'sha', 'code');
    expect(recallCode(s, 'sha')).toBeNull();
  });
});
