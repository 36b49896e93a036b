/**
 * The PostgreSQL store: the Store interface (types.ts) over one PostgreSQL database, selected by
 * `--store postgres://…`. Records are kept whole as the JSON text the file store writes (`json` columns keep it as
 * written: key order, U+0000), one row each (migrations.ts has the
 * schema); every write goes through the commit queue (commit-queue.ts), which gives the same
 * contract as the file store: a durable write resolves once its COMMIT returned (PostgreSQL's
 * default synchronous_commit = on: its WAL is flushed), lazy writes coalesce and follow within
 * groupCommitMs, and the writes of one record are committed in the order they were made.
 *
 * It must never acknowledge a write before its COMMIT, never build SQL from a value (everything
 * is a parameter), and never accept a name or id the file store would refuse (the same INVALID_NAME,
 * so the API answers the same whichever store is behind it).
 */
import pg from 'pg';
import { silentLogger, type Logger } from '../../../common/logger.js';
import { assertExecutionId, assertFunctionName, assertWorkflowName } from '../../../common/names.js';
import type { Execution, ExecutionLogs } from '../../../common/records.js';
import type { WorkflowDefinition, WorkflowRun } from '../../../common/workflows.js';
import { storageUnavailable } from '../file-store.js';
import { sortExecutions } from '../load/load-state.js';
import type { LoadedState, LoadedWorkflows, Store, StoredFunction } from '../types.js';
import { CommitQueue } from './commit-queue.js';
import { LeaderLease, type LeaseOptions } from './leader-lease.js';
import { migratePool } from './migrations.js';

export interface PostgresStoreOptions {
  /** `postgres://user@host:port/db` (libpq's URL form; a password may come from PGPASSWORD). */
  url: string;
  /** How long a lazy write (putExecution, putLogs) waits for company, in ms. */
  groupCommitMs?: number;
  /** How long lazy writes whose commit failed wait before the next try, in ms. */
  retryMs?: number;
  /** Connections to the database (commits are one at a time; the rest serve reads). */
  poolSize?: number;
  logger?: Logger;
  /** A pool made by the caller (tests wrap its clients); close() then leaves it open. */
  pool?: pg.Pool;
  /**
   * Leadership among schedulers on this database (leader-lease.ts): open() waits until this one
   * holds the lease, and every commit is fenced by its epoch. Without it, nothing is fenced
   * (tests of the store alone).
   */
  lease?: Omit<LeaseOptions, 'log'>;
}

/** The PostgreSQL store, with the lease that lets it write when one was asked for. */
export interface PostgresStore extends Store {
  readonly lease: LeaderLease | null;
}

export const POSTGRES_STORE_DEFAULTS = {
  /** ms: as the file store's, short enough to be invisible, long enough to coalesce a burst of transitions. */
  groupCommitMs: 5,
  /** ms: a database that is down is retried about once a second, not in a busy loop. */
  retryMs: 1_000,
  poolSize: 4,
  /** ms: a database that does not answer fails a write quickly (503), rather than holding it. */
  connectTimeoutMs: 5_000,
} as const;

export function createPostgresStore(options: PostgresStoreOptions): PostgresStore {
  const log = options.logger ?? silentLogger;
  const pool =
    options.pool ??
    new pg.Pool({
      connectionString: options.url,
      max: options.poolSize ?? POSTGRES_STORE_DEFAULTS.poolSize,
      connectionTimeoutMillis: POSTGRES_STORE_DEFAULTS.connectTimeoutMs,
      application_name: 'taskforge-scheduler',
    });
  // An idle connection the server drops is reported here; without a listener it would end the process.
  const onPoolError = (err: Error): void => log.warn({ err: err.message }, 'database connection lost');
  pool.on('error', onPoolError);
  const lease = options.lease ? new LeaderLease(pool, { ...options.lease, log }) : null;
  const queue = new CommitQueue({
    connect: () => pool.connect(),
    ...(lease ? { fence: (client: pg.PoolClient) => lease.fence(client) } : {}),
    delayMs: options.groupCommitMs ?? POSTGRES_STORE_DEFAULTS.groupCommitMs,
    retryMs: options.retryMs ?? POSTGRES_STORE_DEFAULTS.retryMs,
    log,
    failed: storageUnavailable,
  });
  let closing: Promise<void> | null = null;
  const executionChange = (e: Execution): ReturnType<CommitQueue['change']> =>
    queue.change('executions', e.id, JSON.stringify(e), [e.id, e.function, e.status, e.createdAt]);

  const read = async <T>(sql: string, params: unknown[] = []): Promise<T[]> => {
    try {
      return (await pool.query(sql, params)).rows as T[];
    } catch (err) {
      throw storageUnavailable(err);
    }
  };

  const store: PostgresStore = {
    lease,
    ...(lease ? { onDeposed: (fn: (err: Error) => void) => lease.onDeposed(fn) } : {}),

    /** No files, so nothing is ever quarantined or swept: those two are always [] and 0. */
    async open(): Promise<LoadedState> {
      await migratePool(pool, log);
      // Only the leader loads: what it loads then includes every commit of the one before it.
      if (lease) await lease.acquire();
      const fns = await read<{ name: string; versions: StoredFunction['versions'] }>('SELECT name, versions FROM functions ORDER BY name');
      const functions = fns.map((r) => ({ name: r.name, versions: [...r.versions].sort((a, b) => a.version - b.version) }));
      const executions = (await read<{ record: Execution }>('SELECT record FROM executions ORDER BY created_at, id')).map((r) => r.record);
      // The file store's order exactly (createdAt as text, then id), whatever the database's collation.
      sortExecutions(executions);
      log.info({ functions: functions.length, executions: executions.length }, 'store loaded');
      return { functions, executions, quarantined: [], sweptTempFiles: 0 };
    },

    async putFunction(fn: StoredFunction): Promise<void> {
      assertFunctionName(fn.name);
      await queue.durable([queue.change('functions', fn.name, JSON.stringify(fn.versions))]);
    },

    async deleteFunction(name: string): Promise<void> {
      assertFunctionName(name);
      await queue.durable([queue.change('functions', name, null)]);
    },

    async putExecutionDurable(execution: Execution): Promise<void> {
      assertExecutionId(execution.id);
      await queue.durable([executionChange(execution)]);
    },

    async putExecutionsDurable(executions: readonly Execution[]): Promise<void> {
      if (executions.length === 0) return;
      for (const e of executions) assertExecutionId(e.id);
      await queue.durable(executions.map(executionChange));
    },

    putExecution(execution: Execution): void {
      assertExecutionId(execution.id);
      // Serialised now: the caller may keep mutating its object.
      queue.lazyChange(executionChange(execution));
    },

    async deleteExecution(id: string): Promise<void> {
      assertExecutionId(id);
      await queue.durable([queue.change('executions', id, null), queue.change('logs', id, null)]);
    },

    putLogs(logs: ExecutionLogs): void {
      assertExecutionId(logs.executionId);
      queue.lazyChange(queue.change('logs', logs.executionId, JSON.stringify(logs)));
    },

    async getLogs(id: string): Promise<ExecutionLogs | null> {
      assertExecutionId(id);
      const pending = queue.pending('logs', id);
      if (pending) return pending.text === null ? null : (JSON.parse(pending.text) as ExecutionLogs);
      const rows = await read<{ logs: ExecutionLogs }>('SELECT logs FROM execution_logs WHERE execution_id = $1', [id]);
      return rows[0]?.logs ?? null;
    },

    flush: () => queue.flush(),

    async loadWorkflows(): Promise<LoadedWorkflows> {
      const workflows = (await read<{ definition: WorkflowDefinition }>('SELECT definition FROM workflows ORDER BY name')).map((r) => r.definition);
      const runs = (await read<{ run: WorkflowRun }>('SELECT run FROM workflow_runs ORDER BY id')).map((r) => r.run);
      return { workflows, runs };
    },

    async putWorkflow(workflow: WorkflowDefinition): Promise<void> {
      assertWorkflowName(workflow.name);
      await queue.durable([queue.change('workflows', workflow.name, JSON.stringify(workflow))]);
    },

    async deleteWorkflow(name: string): Promise<void> {
      assertWorkflowName(name);
      await queue.durable([queue.change('workflows', name, null)]);
    },

    async putWorkflowRun(run: WorkflowRun): Promise<void> {
      assertExecutionId(run.id);
      await queue.durable([queue.change('runs', run.id, JSON.stringify(run), [run.id, run.workflow, run.status])]);
    },

    async deleteWorkflowRun(id: string): Promise<void> {
      assertExecutionId(id);
      await queue.durable([queue.change('runs', id, null)]);
    },

    close(): Promise<void> {
      closing ??= (async () => {
        try {
          await queue.flush();
        } finally {
          queue.stop();
          // After the last commit: a standby may take over at once.
          await lease?.release();
          if (!options.pool) await pool.end();
        }
      })();
      return closing;
    },
  };
  return store;
}
