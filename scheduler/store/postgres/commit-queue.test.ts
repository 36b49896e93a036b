/**
 * The commit queue's timing and failure handling, on a scripted client (unit test: the SQL itself
 * is exercised against a real server by the PostgreSQL store's tests).
 */
import type { PoolClient } from 'pg';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { TaskForgeError } from '../../../common/errors.js';
import { silentLogger } from '../../../common/logger.js';
import { CommitQueue, isDataError } from './commit-queue.js';

type Fail = (sql: string, params: unknown[] | undefined) => Error | null;

function scriptedClient(): { connect(): Promise<PoolClient>; commits: string[][]; fail: { next: Fail | null } } {
  const commits: string[][] = [];
  const fail: { next: Fail | null } = { next: null };
  let statements: string[] = [];
  const client = {
    query(sql: string, params?: unknown[]) {
      const err = fail.next?.(sql, params) ?? null;
      if (err) return Promise.reject(err);
      if (sql === 'BEGIN') statements = [];
      else if (sql === 'COMMIT') commits.push(statements);
      else if (sql !== 'ROLLBACK') statements.push(JSON.stringify(params));
      return Promise.resolve({ rows: [] });
    },
    release: vi.fn(),
    on: vi.fn(),
    off: vi.fn(),
  };
  return { connect: () => Promise.resolve(client as unknown as PoolClient), commits, fail };
}

const sqlError = (code: string): Error => Object.assign(new Error(`sqlstate ${code}`), { code });
const failed = (err: unknown): Error => new TaskForgeError('STORAGE_UNAVAILABLE', 'storage is unavailable', { code: (err as { code?: string }).code });

describe('commit queue', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('classifies SQLSTATE classes 22, 23 and 54 as a refused value, nothing else', () => {
    expect(['22P05', '23505', '54000'].map((code) => isDataError(sqlError(code)))).toEqual([true, true, true]);
    expect(['57P01', '08006', 'ECONNREFUSED', '42P01'].map((code) => isDataError(sqlError(code)))).toEqual([false, false, false, false]);
    expect(isDataError(null)).toBe(false);
  });

  it('commits a lazy change after delayMs, not before, with everything else pending', async () => {
    const db = scriptedClient();
    const q = new CommitQueue({ connect: db.connect, delayMs: 5, retryMs: 1_000, log: silentLogger, failed });
    q.lazyChange(q.change('executions', 'e1', '{"id":"e1","v":1}'));
    q.lazyChange(q.change('executions', 'e1', '{"id":"e1","v":2}'));
    q.lazyChange(q.change('logs', 'e1', '{"executionId":"e1"}'));
    await vi.advanceTimersByTimeAsync(4);
    expect(db.commits).toEqual([]);
    expect(q.pending('executions', 'e1')?.text).toBe('{"id":"e1","v":2}');
    await vi.advanceTimersByTimeAsync(1);
    expect(db.commits).toHaveLength(1);
    expect(db.commits[0]!.join()).toContain('\\"v\\":2');
    expect(db.commits[0]!.join()).not.toContain('\\"v\\":1');
    expect(q.pending('executions', 'e1')).toBeUndefined();
  });

  it('keeps a lazy change whose commit failed and tries it again after retryMs; flush reports the failure', async () => {
    const db = scriptedClient();
    const q = new CommitQueue({ connect: db.connect, delayMs: 5, retryMs: 1_000, log: silentLogger, failed });
    db.fail.next = (sql) => (sql === 'COMMIT' ? sqlError('57P01') : null);
    q.lazyChange(q.change('executions', 'e1', '{"id":"e1"}'));
    await vi.advanceTimersByTimeAsync(5);
    expect(db.commits).toEqual([]);
    await expect(q.flush()).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE', details: { code: '57P01' } });
    db.fail.next = null;
    await vi.advanceTimersByTimeAsync(999);
    expect(db.commits).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(db.commits).toHaveLength(1);
    await q.flush();
  });

  it('a failed lazy change is not retried over a newer change of its record', async () => {
    const db = scriptedClient();
    const q = new CommitQueue({ connect: db.connect, delayMs: 5, retryMs: 1_000, log: silentLogger, failed });
    let refuse = true;
    db.fail.next = (sql) => (sql === 'COMMIT' && refuse ? ((refuse = false), sqlError('08006')) : null);
    q.lazyChange(q.change('executions', 'e1', '{"id":"e1","v":1}'));
    const committing = vi.advanceTimersByTimeAsync(5);
    q.lazyChange(q.change('executions', 'e1', '{"id":"e1","v":2}'));
    await committing;
    await q.flush();
    expect(db.commits.flat().join()).not.toContain('\\"v\\":1');
    expect(db.commits.flat().join()).toContain('\\"v\\":2');
  });

  it('after a refused value, each unit commits alone: a lost connection then fails only its own unit', async () => {
    const db = scriptedClient();
    const q = new CommitQueue({ connect: db.connect, delayMs: 5, retryMs: 1_000, log: silentLogger, failed });
    // The first commit holds all three and is refused for "bad"; then e3, alone, loses its connection.
    db.fail.next = (_sql, params) => {
      const text = JSON.stringify(params ?? []);
      if (text.includes('bad')) return sqlError('22P05');
      if (text.includes('e3') && !text.includes('e1')) return sqlError('08006');
      return null;
    };
    const results = Promise.allSettled([
      q.durable([q.change('executions', 'e1', '{"id":"e1"}')]),
      q.durable([q.change('executions', 'bad', '{"id":"bad"}')]),
      q.durable([q.change('executions', 'e3', '{"id":"e3"}')]),
    ]);
    const settled = await results;
    expect(settled.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'rejected']);
    expect((settled[1] as PromiseRejectedResult).reason).toMatchObject({ details: { code: '22P05' } });
    expect((settled[2] as PromiseRejectedResult).reason).toMatchObject({ details: { code: '08006' } });
    expect(db.commits.flat().join()).toContain('e1');
  });
});
