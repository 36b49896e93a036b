/**
 * Ordered, durable whole-file writes: the write path of the file store, for both durable writes
 * (resolve once on disk) and group-committed ones (latest copy per path, flushed on a timer).
 *
 * Ordering: every write of a path takes a sequence number when it is handed over, and the writes
 * of one path run one after another in that order. A staged (group-committed) copy that a newer
 * durable write supersedes is dropped, and a failed copy is retried only if nothing newer was
 * handed over since, so an older record can never land on top of a newer one.
 *
 * It must never leave a half-written file (see atomic-write.ts), and never poll: the flush timer
 * is armed only while something is staged, and it is unref'd so it never keeps a process alive.
 */
import { dirname } from 'node:path';
import type { Logger } from '../../common/logger.js';
import { syncDirectory, writeFileAtomic } from './atomic-write.js';
import { createDirSyncer, type DirSyncer, type SyncDir } from './dir-sync.js';
import { createLimiter, type Limiter } from './limiter.js';
import { errnoCode, type StoreFs } from './store-fs.js';

export interface RecordWriterOptions {
  fs: StoreFs;
  log: Logger;
  /** Delay between a staged write and its flush, in ms. */
  groupCommitMs: number;
  /** Files written at once. */
  writeConcurrency: number;
}

/** A write of a whole file; `data: null` deletes it. */
interface Op {
  seq: number;
  data: string | null;
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
  private seq = 0;
  /** Newest seq handed over per path; kept only while a write of the path is pending. */
  private readonly latest = new Map<string, number>();
  /** Staged copies waiting for the next flush, newest per path. */
  private readonly dirty = new Map<string, Op>();
  /** The last write queued per path; the next write of the path runs after it. */
  private readonly tails = new Map<string, { done: Promise<void>; op: Op }>();
  private readonly durableInFlight = new Set<Promise<void>>();
  private flushChain: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | null = null;
  private consecutiveFailures = 0;

  constructor(opts: RecordWriterOptions) {
    this.fs = opts.fs;
    this.log = opts.log;
    this.groupCommitMs = opts.groupCommitMs;
    this.limiter = createLimiter(opts.writeConcurrency);
    this.dirSyncer = createDirSyncer((dir) => syncDirectory(dir, this.fs));
  }

  /** Writes `data` to `path` (or deletes it when null) and resolves once that is durable. */
  writeDurable(path: string, data: string | null): Promise<void> {
    const op = this.next(path, data);
    // A staged copy is older than this write: writing it later would undo this one.
    this.dirty.delete(path);
    const run = this.apply(path, op, this.dirSyncer.sync);
    const settled = run.then(noop, noop);
    this.durableInFlight.add(settled);
    void settled.then(() => {
      this.durableInFlight.delete(settled);
      this.release(path, op.seq);
    });
    return run;
  }

  /** Stages `data` for `path`; it is written at the next flush. Returns at once. */
  stage(path: string, data: string): void {
    this.dirty.set(path, this.next(path, data));
    this.arm(this.groupCommitMs);
  }

  /** The newest content handed over for `path` that may not be on disk yet (null: a pending delete). */
  pending(path: string): { data: string | null } | undefined {
    return this.dirty.get(path) ?? this.tails.get(path)?.op;
  }

  /**
   * Resolves once every staged write handed over before the call, and every durable write then
   * in flight, has settled; rejects with the first error if a staged write could not be made
   * durable (it stays staged and is retried).
   */
  flush(): Promise<void> {
    const run = (): Promise<void> => this.flushOnce();
    const flushed = this.flushChain.then(run, run);
    this.flushChain = flushed.then(noop, noop);
    const durable = Promise.all([...this.durableInFlight]);
    return Promise.all([flushed, durable]).then(noop);
  }

  /** Stops the flush timer; staged writes handed over later arm it again. */
  stopTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private next(path: string, data: string | null): Op {
    this.seq += 1;
    this.latest.set(path, this.seq);
    return { seq: this.seq, data };
  }

  private release(path: string, seq: number): void {
    if (this.latest.get(path) === seq && !this.dirty.has(path)) this.latest.delete(path);
  }

  private arm(delayMs: number): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      // Failures are logged and re-armed inside flushOnce; nobody awaits a timer flush.
      this.flush().catch(noop);
    }, delayMs);
    this.timer.unref();
  }

  /** Queues `op` behind the previous write of `path`. `syncDir: null` leaves the directory fsync to the caller. */
  private apply(path: string, op: Op, syncDir: SyncDir | null): Promise<void> {
    const prev = this.tails.get(path);
    const step = (): Promise<void> =>
      this.limiter.run(() =>
        op.data === null
          ? this.remove(path, syncDir)
          : writeFileAtomic(path, op.data, { fsync: true, fs: this.fs, syncDir }),
      );
    const run = prev ? prev.done.then(step) : step();
    const entry = { done: run.then(noop, noop), op };
    this.tails.set(path, entry);
    void entry.done.then(() => {
      if (this.tails.get(path) === entry) this.tails.delete(path);
    });
    return run;
  }

  private async remove(path: string, syncDir: SyncDir | null): Promise<void> {
    try {
      await this.fs.unlink(path);
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw err;
    }
    if (syncDir) await syncDir(dirname(path));
  }

  private async flushOnce(): Promise<void> {
    this.stopTimer();
    if (this.dirty.size === 0) return;
    const batch = [...this.dirty];
    this.dirty.clear();
    // Queue every write before awaiting any, so each path's queue keeps seq order.
    const written = await Promise.allSettled(batch.map(([path, op]) => this.apply(path, op, null)));

    // One directory fsync per directory for the whole batch (shared with concurrent durable writes).
    const dirs = new Set<string>();
    batch.forEach(([path], i) => {
      if (written[i]?.status === 'fulfilled') dirs.add(dirname(path));
    });
    const dirErrors = new Map<string, unknown>();
    await Promise.all(
      [...dirs].map((dir) => this.dirSyncer.sync(dir).catch((err: unknown) => void dirErrors.set(dir, err ?? new Error('fsync failed')))),
    );

    let failed = 0;
    let firstError: unknown;
    batch.forEach(([path, op], i) => {
      const result = written[i];
      const err = result?.status === 'rejected' ? result.reason ?? new Error('write failed') : dirErrors.get(dirname(path));
      if (err === undefined) {
        this.release(path, op.seq);
        return;
      }
      failed += 1;
      firstError ??= err;
      // Retry only if nothing newer was handed over meanwhile; a newer copy carries the change.
      if (this.latest.get(path) === op.seq) this.dirty.set(path, op);
    });
    if (failed === 0) {
      this.consecutiveFailures = 0;
      return;
    }
    this.consecutiveFailures += 1;
    const retryMs = Math.min(Math.max(this.groupCommitMs, 1) * 2 ** (this.consecutiveFailures - 1), MAX_RETRY_MS);
    this.log.error({ failed, records: batch.length, code: errnoCode(firstError), retryMs }, 'group commit failed, will retry');
    if (this.dirty.size > 0) this.arm(retryMs);
    throw firstError;
  }
}
