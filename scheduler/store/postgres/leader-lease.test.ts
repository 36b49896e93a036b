/**
 * The leader lease on a real PostgreSQL server: one leader at a time, takeover after expiry or
 * release, fencing of a deposed leader's writes, and a takeover that waits for a write in flight.
 * The renewal timing (deadline, renew interval) runs on fake timers against a scripted database.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { sampleExecution } from '../../../common/testing/records.js';
import { silentLogger } from '../../../common/logger.js';
import { startPostgres, type PostgresServer } from '../../../test/helpers/postgres.js';
import { createStateAt } from '../select-state.js';
import { parseStoreUrl } from '../store-url.js';
import { LeaderLease } from './leader-lease.js';
import { migrate } from './migrations.js';
import { createPostgresStore, type PostgresStore } from './postgres-store.js';

let server: PostgresServer;
const cleanup: Array<() => Promise<unknown>> = [];
beforeAll(async () => {
  server = await startPostgres();
}, 60_000);
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn().catch(() => undefined);
});
afterAll(async () => {
  await server?.close();
});

const dbName = (url: string): string => new URL(url).pathname.slice(1);

async function migratedPool(prefix: string): Promise<{ url: string; pool: pg.Pool }> {
  const url = await server.createDatabase(prefix);
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  cleanup.push(() => pool.end());
  const client = await pool.connect();
  await migrate(client);
  client.release();
  return { url, pool };
}

/** A lease on `pool`; `queries.n` counts the statements it sent. */
const lease = (pool: pg.Pool, holder: string, ttlMs = 60_000, queries = { n: 0 }): LeaderLease => {
  const counted = {
    query: (...args: Parameters<pg.Pool['query']>) => {
      queries.n++;
      return (pool.query as (...a: unknown[]) => unknown)(...args);
    },
  } as unknown as pg.Pool;
  const l = new LeaderLease(counted, { holder, ttlMs, pollMs: 20, log: silentLogger });
  cleanup.push(async () => l.stop());
  return l;
};

const leaseRow = async (url: string): Promise<{ holder: string; epoch: string }> =>
  (await server.query<{ holder: string; epoch: string }>('SELECT holder, epoch FROM leader_lease WHERE id = 1', [], dbName(url)))[0]!;

describe('leader lease on PostgreSQL', () => {
  it('one leader at a time; a standby takes over once the leader releases, with the next epoch', async () => {
    const { url, pool } = await migratedPool('lease');
    const a = lease(pool, 'a');
    expect(await a.acquire()).toBe(1);
    const tries = { n: 0 };
    const b = lease(pool, 'b', 60_000, tries);
    let bEpoch: number | null = null;
    const bDone = b.acquire().then((e) => (bEpoch = e));
    // b keeps trying (pollMs 20) while a holds a lease that lasts a minute.
    await vi.waitFor(() => expect(tries.n).toBeGreaterThanOrEqual(3), { timeout: 5_000, interval: 10 });
    expect(bEpoch).toBeNull();
    expect(await leaseRow(url)).toEqual({ holder: 'a', epoch: '1' });
    await a.release();
    await bDone;
    expect(bEpoch).toBe(2);
    expect(await leaseRow(url)).toEqual({ holder: 'b', epoch: '2' });
    expect(a.epoch).toBeNull();
  });

  it('the same holder takes its own lease back at once (a restart after a kill), deposing the old epoch', async () => {
    const { url, pool } = await migratedPool('lease_same');
    const first = lease(pool, 'host/10.0.0.1:50051');
    expect(await first.acquire()).toBe(1);
    const again = lease(pool, 'host/10.0.0.1:50051');
    expect(await again.acquire()).toBe(2);
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await expect(first.fence(client)).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE', details: { reason: 'FENCED', epoch: 1, currentEpoch: 2 } });
      await again.fence(client);
      await client.query('ROLLBACK');
    } finally {
      client.release();
    }
    expect(first.epoch).toBeNull();
    expect((await leaseRow(url)).epoch).toBe('2');
  });

  it('a deposed leader’s writes are refused by the database and it is told once', async () => {
    const url = await server.createDatabase('fence');
    const a: PostgresStore = createPostgresStore({ url, lease: { holder: 'a', ttlMs: 60_000 } });
    cleanup.push(() => a.close());
    await a.open();
    const deposed = vi.fn();
    a.onDeposed?.(deposed);
    await a.putExecutionDurable(sampleExecution({ id: 'ex_before' }));
    // Another scheduler takes over (as after a's lease expired while it was stalled).
    await server.query("UPDATE leader_lease SET holder = 'b', epoch = epoch + 1, expires_at = now() + interval '1 minute'", [], dbName(url));
    await expect(a.putExecutionDurable(sampleExecution({ id: 'ex_after' }))).rejects.toMatchObject({
      code: 'STORAGE_UNAVAILABLE',
      details: { reason: 'FENCED' },
    });
    expect(deposed).toHaveBeenCalledTimes(1);
    const ids = await server.query<{ id: string }>('SELECT id FROM executions ORDER BY id', [], dbName(url));
    expect(ids.map((r) => r.id)).toEqual(['ex_before']);
    // Lazy writes are refused the same way: nothing of the deposed leader reaches the table.
    a.putExecution(sampleExecution({ id: 'ex_lazy' }));
    await expect(a.flush()).rejects.toMatchObject({ details: { reason: 'FENCED' } });
    expect((await server.query('SELECT id FROM executions', [], dbName(url))).length).toBe(1);
    // Its release at close does not free the lease it no longer holds.
    await a.close().catch(() => undefined);
    expect(await leaseRow(url)).toEqual({ holder: 'b', epoch: '2' });
  });

  it('the scheduler state beside the records (keys, cron, deliveries) is fenced by the same lease', async () => {
    const url = await server.createDatabase('fence_state');
    const dataDir = await mkdtemp(join(tmpdir(), 'taskforge-fence-'));
    cleanup.push(() => rm(dataDir, { recursive: true, force: true }));
    const a: PostgresStore = createPostgresStore({ url, lease: { holder: 'a', ttlMs: 60_000 } });
    cleanup.push(() => a.close());
    await a.open();
    const state = await createStateAt(parseStoreUrl(url, dataDir), dataDir, silentLogger, a.lease);
    cleanup.push(() => state.close());
    await state.keys.write([]);
    await server.query("UPDATE leader_lease SET holder = 'b', epoch = epoch + 1, expires_at = now() + interval '1 minute'", [], dbName(url));
    await expect(state.keys.write([])).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE', details: { reason: 'FENCED' } });
    await expect(state.cron.write(new Map())).rejects.toMatchObject({ details: { reason: 'FENCED' } });
  });

  it('a takeover waits for the leader’s write in flight, which then commits under the old epoch', async () => {
    const { url, pool } = await migratedPool('lease_wait');
    const a = lease(pool, 'a', 100);
    await a.acquire();
    a.stop(); // no renewals: the lease expires within 100 ms
    const writer = await pool.connect();
    cleanup.push(async () => writer.release());
    await writer.query('BEGIN');
    await a.fence(writer);
    await writer.query('CREATE TABLE IF NOT EXISTS probe (x int); INSERT INTO probe VALUES (1)');
    const b = lease(pool, 'b');
    let taken = false;
    const bDone = b.acquire().then(() => (taken = true));
    // b's FOR UPDATE is queued behind a's FOR KEY SHARE once the lease expired.
    await vi.waitFor(async () => expect((await server.query('SELECT 1 FROM pg_locks WHERE NOT granted', [], dbName(url))).length).toBeGreaterThan(0), {
      timeout: 5_000,
      interval: 20,
    });
    expect(taken).toBe(false);
    await writer.query('COMMIT');
    await bDone;
    expect(await leaseRow(url)).toEqual({ holder: 'b', epoch: '2' });
    expect(await server.query('SELECT x FROM probe', [], dbName(url))).toEqual([{ x: 1 }]);
  });
});

describe('leader lease timing (fake timers)', () => {
  type Reply = { rows: Array<Record<string, unknown>> };
  const scripted = (renew: () => Promise<Reply>): { query: ReturnType<typeof vi.fn> } => ({
    query: vi.fn((sql: string) => (sql.startsWith('WITH') ? Promise.resolve({ rows: [{ taken: true, epoch: '7', previous: '' }] }) : renew())),
  });

  it('renews every ttl/3 and stays leader while renewals succeed', async () => {
    vi.useFakeTimers();
    try {
      const db = scripted(() => Promise.resolve({ rows: [{ epoch: '7' }] }));
      const l = new LeaderLease(db as unknown as pg.Pool, { holder: 'a', ttlMs: 3_000, log: silentLogger });
      const deposed = vi.fn();
      l.onDeposed(deposed);
      expect(await l.acquire()).toBe(7);
      await vi.advanceTimersByTimeAsync(30_000);
      expect(deposed).not.toHaveBeenCalled();
      expect(l.epoch).toBe(7);
      // 1 take + one renewal per second.
      expect(db.query.mock.calls.length).toBeGreaterThanOrEqual(29);
      l.stop();
    } finally {
      vi.useRealTimers();
    }
  });

  it('counts itself deposed at ttl·0.8 after its last good renewal when the database stops answering', async () => {
    vi.useFakeTimers();
    try {
      const db = scripted(() => new Promise<Reply>(() => undefined)); // hangs, as behind a cut link
      const l = new LeaderLease(db as unknown as pg.Pool, { holder: 'a', ttlMs: 3_000, log: silentLogger });
      const deposed = vi.fn();
      l.onDeposed(deposed);
      await l.acquire();
      await vi.advanceTimersByTimeAsync(2_399);
      expect(deposed).not.toHaveBeenCalled();
      await vi.advanceTimersByTimeAsync(1);
      expect(deposed).toHaveBeenCalledTimes(1);
      expect(l.epoch).toBeNull();
    } finally {
      vi.useRealTimers();
    }
  });

  it('is deposed at the first renewal that finds another epoch, and renewal errors alone do not depose it early', async () => {
    vi.useFakeTimers();
    try {
      let answer: () => Promise<Reply> = () => Promise.reject(new Error('connection reset'));
      const db = scripted(() => answer());
      const l = new LeaderLease(db as unknown as pg.Pool, { holder: 'a', ttlMs: 3_000, log: silentLogger });
      const deposed = vi.fn();
      l.onDeposed(deposed);
      await l.acquire();
      await vi.advanceTimersByTimeAsync(1_000); // one failed renewal
      expect(deposed).not.toHaveBeenCalled();
      answer = () => Promise.resolve({ rows: [] });
      await vi.advanceTimersByTimeAsync(1_000);
      expect(deposed).toHaveBeenCalledTimes(1);
      expect(deposed.mock.calls[0]![0]).toMatchObject({ details: { reason: 'FENCED' } });
    } finally {
      vi.useRealTimers();
    }
  });

  it('refuses a ttl too short to renew in', () => {
    expect(() => new LeaderLease({ query: vi.fn() }, { holder: 'a', ttlMs: 50, log: silentLogger })).toThrow(/at least 100/);
  });
});
