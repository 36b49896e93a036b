/**
 * Checkpoints: what lets a journal segment go. A segment may be deleted only once every JSON
 * file written from its entries is durable, so a checkpoint closes the active segment, waits
 * until every record handed over so far is in its file, fsyncs each file written since the last
 * checkpoint (a few at a time) and their directories — or, where it can, the whole file system at
 * once with syncfs (fs-sync.ts) — and only then deletes the closed segments.
 *
 * It runs in the background, off the hot path: when a segment fills up, when the active one has
 * been open for a while (checked after each group commit, so an idle store arms no timer), and
 * once at close() so a clean shutdown leaves no journal behind.
 *
 * It must never delete a segment whose files it has not synced, and never delete segments out
 * of order: replay relies on the remaining segments being the newest ones.
 */
import { dirname } from 'node:path';
import type { Logger } from '../../../common/logger.js';
import type { Journal } from './journal.js';
import { mapLimited } from '../files/limiter.js';
import type { RecordWriter } from '../files/record-writer.js';
import type { SyncFileSystem } from '../files/fs-sync.js';
import { errnoCode, type StoreFs } from '../files/store-fs.js';

export interface CheckpointerOptions {
  journal: Journal;
  writer: RecordWriter;
  fs: StoreFs;
  log: Logger;
  /** Files fsynced at once. */
  concurrency: number;
  /** A non-empty active segment older than this is closed and checkpointed, in ms. */
  intervalMs: number;
  /**
   * Makes the file systems of the directories written to durable at once (fs-sync.ts); when
   * absent or when it returns false, each file written since the last checkpoint, and its
   * directory, is fsynced.
   */
  syncFileSystem?: SyncFileSystem;
}

/** Longest pause after failed checkpoints before the next try, in ms. */
const MAX_RETRY_MS = 30_000;

const noop = (): void => undefined;

/** fsync one file by path. A file deleted since it was written needs none: its directory's fsync covers that. */
async function syncFile(fs: StoreFs, path: string): Promise<void> {
  let handle;
  try {
    handle = await fs.open(path, 'r');
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return;
    throw err;
  }
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export class Checkpointer {
  private readonly o: CheckpointerOptions;
  private chain: Promise<void> = Promise.resolve();
  private running = false;
  private failures = 0;
  private retryAt = 0;
  /** Checkpoints completed and files they synced, for tests and measurements. */
  completed = 0;
  filesSynced = 0;
  /** Checkpoints that synced the file system at once instead of file by file. */
  wholeSyncs = 0;

  constructor(opts: CheckpointerOptions) {
    this.o = opts;
  }

  /** Starts a checkpoint in the background when one is due and none is running. Never throws. */
  maybe(now = Date.now()): void {
    if (this.running || now < this.retryAt) return;
    const active = this.o.journal.activeState(now);
    const due = this.o.journal.closedSegments.length > 0 || (active.bytes > 0 && active.ageMs >= this.o.intervalMs);
    if (due) this.run().catch(noop);
  }

  /** Checkpoints everything journaled so far. Rejects if it could not (the segments then stay). */
  run(): Promise<void> {
    const step = (): Promise<void> => this.once();
    const done = this.chain.then(step, step);
    this.chain = done.then(noop, noop);
    return done;
  }

  private async once(): Promise<void> {
    const { journal, writer, fs, log } = this.o;
    this.running = true;
    const started = Date.now();
    try {
      await journal.rotate();
      const segments = journal.closedSegments;
      const upTo = segments[segments.length - 1];
      if (upTo === undefined) return;
      // Every record handed over before the rotation is in its file once this resolves.
      await writer.flush();
      const paths = writer.takeTouched();
      try {
        const dirs = [...new Set([...paths].map((p) => dirname(p)))];
        const whole = this.o.syncFileSystem ? await this.o.syncFileSystem(dirs) : false;
        if (whole) this.wholeSyncs += 1;
        else {
          await mapLimited([...paths], this.o.concurrency, (p) => syncFile(fs, p));
          await Promise.all(dirs.map((d) => writer.dirSyncer.sync(d)));
        }
      } catch (err) {
        writer.restoreTouched(paths);
        throw err;
      }
      await journal.removeSegments(upTo);
      this.completed += 1;
      this.filesSynced += paths.size;
      this.failures = 0;
      this.retryAt = 0;
      log.debug({ upToSegment: upTo, files: paths.size, ms: Date.now() - started }, 'journal checkpointed');
    } catch (err) {
      this.failures += 1;
      const pauseMs = Math.min(1_000 * 2 ** (this.failures - 1), MAX_RETRY_MS);
      this.retryAt = Date.now() + pauseMs;
      log.warn({ code: errnoCode(err), retryInMs: pauseMs }, 'journal checkpoint failed; its segments stay until the next one');
      throw err;
    } finally {
      this.running = false;
    }
  }
}
