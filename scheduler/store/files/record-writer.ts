/**
 * Ordered whole-file writes: the file-writing half of the store. Two kinds of write:
 * - `writeDurable` (functions): temp file fsynced, renamed, directory fsynced, then resolved.
 * - journaled writes (executions, logs): the record is already in the journal, so the file is
 *   replaced atomically (temp + rename) without an fsync, once its journal entry is durable.
 *   Staged copies are coalesced per path and flushed on a timer; the paths written are
 *   remembered until a checkpoint fsyncs them (checkpoint.ts).
 * - held writes: a staged copy of a record still in progress (an execution not yet terminal)
 *   waits up to `holdMs` for a newer copy of its path before it is written, so an execution that
 *   ends within that time has one file written in its life instead of one per flush it spans.
 *   Every rewrite frees an inode; where the file system must skip recently freed inodes on every
 *   create (ext4 without a journal, `recently_deleted()`), freed inodes made each new file cost
 *   hundreds of µs of kernel CPU under load. An explicit flush (a checkpoint, close) writes held
 *   copies at once: the journal, not the file, is what makes them durable meanwhile.
 *
 * Ordering: every write of a path takes a sequence number when it is handed over, and the writes
 * of one path run one after another in that order. A staged copy that a newer write supersedes
 * is dropped, and a failed copy is retried only if nothing newer was handed over since, so an
 * older record can never land on top of a newer one.
 *
 * It must never leave a half-written file (see atomic-write.ts), never write a journaled record's
 * file before its journal entry is durable (a replay could otherwise put an older one back), and
 * never poll: the flush timer is armed only while something is staged, and it is unref'd.
 */
import { dirname } from 'node:path';
import type { Logger } from '../../../common/logger.js';
import { syncDirectory, writeFileAtomic } from './atomic-write.js';
import { createDirSyncer, type DirSyncer } from './dir-sync.js';
import { FileBatcher, inProcessFileWriter, type FileBatchWriter } from './file-batch.js';
import { createLimiter, type Limiter } from './limiter.js';
import { errnoCode, type StoreFs } from './store-fs.js';

export interface RecordWriterOptions {
  fs: StoreFs;
  log: Logger;
  /** Delay between a staged write and its flush, in ms. */
  groupCommitMs: number;
  /** Files written at once (durable writes and deletes, and journaled writes without `files`). */
  writeConcurrency: number;
  /** Where journaled files are written, in batches; default: one at a time through `fs`. */
  files?: FileBatchWriter;
  /** Called after every flush that wrote everything it took (a chance to start a checkpoint). */
  onFlushed?: () => void;
  /** Longest time a held copy waits for a newer one before it is written, ms; 0 = never held. */
  holdMs?: number;
  /** The clock held copies are timed by (tests). */
  now?: () => number;
}

/**
 * Resolves true once a journaled write may go to its file (its journal entry is durable), false
 * when the write must be dropped (a durable put that was rejected); rejects when the journal
 * could not take it, which fails the write like a disk error and gets it retried.
 */
export type Ready = () => Promise<boolean>;

/** A write of a whole file; `data: null` deletes it. `ready: null`: a durable (fsynced) write. */
interface Op {
  seq: number;
  data: string | null;
  ready: Ready | null;
  /**
   * The staged copy this one replaced before it was written, kept while this one may still be
   * dropped (a durable put the journal refused): its file must then get that copy, which was
   * acknowledged, not nothing. Null for a write that is never dropped.
   */
  prev: Op | null;
}

/** How a staged write is handed over. */
export interface StageOptions {
  /** Held while the record is in progress (see the header). */
  hold?: boolean;
  /** Its `ready` may resolve false (a durable put that can be refused): keep what it replaces. */
  mayDrop?: boolean;
}

/** Longest pause between retries while the disk keeps failing, in ms. */
const MAX_RETRY_MS = 1_000;

const noop = (): void => undefined;

export class RecordWriter {
  readonly dirSyncer: DirSyncer;
  private readonly fs: StoreFs;
  private readonly log: Logger;
  private readonly groupCommitMs: number;
  private readonly limiter: Limiter;
  private readonly batcher: FileBatcher;
  private readonly onFlushed: () => void;
  private seq = 0;
  /** Newest seq handed over per path; kept only while a write of the path is pending. */
  private readonly latest = new Map<string, number>();
  /** Staged copies waiting for the next flush, newest per path. */
  private readonly dirty = new Map<string, Op>();
  /**
   * Held copies, newest per path, with when the path was first held (insertion order is that
   * order: a newer copy replaces the value, not the position). A path is never in both maps.
   */
  private readonly held = new Map<string, { op: Op; since: number }>();
  private readonly holdMs: number;
  private readonly now: () => number;
  /** The last write queued per path; the next write of the path runs after it. */
  private readonly tails = new Map<string, { done: Promise<void>; op: Op }>();
  private readonly inFlight = new Set<Promise<void>>();
  /** Paths written or deleted without an fsync since the last checkpoint took them. */
  private touched = new Set<string>();
  private flushChain: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | null = null;
  private consecutiveFailures = 0;

  constructor(opts: RecordWriterOptions) {
    this.fs = opts.fs;
    this.log = opts.log;
    this.groupCommitMs = opts.groupCommitMs;
    this.limiter = createLimiter(opts.writeConcurrency);
    this.batcher = new FileBatcher(opts.files ?? inProcessFileWriter(opts.fs, opts.writeConcurrency));
    this.onFlushed = opts.onFlushed ?? noop;
    this.holdMs = opts.holdMs ?? 0;
    this.now = opts.now ?? Date.now;
    this.dirSyncer = createDirSyncer((dir) => syncDirectory(dir, this.fs));
  }

  /** Writes `data` to `path` (or deletes it when null), fsynced, and resolves once that is durable. */
  writeDurable(path: string, data: string | null): Promise<void> {
    return this.writeNow(path, data, null);
  }

  /**
   * Writes (or deletes) `path` now, in order with its other writes: fsynced when `ready` is null,
   * otherwise once `ready` allows and without an fsync (the journal holds the record).
   */
  writeNow(path: string, data: string | null, ready: Ready | null): Promise<void> {
    const op = this.next(path, data, ready, ready !== null);
    // A staged copy is older than this write: writing it later would undo this one.
    this.dirty.delete(path);
    this.held.delete(path);
    const run = this.apply(path, op);
    const settled = run.then(noop, noop);
    this.inFlight.add(settled);
    void settled.then(() => {
      this.inFlight.delete(settled);
      this.release(path, op.seq);
    });
    return run;
  }

  /**
   * Stages `data` for `path`, written at the next flush once `ready` allows; with `hold`, at the
   * first timer flush `holdMs` after the path was first held, unless a newer copy comes first.
   * Returns its seq.
   */
  stage(path: string, data: string, ready: Ready, opts: StageOptions = {}): number {
    const op = this.next(path, data, ready, opts.mayDrop === true);
    const since = this.held.get(path)?.since;
    if (opts.hold && this.holdMs > 0) {
      this.dirty.delete(path);
      this.held.set(path, { op, since: since ?? this.now() });
    } else {
      this.held.delete(path);
      this.dirty.set(path, op);
    }
    this.arm(this.groupCommitMs);
    return op.seq;
  }

  /**
   * Drops the staged copy `seq` of `path` if nothing newer replaced it (a rejected durable put),
   * staging again the copy it had replaced, if any. A copy already being written, or replaced
   * since, is dropped when its `ready` says so (apply).
   */
  cancel(path: string, seq: number): void {
    const op = this.dirty.get(path)?.seq === seq ? this.dirty.get(path) : this.held.get(path)?.op.seq === seq ? this.held.get(path)?.op : undefined;
    if (!op) return;
    this.dirty.delete(path);
    this.held.delete(path);
    if (op.prev) {
      this.dirty.set(path, op.prev);
      this.latest.set(path, op.prev.seq);
      this.arm(this.groupCommitMs);
    } else this.release(path, seq);
  }

  /** The newest content handed over for `path` that may not be in its file yet (null: a pending delete). */
  pending(path: string): { data: string | null } | undefined {
    return this.dirty.get(path) ?? this.held.get(path)?.op ?? this.tails.get(path)?.op;
  }

  /**
   * Resolves once every staged write handed over before the call, and every direct write then
   * in flight, has settled; rejects with the first error if a staged write failed (it stays
   * staged and is retried).
   */
  flush(): Promise<void> {
    return this.flushStaged(true);
  }

  /** A flush; `all: false` (the timer's) leaves held copies younger than holdMs held. */
  private flushStaged(all: boolean): Promise<void> {
    const run = (): Promise<void> => this.flushOnce(all);
    const flushed = this.flushChain.then(run, run);
    this.flushChain = flushed.then(noop, noop);
    const direct = Promise.all([...this.inFlight]);
    return Promise.all([flushed, direct]).then(noop);
  }

  /** Hands the paths written without an fsync since the last call to a checkpoint. */
  takeTouched(): Set<string> {
    const taken = this.touched;
    this.touched = new Set();
    return taken;
  }

  /** Gives paths back after a checkpoint could not sync them; the next one tries again. */
  restoreTouched(paths: Iterable<string>): void {
    for (const p of paths) this.touched.add(p);
  }

  /** Stops the flush timer; staged writes handed over later arm it again. */
  stopTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** A new write of `path`; with `mayDrop`, remembering the unwritten staged copy it replaces. */
  private next(path: string, data: string | null, ready: Ready | null, mayDrop: boolean): Op {
    this.seq += 1;
    this.latest.set(path, this.seq);
    const replaced = mayDrop ? (this.dirty.get(path) ?? this.held.get(path)?.op ?? null) : null;
    return { seq: this.seq, data, ready, prev: replaced };
  }

  private release(path: string, seq: number): void {
    if (this.latest.get(path) === seq && !this.dirty.has(path) && !this.held.has(path)) this.latest.delete(path);
  }

  private arm(delayMs: number): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      // Failures are logged and re-armed inside flushOnce; nobody awaits a timer flush.
      this.flushStaged(false).catch(noop);
    }, delayMs);
    this.timer.unref();
  }

  /** Queues `op` behind the previous write of `path`. */
  private apply(path: string, op: Op): Promise<void> {
    const prev = this.tails.get(path);
    const step = async (): Promise<void> => {
      // Awaited outside the limiter: a write waiting for the journal must not hold a slot. A
      // dropped write leaves the file to the copy it replaced, if that one was not dropped too.
      let w: Op | null = op;
      while (w?.ready && !(await w.ready())) w = w.prev;
      if (!w) return;
      const fsync = w.ready === null;
      if (!fsync && w.data !== null) await this.batcher.write(path, w.data);
      else {
        const data = w.data;
        await this.limiter.run(() =>
          data === null ? this.remove(path, fsync) : writeFileAtomic(path, data, { fsync, fs: this.fs, syncDir: (dir) => this.dirSyncer.sync(dir) }),
        );
      }
      if (!fsync) this.touched.add(path);
    };
    const run = prev ? prev.done.then(step) : step();
    const entry = { done: run.then(noop, noop), op };
    this.tails.set(path, entry);
    void entry.done.then(() => {
      if (this.tails.get(path) === entry) this.tails.delete(path);
    });
    return run;
  }

  private async remove(path: string, fsync: boolean): Promise<void> {
    try {
      await this.fs.unlink(path);
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw err;
    }
    if (fsync) await this.dirSyncer.sync(dirname(path));
  }

  /** Moves the held copies that are due (all of them with `all`) to the staged ones. */
  private releaseHeld(all: boolean): void {
    const due = this.now() - this.holdMs;
    for (const [path, { op, since }] of this.held) {
      if (!all && since > due) break; // the rest were held later
      this.held.delete(path);
      this.dirty.set(path, op);
    }
  }

  private async flushOnce(all: boolean): Promise<void> {
    this.stopTimer();
    this.releaseHeld(all);
    if (this.dirty.size === 0) return this.armForHeld();
    const batch = [...this.dirty];
    this.dirty.clear();
    // Queue every write before awaiting any, so each path's queue keeps seq order.
    const written = await Promise.allSettled(batch.map(([path, op]) => this.apply(path, op)));

    let failed = 0;
    let firstError: unknown;
    batch.forEach(([path, op], i) => {
      const result = written[i];
      if (result?.status !== 'rejected') {
        this.release(path, op.seq);
        return;
      }
      failed += 1;
      firstError ??= result.reason ?? new Error('write failed');
      // Retry only if nothing newer was handed over meanwhile; a newer copy carries the change.
      if (this.latest.get(path) === op.seq) this.dirty.set(path, op);
    });
    if (failed === 0) {
      this.consecutiveFailures = 0;
      this.armForHeld();
      this.onFlushed();
      return;
    }
    this.consecutiveFailures += 1;
    const retryMs = Math.min(Math.max(this.groupCommitMs, 1) * 2 ** (this.consecutiveFailures - 1), MAX_RETRY_MS);
    this.log.error({ failed, records: batch.length, code: errnoCode(firstError), retryMs }, 'group commit failed, will retry');
    if (this.dirty.size > 0) this.arm(retryMs);
    this.armForHeld();
    throw firstError;
  }

  /** Held copies not yet due wait for a later timer flush (a no-op when a timer is armed). */
  private armForHeld(): void {
    if (this.held.size > 0) this.arm(this.groupCommitMs);
  }
}
