/**
 * The connection the scheduler's own state uses on PostgreSQL (API keys, the control-plane token
 * digests, cron state, deliveries: state-*.ts), next to the record store's: a small pool of its
 * own, the schema migrated before the first use (migrate() is idempotent and locked, so running
 * it here and in the store's open() applies nothing twice), and the one place a transaction of
 * that state is opened.
 *
 * Every write is a transaction that resolves only after its COMMIT returned, as the store's are.
 * It must never build SQL from a value, and never hand out a client whose connection failed.
 * A failure of the database is the store's STORAGE_UNAVAILABLE (details.code the SQLSTATE or errno).
 */
import pg from 'pg';
import type { Logger } from '../../../common/logger.js';
import { storageUnavailable } from '../file-store.js';
import { migratePool } from './migrations.js';
import { POSTGRES_STORE_DEFAULTS } from './postgres-store.js';

/**
 * Taken (transaction-scoped) by a first start's creation of the admin key and of the token
 * digests, so two schedulers starting at once on an empty database make one set, not two.
 * Pairs of int4 keys: a space apart from the single bigint keys of migrations.ts.
 */
export const STATE_LOCK = [0x7466, 0x0101] as const;
/**
 * Held on one connection (not per transaction) through a scheduler's whole reading-or-making of keys and tokens at start, so
 * the admin key and the tokens of a first start are made by one scheduler, in one --data-dir.
 * Another key than STATE_LOCK: the transactions inside take that one on other connections.
 */
export const START_LOCK = [0x7466, 0x0102] as const;

export interface StateDatabase {
  /** Runs `work` in one transaction and commits it; a rejection of `work` rolls it back and is passed on as is. */
  transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T>;
  /** Runs `work` while holding START_LOCK (waiting for it first): one scheduler's start at a time. */
  exclusiveStart<T>(work: () => Promise<T>): Promise<T>;
  /** One statement, committed on its own when it resolves. */
  query<T>(sql: string, params?: unknown[]): Promise<T[]>;
  close(): Promise<void>;
}

/** Owns its pool unless `opts.pool` is given (tests); migrates the schema first. */
export async function openStateDatabase(opts: {
  url: string;
  log: Logger;
  pool?: pg.Pool;
  /** The leader lease's fencing (leader-lease.ts), first in every transaction: a deposed scheduler's writes are refused. */
  fence?: (client: pg.PoolClient) => Promise<void>;
}): Promise<StateDatabase> {
  const pool =
    opts.pool ??
    new pg.Pool({
      connectionString: opts.url,
      max: 2,
      connectionTimeoutMillis: POSTGRES_STORE_DEFAULTS.connectTimeoutMs,
      application_name: 'taskforge-scheduler-state',
    });
  const onPoolError = (err: Error): void => opts.log.warn({ err: err.message }, 'database connection lost (scheduler state)');
  pool.on('error', onPoolError);
  // The listener stays after close(): pool.end() resolves before its connections are gone, and
  // one the server ends meanwhile is reported to it.
  const close = async (): Promise<void> => {
    if (!opts.pool) await pool.end();
  };

  const transaction = async <T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> => {
    let client: pg.PoolClient;
    try {
      client = await pool.connect();
    } catch (err) {
      throw storageUnavailable(err);
    }
    let broken: Error | undefined;
    // A connection lost between two statements is an event: without a listener it ends the process.
    const onError = (err: Error): void => {
      broken = err;
    };
    client.on('error', onError);
    let began = false;
    try {
      await client.query('BEGIN');
      began = true;
      if (opts.fence) await opts.fence(client);
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      if (began) await client.query('ROLLBACK').catch((e: unknown) => (broken = e as Error));
      // The caller's own refusals (a KeyFileError, a CredentialsError) keep their shape.
      throw err instanceof Error && REFUSALS.has(err.name) ? err : storageUnavailable(err);
    } finally {
      client.off('error', onError);
      client.release(broken);
    }
  };

  try {
    await migratePool(pool, opts.log);
  } catch (err) {
    await close();
    throw err;
  }

  const exclusiveStart = async <T>(work: () => Promise<T>): Promise<T> => {
    let client: pg.PoolClient;
    try {
      client = await pool.connect();
    } catch (err) {
      throw storageUnavailable(err);
    }
    let broken: Error | undefined;
    const onError = (err: Error): void => {
      broken = err;
    };
    client.on('error', onError);
    try {
      try {
        await client.query('SELECT pg_advisory_lock($1, $2)', [...START_LOCK]);
      } catch (err) {
        broken = err as Error;
        throw storageUnavailable(err);
      }
      try {
        return await work();
      } finally {
        // A connection that is gone has released the lock with it.
        await client.query('SELECT pg_advisory_unlock($1, $2)', [...START_LOCK]).catch((e: unknown) => (broken = e as Error));
      }
    } finally {
      client.off('error', onError);
      client.release(broken);
    }
  };

  return {
    transaction,
    exclusiveStart,
    async query<T>(sql: string, params: unknown[] = []): Promise<T[]> {
      // Fenced like every transaction: one statement may be a write.
      if (opts.fence) return transaction(async (client) => (await client.query(sql, params)).rows as T[]);
      try {
        return (await pool.query(sql, params)).rows as T[];
      } catch (err) {
        throw storageUnavailable(err);
      }
    },
    close,
  };
}

/** The errors `work` raises on purpose, about the data itself: passed on, not turned into STORAGE_UNAVAILABLE. */
const REFUSALS = new Set(['KeyFileError', 'CredentialsError', 'TaskForgeError']);
