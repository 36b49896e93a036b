import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Execution } from '../../../common/records.js';
import { sampleExecution } from '../../../common/testing/records.js';
import { startPostgres, type PostgresServer } from '../../../test/helpers/postgres.js';
import type { Store } from '../types.js';
import { migrate, MIGRATIONS } from './migrations.js';
import { createPostgresStore } from './postgres-store.js';

const exec = (id: string, over: Partial<Execution> = {}): Execution => sampleExecution({ id, createdAt: '2026-01-01T00:00:00.000Z', ...over });

let server: PostgresServer;
let store: Store | undefined;
let pool: pg.Pool | undefined;
beforeAll(async () => {
  server = await startPostgres();
}, 60_000);
afterEach(async () => {
  await store?.close().catch(() => undefined);
  await pool?.end();
  store = undefined;
  pool = undefined;
});
afterAll(async () => {
  await server?.close();
});

const dbName = (url: string): string => new URL(url).pathname.slice(1);
const statuses = async (url: string): Promise<Array<[string, string]>> =>
  (await server.query<{ id: string; status: string }>('SELECT id, status FROM executions ORDER BY id', [], dbName(url))).map((r) => [r.id, r.status]);

describe('PostgreSQL store: schema migrations', () => {
  it('applies each migration once, records it, and applies nothing at the next open', async () => {
    const url = await server.createDatabase('migrate');
    store = createPostgresStore({ url });
    await store.open();
    await store.close();
    const first = await server.query<{ version: number; name: string; applied_at: Date }>('SELECT * FROM schema_migrations ORDER BY version', [], dbName(url));
    expect(first.map((r) => [r.version, r.name])).toEqual(MIGRATIONS.map((m) => [m.version, m.name]));
    store = createPostgresStore({ url });
    await store.open();
    const again = await server.query<{ version: number; applied_at: Date }>('SELECT * FROM schema_migrations ORDER BY version', [], dbName(url));
    expect(again).toEqual(first);
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      expect(await migrate(client as unknown as pg.PoolClient)).toEqual([]);
      // A new migration is applied after the recorded ones, alone.
      const next = [...MIGRATIONS, { version: 99, name: 'extra', sql: 'CREATE TABLE extra (x int)' }];
      expect(await migrate(client as unknown as pg.PoolClient, next)).toEqual([99]);
    } finally {
      await client.end();
    }
  });

  it('a failing migration leaves no trace: neither its tables nor its record', async () => {
    const url = await server.createDatabase('badmigrate');
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const bad = [...MIGRATIONS, { version: 2, name: 'broken', sql: 'CREATE TABLE half (x int); SELECT * FROM missing_table' }];
      await expect(migrate(client as unknown as pg.PoolClient, bad)).rejects.toMatchObject({ code: '42P01' });
      const tables = await server.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM pg_tables WHERE tablename IN ('half', 'executions', 'schema_migrations')",
        [],
        dbName(url),
      );
      expect(tables[0]!.n).toBe(0);
    } finally {
      await client.end();
    }
  });
});

describe('PostgreSQL store: failures', () => {
  it('open() on a database nobody listens on rejects with STORAGE_UNAVAILABLE', async () => {
    store = createPostgresStore({ url: `postgres://postgres@127.0.0.1:1/none` });
    await expect(store.open()).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE', statusCode: 503, details: { reason: 'storage', code: 'ECONNREFUSED' } });
  });

  it('with the server stopped a durable put rejects with the store error and is not written; lazy writes wait and follow', async () => {
    const url = await server.createDatabase('stopped');
    store = createPostgresStore({ url, retryMs: 50 });
    await store.open();
    await store.putExecutionDurable(exec('e1'));
    await server.stop();
    try {
      const err = await store.putExecutionDurable(exec('e2')).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'STORAGE_UNAVAILABLE', statusCode: 503, details: { reason: 'storage' } });
      expect((err as Error).message).toMatch(/^storage is unavailable: /);
      await expect(store.getLogs('e1')).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE', statusCode: 503 });
      store.putExecution(exec('e3', { status: 'succeeded' }));
      await expect(store.flush()).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE' });
    } finally {
      await server.start();
    }
    await store.flush();
    expect(await statuses(url)).toEqual([
      ['e1', 'queued'],
      ['e3', 'succeeded'],
    ]);
  });

  it('a server stopped while a COMMIT is in flight rejects that put, acknowledges nothing, and does not end the process', async () => {
    const url = await server.createDatabase('midcommit');
    store = createPostgresStore({ url });
    await store.open();
    // A deferred trigger holds every COMMIT that writes an execution for a while.
    await server.query('CREATE FUNCTION hold() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(30); RETURN NULL; END $$', [], dbName(url));
    await server.query(
      'CREATE CONSTRAINT TRIGGER hold AFTER INSERT ON executions DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION hold()',
      [],
      dbName(url),
    );
    const put = store.putExecutionDurable(exec('e1')).then(
      () => 'acknowledged',
      (err: unknown) => err,
    );
    // Until the COMMIT is seen waiting in the trigger's sleep.
    for (;;) {
      const rows = await server.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_stat_activity WHERE query = 'COMMIT' AND wait_event = 'PgSleep'");
      if (rows[0]!.n > 0) break;
    }
    await server.stop();
    try {
      expect(await put).toMatchObject({ code: 'STORAGE_UNAVAILABLE', statusCode: 503 });
    } finally {
      await server.start();
    }
    expect(await statuses(url)).toEqual([]);
    await server.query('DROP TRIGGER hold ON executions', [], dbName(url));
    // The pool replaced the broken connection: the next put goes through.
    await store.putExecutionDurable(exec('e2'));
    expect(await statuses(url)).toEqual([['e2', 'queued']]);
  });

  it('a record the database refuses fails alone: the other puts of its commit are written', async () => {
    const url = await server.createDatabase('refused');
    store = createPostgresStore({ url });
    await store.open();
    // A createdAt that is no time (SQLSTATE 22007): the refused record, not its neighbours, fails.
    const bad = exec('bad', { createdAt: 'not a time' });
    const puts = [store.putExecutionDurable(exec('ok1')), store.putExecutionDurable(bad), store.putExecutionsDurable([exec('ok2'), exec('ok3')])];
    store.putExecution(exec('lazybad', { createdAt: 'yesterday-ish' }));
    store.putExecution(exec('lazyok'));
    const results = await Promise.allSettled(puts);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason).toMatchObject({ code: 'STORAGE_UNAVAILABLE', details: { code: '22007' } });
    await store.flush();
    expect((await statuses(url)).map(([id]) => id)).toEqual(['lazyok', 'ok1', 'ok2', 'ok3']);
  });
});

describe('PostgreSQL store: group commit', () => {
  it('durable puts arriving while a commit is in flight share the next COMMIT', async () => {
    const url = await server.createDatabase('group');
    pool = new pg.Pool({ connectionString: url, max: 4 });
    let commits = 0;
    let began: () => void = () => undefined;
    const inFlight = new Promise<void>((resolve) => (began = resolve));
    // Every connection the pool makes counts the transactions it starts and commits.
    pool.on('connect', (client) => {
      const query = client.query.bind(client) as (...args: unknown[]) => unknown;
      client.query = ((...args: unknown[]) => {
        if (args[0] === 'BEGIN') began();
        if (args[0] === 'COMMIT') commits += 1;
        return query(...args);
      }) as typeof client.query;
    });
    store = createPostgresStore({ url, pool });
    await store.open();
    commits = 0;
    const first = store.putExecutionDurable(exec('e0'));
    await inFlight;
    const rest = Array.from({ length: 20 }, (_, i) => store!.putExecutionDurable(exec(`e${i + 1}`)));
    await Promise.all([first, ...rest]);
    expect(commits).toBe(2);
    expect((await statuses(url)).length).toBe(21);
    // A burst of lazy changes is one commit too, of the newest state of each record.
    commits = 0;
    for (let i = 0; i < 50; i++) store.putExecution(exec(`e${i % 5}`, { status: i < 45 ? 'running' : 'succeeded' }));
    await store.flush();
    expect(commits).toBe(1);
    expect((await statuses(url)).filter(([, s]) => s === 'succeeded').length).toBe(5);
  });
});
