/**
 * The JSON-file store: the embedded default behind the Store interface (types.ts). One
 * human-readable file per function, per execution and per execution's logs under a data
 * directory; data/README.md describes the layout for the people who read it.
 *
 * It must never build a path from an unvalidated name (layout.ts throws INVALID_NAME first),
 * never acknowledge a durable write before it is fsynced, and never leave a half-written file.
 */
import { TaskForgeError } from '../../common/errors.js';
import { silentLogger, type Logger } from '../../common/logger.js';
import type { Execution, ExecutionLogs } from '../../common/records.js';
import { createLayout } from './layout.js';
import { loadState, quarantineFile, type LoadContext } from './load-state.js';
import { checkLogs, QUARANTINE_REASON } from './record-shape.js';
import { RecordWriter } from './record-writer.js';
import { errnoCode, nodeStoreFs, type StoreFs } from './store-fs.js';
import type { LoadedState, Store, StoredFunction } from './types.js';

export interface FileStoreOptions {
  dataDir: string;
  /** Delay between a group-committed write and its flush, in ms. */
  groupCommitMs?: number;
  /** Files read at once during open(). */
  readConcurrency?: number;
  /** Files written at once. */
  writeConcurrency?: number;
  fs?: StoreFs;
  logger?: Logger;
}

export interface ResolvedFileStoreOptions {
  readonly dataDir: string;
  readonly groupCommitMs: number;
  readonly readConcurrency: number;
  readonly writeConcurrency: number;
  readonly fs: StoreFs;
  readonly logger: Logger;
}

export const FILE_STORE_DEFAULTS = {
  /** ms: short enough to be invisible to clients, long enough to coalesce a burst of transitions. */
  groupCommitMs: 5,
  /** files in flight while loading. */
  readConcurrency: 64,
  /** files in flight while writing. */
  writeConcurrency: 64,
} as const;

export function resolveFileStoreOptions(opts: FileStoreOptions): ResolvedFileStoreOptions {
  const invalid = (what: string): TaskForgeError =>
    new TaskForgeError('VALIDATION_ERROR', `invalid file store option: ${what}`, { option: what });
  if (typeof opts.dataDir !== 'string' || opts.dataDir.length === 0) throw invalid('dataDir must be a non-empty path');
  const groupCommitMs = opts.groupCommitMs ?? FILE_STORE_DEFAULTS.groupCommitMs;
  if (!Number.isFinite(groupCommitMs) || groupCommitMs < 0) throw invalid('groupCommitMs must be a number >= 0');
  const readConcurrency = opts.readConcurrency ?? FILE_STORE_DEFAULTS.readConcurrency;
  const writeConcurrency = opts.writeConcurrency ?? FILE_STORE_DEFAULTS.writeConcurrency;
  if (!Number.isInteger(readConcurrency) || readConcurrency < 1) throw invalid('readConcurrency must be an integer >= 1');
  if (!Number.isInteger(writeConcurrency) || writeConcurrency < 1) throw invalid('writeConcurrency must be an integer >= 1');
  return Object.freeze({
    dataDir: opts.dataDir,
    groupCommitMs,
    readConcurrency,
    writeConcurrency,
    fs: opts.fs ?? nodeStoreFs,
    logger: opts.logger ?? silentLogger,
  });
}

/** Pretty JSON: the files are meant to be read by people, and it costs microseconds next to an fsync. */
const serialize = (value: unknown): string => JSON.stringify(value, null, 2) + '\n';

/** The error every failed write becomes: the API answers 503 and the caller may retry. */
export function storageUnavailable(err: unknown): TaskForgeError {
  if (err instanceof TaskForgeError) return err;
  const code = errnoCode(err);
  return new TaskForgeError('STORAGE_UNAVAILABLE', `storage is unavailable: ${code}`, { code }, { cause: err });
}

export function createFileStore(options: FileStoreOptions): Store {
  const opts = resolveFileStoreOptions(options);
  const layout = createLayout(opts.dataDir);
  const log = opts.logger;
  const fs = opts.fs;
  const writer = new RecordWriter({ fs, log, groupCommitMs: opts.groupCommitMs, writeConcurrency: opts.writeConcurrency });
  const loadContext: LoadContext = { layout, fs, log, readConcurrency: opts.readConcurrency };
  let closing: Promise<void> | null = null;

  const durable = async (path: string, data: string | null, ids: Record<string, string>): Promise<void> => {
    try {
      await writer.writeDurable(path, data);
    } catch (err) {
      const error = storageUnavailable(err);
      log.error({ ...ids, code: error.details.code }, 'durable write failed');
      throw error;
    }
  };

  const store: Store = {
    async open(): Promise<LoadedState> {
      try {
        return await loadState(loadContext);
      } catch (err) {
        throw storageUnavailable(err);
      }
    },

    async putFunction(fn: StoredFunction): Promise<void> {
      const path = layout.functionFile(fn.name);
      await durable(path, serialize(fn), { function: fn.name });
    },

    async deleteFunction(name: string): Promise<void> {
      const path = layout.functionFile(name);
      await durable(path, null, { function: name });
    },

    async putExecutionDurable(execution: Execution): Promise<void> {
      const path = layout.executionFile(execution.id);
      await durable(path, serialize(execution), { executionId: execution.id });
    },

    putExecution(execution: Execution): void {
      // Serialised now: the caller may keep mutating its object after handing it over.
      writer.stage(layout.executionFile(execution.id), serialize(execution));
    },

    async deleteExecution(id: string): Promise<void> {
      const execPath = layout.executionFile(id);
      const logsPath = layout.logsFile(id);
      await Promise.all([durable(execPath, null, { executionId: id }), durable(logsPath, null, { executionId: id })]);
    },

    putLogs(logs: ExecutionLogs): void {
      writer.stage(layout.logsFile(logs.executionId), serialize(logs));
    },

    async getLogs(id: string): Promise<ExecutionLogs | null> {
      const path = layout.logsFile(id);
      const pending = writer.pending(path);
      if (pending) return pending.data === null ? null : (JSON.parse(pending.data) as ExecutionLogs);
      let text: string;
      try {
        text = await fs.readFile(path, 'utf8');
      } catch (err) {
        if (errnoCode(err) === 'ENOENT') return null;
        throw storageUnavailable(err);
      }
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch {
        await quarantineFile(loadContext, 'logs', `${id}.json`, QUARANTINE_REASON.badJson);
        return null;
      }
      const problem = checkLogs(value, id);
      if (problem) {
        await quarantineFile(loadContext, 'logs', `${id}.json`, problem);
        return null;
      }
      return value as ExecutionLogs;
    },

    async flush(): Promise<void> {
      try {
        await writer.flush();
      } catch (err) {
        throw storageUnavailable(err);
      }
    },

    close(): Promise<void> {
      closing ??= (async () => {
        try {
          await store.flush();
        } finally {
          // Stop retrying once closed; the rejection above tells the caller what was not saved.
          writer.stopTimer();
        }
      })();
      return closing;
    },
  };
  return store;
}
