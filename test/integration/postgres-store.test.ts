/**
 * The scheduler on the PostgreSQL store, end to end: a real `taskforge scheduler --store
 * postgres://…` process on a PostgreSQL server this test starts, a worker process and a gateway.
 * A function is registered and invoked (sync and async); after the scheduler is SIGKILLed and
 * started again on the same database, the function, the executions and their logs are all there.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startKillStack, type KillStack } from '../helpers/kill-stack.js';
import { startPostgres, type PostgresServer } from '../helpers/postgres.js';
import { http } from '../helpers/processes.js';

const CODE = 'export default async (e) => { console.log("got", e.n); return { doubled: e.n * 2 } }';

let server: PostgresServer;
let stack: KillStack | undefined;
beforeAll(async () => {
  server = await startPostgres();
}, 60_000);
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});
afterAll(async () => {
  await server?.close();
});

describe('scheduler on PostgreSQL', () => {
  it('keeps functions, executions and logs across a scheduler restart', { timeout: 60_000 }, async () => {
    const url = await server.createDatabase('stack');
    stack = await startKillStack({ tmpPrefix: 'taskforge-pgstack-', workers: ['wpg'], store: url });
    const { base, key } = stack;
    expect(stack.scheduler.output()).toContain('store: PostgreSQL');
    expect((await http(base, 'PUT', '/v1/functions/double', { code: CODE }, key)).status).toBe(201);

    const sync = await http(base, 'POST', '/v1/functions/double/invoke?mode=sync', { n: 21 }, key);
    expect(sync.status).toBe(200);
    expect(sync.body).toMatchObject({ status: 'succeeded', output: { doubled: 42 } });
    const accepted = await http(base, 'POST', '/v1/functions/double/invoke', { n: 5 }, key);
    expect(accepted.status).toBe(202);
    const asyncId = accepted.body.executionId as string;
    // Keys out of alphabetical order: the retry after the restart must still be the same input.
    const keyed = await http(base, 'POST', '/v1/functions/double/invoke', { z: 1, n: 3 }, key, { 'idempotency-key': 'pg-1' });
    expect(keyed.status).toBe(202);
    const done = await http(base, 'GET', `/v1/executions/${asyncId}?waitMs=10000`, undefined, key);
    expect(done.body).toMatchObject({ status: 'succeeded', output: { doubled: 10 } });

    // The rows are in the database itself, not only in the scheduler's memory.
    const db = new URL(url).pathname.slice(1);
    const rows = await server.query<{ id: string; status: string }>('SELECT id, status FROM executions ORDER BY id', [], db);
    expect(rows.map((r) => r.id).sort()).toEqual([sync.body.id, asyncId, keyed.body.executionId].sort());

    await stack.restartScheduler();
    const fn = await http(base, 'GET', '/v1/functions/double', undefined, key);
    expect(fn.status).toBe(200);
    for (const [id, doubled] of [
      [sync.body.id as string, 42],
      [asyncId, 10],
    ] as const) {
      const after = await http(base, 'GET', `/v1/executions/${id}`, undefined, key);
      expect(after.status, id).toBe(200);
      expect(after.body).toMatchObject({ id, status: 'succeeded', output: { doubled } });
      const logs = await http(base, 'GET', `/v1/executions/${id}/logs`, undefined, key);
      expect(logs.status).toBe(200);
      expect(JSON.stringify(logs.body)).toContain('got');
    }
    const retried = await http(base, 'POST', '/v1/functions/double/invoke', { z: 1, n: 3 }, key, { 'idempotency-key': 'pg-1' });
    expect(retried.status, JSON.stringify(retried.body)).toBe(202);
    expect(retried.body.executionId).toBe(keyed.body.executionId);
    // And it still runs new work on the same database.
    const again = await http(base, 'POST', '/v1/functions/double/invoke?mode=sync', { n: 1 }, key);
    expect(again.body).toMatchObject({ status: 'succeeded', output: { doubled: 2 } });
  });

  it('a scheduler whose database is unreachable does not start, and says why', { timeout: 30_000 }, async () => {
    const url = server.url('no_such_database');
    await expect(startKillStack({ tmpPrefix: 'taskforge-pgstack-', workers: [], store: url })).rejects.toThrow(
      /STORAGE_UNAVAILABLE|storage is unavailable|3D000/,
    );
  });
});
