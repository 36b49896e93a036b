/**
 * The PostgreSQL store's schema, as numbered migrations applied in order by open(). Each one runs
 * once: `schema_migrations` records the versions applied, and the whole run is one transaction
 * under an advisory lock, so a restart (or two schedulers starting at once) applies nothing twice
 * and a failed migration leaves the schema as it was.
 *
 * A migration is never edited once released: a change to the schema is a new, higher number.
 */
import type { Pool, PoolClient } from 'pg';
import type { Logger } from '../../../common/logger.js';
import { storageUnavailable } from '../file-store.js';
import { LEASE_MIGRATION_SQL } from './leader-lease.js';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/**
 * Records are kept whole, as the same JSON text the file store writes, in `json` columns, not
 * `jsonb`: jsonb reorders an object's keys, and the idempotency digest of an execution's or a
 * run's input (record-index.ts) is taken over its text as loaded, so a retried idempotent invoke
 * would be refused as a mismatch after a restart; jsonb also cannot hold U+0000, which a
 * function's output may contain. The other columns are what a query filters or sorts by, copied
 * from the record at each write.
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'records',
    sql: `
      CREATE TABLE functions (
        name text PRIMARY KEY,
        versions json NOT NULL
      );
      CREATE TABLE executions (
        id text PRIMARY KEY,
        function text NOT NULL,
        status text NOT NULL,
        created_at timestamptz NOT NULL,
        record json NOT NULL
      );
      CREATE INDEX executions_function ON executions (function);
      CREATE INDEX executions_created ON executions (created_at, id);
      CREATE TABLE execution_logs (
        execution_id text PRIMARY KEY,
        logs json NOT NULL
      );
      CREATE TABLE workflows (
        name text PRIMARY KEY,
        definition json NOT NULL
      );
      CREATE TABLE workflow_runs (
        id text PRIMARY KEY,
        workflow text NOT NULL,
        status text NOT NULL,
        run json NOT NULL
      );
    `,
  },
  {
    // What the file store keeps beside its records in --data-dir, so every scheduler of one
    // database sees it (docs/POSTGRES.md). Secrets as in the files: digests and sealed secrets.
    version: 2,
    name: 'scheduler-state',
    sql: `
      CREATE TABLE api_keys (
        id text PRIMARY KEY,
        created_at text NOT NULL,
        key json NOT NULL
      );
      CREATE TABLE scheduler_settings (
        name text PRIMARY KEY,
        value json NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE TABLE cron_state (
        trigger text PRIMARY KEY,
        function text NOT NULL,
        after timestamptz NOT NULL
      );
      CREATE TABLE deliveries (
        execution_id text PRIMARY KEY,
        status text NOT NULL,
        delivery json NOT NULL
      );
    `,
  },
  { version: 3, name: 'leader lease', sql: LEASE_MIGRATION_SQL },
];

/** Any constant shared by every TaskForge scheduler: the lock that serialises migration runs. */
const MIGRATION_LOCK = 0x7466_0001;

/** Applies the migrations `client`'s database lacks, in one transaction; returns the versions applied now. */
export async function migrate(client: PoolClient, migrations: readonly Migration[] = MIGRATIONS): Promise<number[]> {
  const applied: number[] = [];
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version integer PRIMARY KEY,
      name text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    const { rows } = await client.query<{ version: number }>('SELECT version FROM schema_migrations');
    const done = new Set(rows.map((r) => r.version));
    for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
      if (done.has(m.version)) continue;
      await client.query(m.sql);
      await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
      applied.push(m.version);
    }
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
  return applied;
}

/**
 * migrate() on a connection of `pool`, released after. A failure is the store's
 * STORAGE_UNAVAILABLE, and a connection lost between two statements is logged, not left to end
 * the process (a pg client without an error listener throws its error event).
 */
export async function migratePool(pool: Pool, log: Logger): Promise<void> {
  let client: PoolClient;
  try {
    client = await pool.connect();
  } catch (err) {
    throw storageUnavailable(err);
  }
  const lost = (err: Error): void => log.warn({ err: err.message }, 'database connection lost during migration');
  client.on('error', lost);
  try {
    const applied = await migrate(client);
    if (applied.length > 0) log.info({ migrations: applied }, 'database schema migrated');
    client.off('error', lost);
    client.release();
  } catch (err) {
    client.off('error', lost);
    client.release(err as Error);
    throw storageUnavailable(err);
  }
}
