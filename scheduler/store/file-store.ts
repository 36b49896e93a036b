/**
 * The JSON-file store: the embedded default behind the Store interface (types.ts). One
 * human-readable file per function, per execution and per execution's logs under a data
 * directory; data/README.md describes the layout for the people who read it.
 *
 * Executions and logs go through the write-ahead journal (journal.ts): a durable accept resolves
 * once its journal entry is fdatasynced, shared by every accept of the same group commit; every
 * other change is appended too (waiting up to lazyCommitMs for company), never awaited. The
 * JSON files follow a few ms later without an fsync each, written in batches by a worker thread
 * (file-batch.ts); checkpoint.ts syncs them in the background before a journal segment is
 * deleted, and open() replays whatever journal is left. Functions, rare, keep their own fsynced
 * writes.
 *
 * It must never build a path from an unvalidated name (layout.ts throws INVALID_NAME first),
 * never acknowledge a durable write before it is fsynced, and never leave a half-written file.
 */
import { TaskForgeError } from '../../common/errors.js';
import { silentLogger, type Logger } from '../../common/logger.js';
import { OptionsError } from '../../common/options-error.js';
import { isTerminal, type Execution, type ExecutionLogs } from '../../common/records.js';
import { Checkpointer } from './journal/checkpoint.js';
import { inProcessFileWriter, threadedFileWriter } from './files/file-batch.js';
import { createFileSystemSyncer, type SyncFileSystem } from './files/fs-sync.js';
import { Journal, type JournalEntry } from './journal/journal.js';
import { readJournal, type JournalReplay } from './journal/journal-replay.js';
import { createLayout } from './files/layout.js';
import { loadState, quarantineFile, sortExecutions, type LoadContext } from './load/load-state.js';
import { checkLogs, QUARANTINE_REASON } from './load/record-shape.js';
import { RecordWriter, type Ready } from './files/record-writer.js';
import { errnoCode, nodeStoreFs, type StoreFs } from './files/store-fs.js';
import type { LoadedState, Store, StoredFunction } from './types.js';
import { createWorkflowFiles } from './workflow-files.js';

export interface FileStoreOptions {
  dataDir: string;
  /** Delay between a group-committed write and its flush, in ms. */
  groupCommitMs?: number;
  /** Files read at once during open(), when the fs has no synchronous read. */
  readConcurrency?: number;
  /** Files read with blocking reads between two yields to the event loop during open(). */
  readSliceSize?: number;
  /** Files written at once through the thread pool (see FILE_STORE_DEFAULTS). */
  writeConcurrency?: number;
  /** How long a change nobody waits for may wait for others before its journal batch, in ms; 0 = at once. */
  lazyCommitMs?: number;
  /** A journal segment is closed and checkpointed once it holds this many bytes. */
  journalSegmentBytes?: number;
  /** A non-empty journal segment open for this long is closed and checkpointed, in ms. */
  checkpointIntervalMs?: number;
  /** Files fsynced at once by a checkpoint. */
  checkpointConcurrency?: number;
  /** How long the file of an execution not yet terminal waits for a newer copy, in ms; 0 = not at all. */
  fileHoldMs?: number;
  /** The clock held files are timed by (tests); Date.now by default. */
  now?: () => number;
  /**
   * How a checkpoint makes everything written durable at once. Default: syncfs through `sync -f`
   * on the real file system (fs-sync.ts), none on an injected one, which then sees every fsync.
   */
  syncFileSystem?: SyncFileSystem;
  fs?: StoreFs;
  logger?: Logger;
}

export interface ResolvedFileStoreOptions {
  readonly dataDir: string;
  readonly groupCommitMs: number;
  readonly lazyCommitMs: number;
  readonly readConcurrency: number;
  readonly readSliceSize: number;
  readonly writeConcurrency: number;
  readonly journalSegmentBytes: number;
  readonly checkpointIntervalMs: number;
  readonly checkpointConcurrency: number;
  readonly fileHoldMs: number;
  readonly now: () => number;
  readonly fs: StoreFs;
  readonly logger: Logger;
}

export const FILE_STORE_DEFAULTS = {
  /** ms: short enough to be invisible to clients, long enough to coalesce a burst of transitions. */
  groupCommitMs: 5,
  /** files in flight while loading (asynchronous reads only). */
  readConcurrency: 64,
  /** files per slice of blocking reads while loading: a few ms of event loop each. */
  readSliceSize: 2_000,
  /**
   * files in flight while writing through the thread pool (function files, deletes, and every
   * file when the fs is injected; the execution and logs files of the real fs go through the
   * writer thread of file-batch.ts): half of libuv's pool (4 threads unless UV_THREADPOOL_SIZE
   * says otherwise), so the rest stays free for the journal's fdatasync that durable accepts wait for.
   */
  writeConcurrency: Math.max(1, Math.floor((Number(process.env.UV_THREADPOOL_SIZE) || 4) / 2)),
  /**
   * ms: a status change nobody waits for joins the next journal batch within this long, so at low
   * rates an invoke's few changes share one fdatasync (measured at c=1: scheduler CPU per invoke
   * about halved together with the threaded file writer). Durable accepts never wait for it.
   */
  lazyCommitMs: 5,
  /** bytes: a crash never leaves more than about this much journal to replay per segment. */
  journalSegmentBytes: 64 * 1024 * 1024,
  /** ms: long enough that an execution's transitions and logs share one fsync per file. */
  checkpointIntervalMs: 10_000,
  /** files fsynced at once by a checkpoint: enough to keep the disk's queue busy. */
  checkpointConcurrency: 8,
  /**
   * ms: an execution that ends within this long gets one file written, not one per flush it
   * spans (record-writer.ts); its journal entries make it durable meanwhile. Checkpoints and
   * close write held files at once, so it never delays a segment's deletion.
   */
  fileHoldMs: 2_000,
} as const;

export function resolveFileStoreOptions(opts: FileStoreOptions): ResolvedFileStoreOptions {
  const invalid = (option: keyof FileStoreOptions, why: string): OptionsError => new OptionsError(option, `invalid file store option: ${option} ${why}`);
  if (typeof opts.dataDir !== 'string' || opts.dataDir.length === 0) throw invalid('dataDir', 'must be a non-empty path');
  const groupCommitMs = opts.groupCommitMs ?? FILE_STORE_DEFAULTS.groupCommitMs;
  if (!Number.isFinite(groupCommitMs) || groupCommitMs < 0) throw invalid('groupCommitMs', 'must be a number >= 0');
  const lazyCommitMs = opts.lazyCommitMs ?? FILE_STORE_DEFAULTS.lazyCommitMs;
  if (!Number.isFinite(lazyCommitMs) || lazyCommitMs < 0) throw invalid('lazyCommitMs', 'must be a number >= 0');
  const checkpointIntervalMs = opts.checkpointIntervalMs ?? FILE_STORE_DEFAULTS.checkpointIntervalMs;
  if (!Number.isFinite(checkpointIntervalMs) || checkpointIntervalMs < 0) throw invalid('checkpointIntervalMs', 'must be a number >= 0');
  const fileHoldMs = opts.fileHoldMs ?? FILE_STORE_DEFAULTS.fileHoldMs;
  if (!Number.isFinite(fileHoldMs) || fileHoldMs < 0) throw invalid('fileHoldMs', 'must be a number >= 0');
  const positive = (name: keyof typeof FILE_STORE_DEFAULTS & keyof FileStoreOptions): number => {
    const value = opts[name] ?? FILE_STORE_DEFAULTS[name];
    if (!Number.isInteger(value) || value < 1) throw invalid(name, 'must be an integer >= 1');
    return value;
  };
  return Object.freeze({
    dataDir: opts.dataDir,
    groupCommitMs,
    lazyCommitMs,
    readConcurrency: positive('readConcurrency'),
    readSliceSize: positive('readSliceSize'),
    writeConcurrency: positive('writeConcurrency'),
    journalSegmentBytes: positive('journalSegmentBytes'),
    checkpointIntervalMs,
    checkpointConcurrency: positive('checkpointConcurrency'),
    fileHoldMs,
    now: opts.now ?? Date.now,
    fs: opts.fs ?? nodeStoreFs,
    logger: opts.logger ?? silentLogger,
  });
}

const noop = (): void => undefined;

/** Pretty JSON: the files are meant to be read by people, and it costs microseconds next to an fsync. */
/** Function files: indented, they are read by people and written rarely. */
const serialize = (value: unknown): string => JSON.stringify(value, null, 2) + '\n';
/** Execution and logs files: one line of JSON (`jq .` indents it), the same text as the journal entry. */
const recordText = (value: unknown): string => JSON.stringify(value) + '\n';

/** The error every failed write becomes: the API answers 503 and the caller may retry. */
export function storageUnavailable(err: unknown): TaskForgeError {
  if (err instanceof TaskForgeError) return err;
  const code = errnoCode(err);
  return new TaskForgeError('STORAGE_UNAVAILABLE', `storage is unavailable: ${code}`, { reason: 'storage', code }, { cause: err });
}

/** A Ready for a write whose record was rejected when its journal append failed: dropped then. */
const whenAppended =
  (appended: Promise<void>): Ready =>
  () =>
    appended.then(
      () => true,
      () => false,
    );

const alwaysReady: Ready = () => Promise.resolve(true);

export function createFileStore(options: FileStoreOptions): Store {
  const opts = resolveFileStoreOptions(options);
  const layout = createLayout(opts.dataDir);
  const log = opts.logger;
  const fs = opts.fs;
  // The journal and the writer tell the checkpointer when one may be due; it needs both.
  const due = (): void => checkpointer.maybe();
  const journal = new Journal({ layout, fs, log, segmentBytes: opts.journalSegmentBytes, onSegmentClosed: due, lazyCommitMs: opts.lazyCommitMs });
  // The real file system gets the threaded writer (file-batch.ts); an injected one is called as is.
  const files = fs === nodeStoreFs ? threadedFileWriter() : inProcessFileWriter(fs, opts.writeConcurrency);
  const writer = new RecordWriter({
    fs,
    log,
    groupCommitMs: opts.groupCommitMs,
    writeConcurrency: opts.writeConcurrency,
    files,
    onFlushed: due,
    holdMs: opts.fileHoldMs,
    now: opts.now,
  });
  const checkpointer = new Checkpointer({
    journal,
    writer,
    fs,
    log,
    concurrency: opts.checkpointConcurrency,
    intervalMs: opts.checkpointIntervalMs,
    syncFileSystem: options.syncFileSystem ?? (fs === nodeStoreFs ? createFileSystemSyncer({ log }) : undefined),
  });
  const loadContext: LoadContext = { layout, fs, log, readConcurrency: opts.readConcurrency, readSliceSize: opts.readSliceSize };
  let closing: Promise<void> | null = null;

  /**
   * A Ready for a group-committed record: its file is written once its journal entry is durable.
   * If that append failed, the record is appended again when its write is retried, so a disk
   * that recovers ends up with it in the journal and in its file.
   */
  const journaled = (entry: JournalEntry): Ready => {
    let appended = journal.append(entry, false);
    appended.catch(noop);
    return async () => {
      try {
        await appended;
      } catch {
        appended = journal.append(entry);
        appended.catch(noop);
        await appended;
      }
      return true;
    };
  };

  const rejected = (err: unknown, ids: Record<string, string>, what: string): TaskForgeError => {
    const error = storageUnavailable(err);
    log.error({ ...ids, code: error.details.code }, what);
    return error;
  };

  const durable = async (path: string, data: string | null, ids: Record<string, string>): Promise<void> => {
    try {
      await writer.writeDurable(path, data);
    } catch (err) {
      throw rejected(err, ids, 'durable write failed');
    }
  };

  /** Puts the journal's newer records over what the files held, and rewrites those files. */
  const applyReplay = async (state: LoadedState, replay: JournalReplay): Promise<void> => {
    const byId = new Map(state.executions.map((e) => [e.id, e] as const));
    const writes: Array<Promise<void>> = [];
    let rewritten = 0;
    for (const [id, rec] of replay.executions) {
      const path = layout.executionFile(id);
      const current = byId.get(id);
      if (rec === null) byId.delete(id);
      else byId.set(id, rec);
      if (rec !== null && current !== undefined && JSON.stringify(current) === JSON.stringify(rec)) {
        // Already in its file, but maybe only in the page cache: the checkpoint fsyncs it.
        writer.restoreTouched([path]);
        continue;
      }
      rewritten += 1;
      writes.push(writer.writeNow(path, rec === null ? null : recordText(rec), alwaysReady));
    }
    for (const [id, logs] of replay.logs) {
      writes.push(writer.writeNow(layout.logsFile(id), logs === null ? null : recordText(logs), alwaysReady));
    }
    await Promise.all(writes);
    state.executions = [...byId.values()];
    sortExecutions(state.executions);
    log.info({ segments: replay.segments.length, entries: replay.entries, skipped: replay.skipped, rewritten, logs: replay.logs.size }, 'journal replayed');
  };

  const workflowFiles = createWorkflowFiles({ root: opts.dataDir, fs, writer, log, failed: (err, ids) => rejected(err, ids, 'durable write failed') });

  const store: Store = {
    ...workflowFiles,
    async open(): Promise<LoadedState> {
      try {
        const state = await loadState(loadContext);
        const replay = await readJournal({ layout, fs, log });
        if (replay.executions.size > 0 || replay.logs.size > 0) await applyReplay(state, replay);
        journal.start(replay.segments, replay.lastSeq);
        // The replayed segments go once their files are synced: in the background, not before start-up ends.
        checkpointer.maybe();
        return state;
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
      // One serialisation serves the journal entry and the file.
      const text = JSON.stringify(execution);
      const appended = journal.append({ t: 'exec', rec: text });
      // Staged now, not once durable, so a later putExecution of the same id stays the newer one.
      const seq = writer.stage(path, `${text}\n`, whenAppended(appended), { hold: !isTerminal(execution.status), mayDrop: true });
      try {
        await appended;
      } catch (err) {
        writer.cancel(path, seq);
        throw rejected(err, { executionId: execution.id }, 'durable write failed');
      }
    },

    async putExecutionsDurable(executions: readonly Execution[]): Promise<void> {
      if (executions.length === 0) return;
      const texts = executions.map((e) => JSON.stringify(e));
      // One journal batch, one commit line: a crash replays all of them or none (journal.ts).
      const appended = journal.appendAll(texts.map((rec) => ({ t: 'exec', rec })));
      const ready = whenAppended(appended);
      const staged = executions.map((e, i) => {
        const path = layout.executionFile(e.id);
        return { path, seq: writer.stage(path, `${texts[i]!}\n`, ready, { hold: !isTerminal(e.status), mayDrop: true }) };
      });
      try {
        await appended;
      } catch (err) {
        for (const { path, seq } of staged) writer.cancel(path, seq);
        throw rejected(err, { executionId: executions[0]!.id, count: String(executions.length) }, 'durable batch write failed');
      }
    },

    putExecution(execution: Execution): void {
      const path = layout.executionFile(execution.id);
      // Serialised now, once, for journal and file: the caller may keep mutating its object.
      const text = JSON.stringify(execution);
      writer.stage(path, `${text}\n`, journaled({ t: 'exec', rec: text }), { hold: !isTerminal(execution.status) });
    },

    async deleteExecution(id: string): Promise<void> {
      const execPath = layout.executionFile(id);
      const logsPath = layout.logsFile(id);
      const appended = journal.append({ t: 'del', id });
      const ready = whenAppended(appended);
      const removed = Promise.all([writer.writeNow(execPath, null, ready), writer.writeNow(logsPath, null, ready)]);
      try {
        await appended;
        await removed;
      } catch (err) {
        throw rejected(err, { executionId: id }, 'durable delete failed');
      }
    },

    putLogs(logs: ExecutionLogs): void {
      const path = layout.logsFile(logs.executionId);
      const text = JSON.stringify(logs);
      writer.stage(path, `${text}\n`, journaled({ t: 'logs', rec: text }));
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
        // Staged files wait for their journal entries: no need for those to wait out their window.
        journal.commitNow();
        await writer.flush();
      } catch (err) {
        throw storageUnavailable(err);
      }
    },

    close(): Promise<void> {
      closing ??= (async () => {
        try {
          await store.flush();
          // A clean shutdown leaves no journal to replay. If this fails, it is logged and the
          // journal is replayed at the next start instead: nothing is lost either way.
          await checkpointer.run().catch(noop);
        } finally {
          // Stop retrying once closed; the rejection above tells the caller what was not saved.
          writer.stopTimer();
          await journal.close();
          await files.close();
        }
      })();
      return closing;
    },
  };
  return store;
}
