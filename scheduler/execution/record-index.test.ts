import { describe, expect, it } from 'vitest';
import type { Execution } from '../../common/records.js';
import { ExecutionIndex, decodeCursor, inputDigest } from './record-index.js';
import { sampleExecution } from '../../common/testing/records.js';

const exec = (id: string, ms: number, fn = 'f', status: Execution['status'] = 'succeeded', key: string | null = null): Execution =>
  sampleExecution({ id, function: fn, status, maxAttempts: 1, createdAt: new Date(ms).toISOString(), idempotencyKey: key });

describe('execution index', () => {
  it('lists newest first and pages with a cursor without gaps or repeats', () => {
    const idx = new ExecutionIndex();
    idx.load([exec('ex_c', 3000), exec('ex_a', 1000)]);
    idx.add(exec('ex_b', 2000));
    idx.add(exec('ex_d', 4000));
    const p1 = idx.list({ limit: 3 });
    expect(p1.executions.map((e) => e.id)).toEqual(['ex_d', 'ex_c', 'ex_b']);
    expect(p1.nextCursor).not.toBeNull();
    const p2 = idx.list({ limit: 3, cursor: p1.nextCursor! });
    expect(p2.executions.map((e) => e.id)).toEqual(['ex_a']);
    expect(p2.nextCursor).toBeNull();
  });

  it('filters by function and status', () => {
    const idx = new ExecutionIndex();
    idx.load([exec('ex_1', 1, 'a', 'failed'), exec('ex_2', 2, 'b', 'failed'), exec('ex_3', 3, 'a', 'succeeded')]);
    expect(idx.list({ limit: 10, function: 'a' }).executions.map((e) => e.id)).toEqual(['ex_3', 'ex_1']);
    expect(idx.list({ limit: 10, status: 'failed' }).executions.map((e) => e.id)).toEqual(['ex_2', 'ex_1']);
  });

  it('filters to a set of functions (a key limited to them), and pages within it', () => {
    const idx = new ExecutionIndex();
    idx.load([exec('ex_1', 1, 'a'), exec('ex_2', 2, 'b'), exec('ex_3', 3, 'c'), exec('ex_4', 4, 'a')]);
    const only = new Set(['a', 'c']);
    const p1 = idx.list({ limit: 2, functions: only });
    expect(p1.executions.map((e) => e.id)).toEqual(['ex_4', 'ex_3']);
    expect(idx.list({ limit: 2, functions: only, cursor: p1.nextCursor! }).executions.map((e) => e.id)).toEqual(['ex_1']);
    expect(idx.list({ limit: 10, functions: only, function: 'b' }).executions).toEqual([]);
  });

  it('counts statuses and follows transitions and removals', () => {
    const idx = new ExecutionIndex();
    idx.load([exec('ex_1', 1, 'a', 'queued'), exec('ex_2', 2, 'a', 'queued')]);
    idx.statusChanged('queued', 'running');
    expect(idx.statusCounts()).toMatchObject({ queued: 1, running: 1 });
    idx.remove('ex_2');
    expect(idx.size).toBe(1);
  });

  it('finds an idempotency key within 24 h, per function', () => {
    const idx = new ExecutionIndex();
    idx.add(exec('ex_1', 0, 'a', 'queued', 'k'));
    expect(idx.findIdempotent('a', 'k', 1000)?.execution.id).toBe('ex_1');
    expect(idx.findIdempotent('b', 'k', 1000)).toBeUndefined();
    expect(idx.findIdempotent('a', 'k', 25 * 3600 * 1000)).toBeUndefined();
  });

  it('keeps the digest of the input an idempotency key was first used with, also for loaded records', () => {
    const idx = new ExecutionIndex();
    idx.load([{ ...exec('ex_1', 0, 'a', 'succeeded', 'k1'), input: { n: 1 } }]);
    idx.add({ ...exec('ex_2', 0, 'a', 'queued', 'k2'), input: [1, 'x'] });
    expect(idx.findIdempotent('a', 'k1', 1000)?.digest).toBe(inputDigest({ n: 1 }));
    expect(idx.findIdempotent('a', 'k2', 1000)?.digest).toBe(inputDigest([1, 'x']));
    expect(inputDigest({ n: 1 })).not.toBe(inputDigest({ n: 2 }));
    expect(inputDigest(JSON.parse('{ "n" : 1 }'))).toBe(inputDigest({ n: 1 }));
  });

  it('rejects a cursor it did not issue', () => {
    expect(() => decodeCursor('bm9wZQ')).toThrowError(expect.objectContaining({ code: 'VALIDATION_ERROR' }));
  });
});

describe('dead letters', () => {
  const rec = (id: string, over: Partial<Execution>): Execution => sampleExecution({ id, createdAt: `2025-01-01T00:00:0${id.slice(-1)}.000Z`, ...over });

  it('are async executions that failed, timed out or expired, until a retry of them exists (also one loaded at start)', () => {
    const index = new ExecutionIndex();
    index.load([
      rec('ex_1', { mode: 'async', status: 'failed', error: { code: 'EXPIRED', message: 'x' } }),
      rec('ex_2', { mode: 'async', status: 'timed_out' }),
      rec('ex_3', { mode: 'sync', status: 'failed' }),
      rec('ex_4', { mode: 'async', status: 'succeeded' }),
      rec('ex_5', { mode: 'async', status: 'cancelled' }),
      rec('ex_6', { mode: 'async', status: 'failed' }),
      rec('ex_7', { mode: 'async', status: 'queued', trigger: { type: 'retry', of: 'ex_6' } }),
    ]);
    const ids = (): string[] => index.list({ limit: 50, deadLetters: true }).executions.map((e) => e.id);
    expect(ids()).toEqual(['ex_2', 'ex_1']);
    index.add(rec('ex_8', { mode: 'async', status: 'queued', trigger: { type: 'retry', of: 'ex_2' } }));
    expect(ids()).toEqual(['ex_1']);
  });
});
