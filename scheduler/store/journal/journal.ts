/**
 * The write-ahead journal beside the JSON files: `journal/<segment>.log`, append-only NDJSON.
 * Every execution record, logs record and execution delete handed to the store is appended here
 * first; a record is durable once the journal batch holding it is fdatasynced. That is what lets
 * the JSON files be written without an fsync each (see checkpoint.ts for when they are synced).
 *
 * Group commit: appends queue up while a batch is being written and synced; when it finishes,
 * everything queued is written with one write and one fdatasync. N concurrent durable accepts
 * cost about one fsync per batch instead of N. An append nobody waits for may also wait a few ms
 * for company when no batch is due (`lazyCommitMs`), so a trickle of changes does not pay one
 * fdatasync each.
 *
 * Each batch ends with a commit line, so a batch torn by a crash (or a failed write) is never
 * replayed, not even the entries of it that happen to be complete lines. After any failed write
 * or sync, the segment is cut back to its last good batch (when the file system allows) and
 * closed; the next batch goes to a new segment, so a segment never holds a good batch after a
 * broken one.
 *
 * It must never resolve an append before the fdatasync that covers it has succeeded, never
 * write to a segment after a failure in it, and never delete a segment (checkpoint.ts decides).
 */
import { dirname } from 'node:path';
import type { Logger } from '../../../common/logger.js';
import { syncDirectory } from '../files/atomic-write.js';
import { segmentNumber, type Layout } from '../files/layout.js';
import { datasync, errnoCode, type StoreFileHandle, type StoreFs } from '../files/store-fs.js';

/** What an entry carries; `rec` is the record's compact JSON, already serialised. */
export type JournalEntry = { t: 'exec'; rec: string } | { t: 'logs'; rec: string } | { t: 'del'; id: string };

export interface JournalOptions {
  layout: Layout;
  fs: StoreFs;
  log: Logger;
  /** A segment is closed (and becomes checkpointable) once it holds this many bytes. */
  segmentBytes: number;
  /** Told whenever a segment is closed, so a checkpoint can be started. */
  onSegmentClosed?: () => void;
  /**
   * How long an append nobody waits for (`urgent: false`) may wait for company before its batch
   * is written, in ms; 0 = at once. An urgent append takes every waiting entry along.
   */
  lazyCommitMs?: number;
}

interface Pending {
  seq: number;
  line: string;
  resolve: () => void;
  reject: (err: unknown) => void;
}

interface Segment {
  readonly n: number;
  readonly path: string;
  readonly handle: StoreFileHandle;
  readonly openedAt: number;
  /** Bytes of complete, synced batches. */
  bytes: number;
}

/** The line that closes a batch: every entry before it, up to seq `s`, was written together. */
export const commitLine = (seq: number): string => `{"t":"commit","s":${seq}}\n`;

export function entryLine(seq: number, entry: JournalEntry): string {
  // Concatenated, not stringified: `rec` is JSON already and may be large.
  if (entry.t === 'del') return `{"s":${seq},"t":"del","id":${JSON.stringify(entry.id)}}\n`;
  return `{"s":${seq},"t":"${entry.t}","rec":${entry.rec}}\n`;
}

const noop = (): void => undefined;

export class Journal {
  private readonly layout: Layout;
  private readonly fs: StoreFs;
  private readonly log: Logger;
  private readonly segmentBytes: number;
  private readonly onSegmentClosed: () => void;
  private seq = 0;
  private nextSegment = 1;
  private active: Segment | null = null;
  /** Closed segments not yet checkpointed, oldest first. */
  private readonly closed: number[] = [];
  private pending: Pending[] = [];
  private scheduled = false;
  private readonly lazyCommitMs: number;
  private lazyTimer: NodeJS.Timeout | null = null;
  /** Whether start() told us which segments exist; if not, the first segment looks for itself. */
  private started = false;
  /** Every write, sync, rotation and close of a segment runs on this chain, one at a time. */
  private chain: Promise<void> = Promise.resolve();
  /** Batches written and fdatasyncs performed, for tests and measurements. */
  batches = 0;

  constructor(opts: JournalOptions) {
    this.layout = opts.layout;
    this.fs = opts.fs;
    this.log = opts.log;
    this.segmentBytes = opts.segmentBytes;
    this.onSegmentClosed = opts.onSegmentClosed ?? noop;
    this.lazyCommitMs = opts.lazyCommitMs ?? 0;
  }

  /**
   * Called once at open(), after replay: the segments still on disk wait for a checkpoint, new
   * segments are numbered after them, and seqs continue after the last one replayed.
   */
  start(existing: readonly number[], lastSeq: number): void {
    this.started = true;
    this.closed.push(...[...existing].sort((a, b) => a - b));
    const last = this.closed[this.closed.length - 1];
    if (last !== undefined && last >= this.nextSegment) this.nextSegment = last + 1;
    this.seq = Math.max(this.seq, lastSeq);
  }

  /**
   * Appends an entry; resolves once it is durable, rejects if its batch could not be made so.
   * `urgent: false` (a change nobody waits for) lets it wait up to lazyCommitMs for others, so a
   * trickle of changes shares one fdatasync instead of paying one each.
   */
  append(entry: JournalEntry, urgent = true): Promise<void> {
    this.seq += 1;
    const line = entryLine(this.seq, entry);
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ seq: this.seq, line, resolve, reject });
      if (urgent || this.lazyCommitMs <= 0) this.schedule();
      else if (!this.scheduled && !this.lazyTimer) {
        this.lazyTimer = setTimeout(() => {
          this.lazyTimer = null;
          this.schedule();
        }, this.lazyCommitMs);
      }
    });
  }

  /**
   * Appends entries that are durable together or not at all: they are queued in one go, so they
   * land in one batch (one write, one fdatasync, one commit line) and a crash replays all of them
   * or none. Resolves once that batch is synced.
   */
  appendAll(entries: readonly JournalEntry[]): Promise<void> {
    const done = entries.map((entry) => {
      this.seq += 1;
      const seq = this.seq;
      const line = entryLine(seq, entry);
      return new Promise<void>((resolve, reject) => this.pending.push({ seq, line, resolve, reject }));
    });
    this.schedule();
    return Promise.all(done).then(noop);
  }

  /** Closes the active segment once every entry appended so far is written; it becomes checkpointable. */
  rotate(): Promise<void> {
    this.commitNow();
    return this.enqueue(() => this.closeActive());
  }

  /** Writes what lazy appends left waiting without waiting for their window (a flush, a close). */
  commitNow(): void {
    if (this.pending.length > 0) this.schedule();
  }

  /** Queues a batch of everything pending, behind the running one if any. */
  private schedule(): void {
    if (this.lazyTimer) {
      clearTimeout(this.lazyTimer);
      this.lazyTimer = null;
    }
    if (this.scheduled) return;
    this.scheduled = true;
    // Queued behind the running batch, if any: everything appended meanwhile joins this one.
    // A failure is logged by the chain (enqueue); nobody awaits this batch but its appenders.
    this.enqueue(() => this.writePending()).catch(() => undefined);
  }

  /** Closes the active segment's file. Appends made later open a new segment. */
  close(): Promise<void> {
    return this.rotate();
  }

  get closedSegments(): readonly number[] {
    return this.closed;
  }

  /** Bytes and age of the active segment (0 and 0 when there is none). */
  activeState(now: number): { bytes: number; ageMs: number } {
    return this.active ? { bytes: this.active.bytes, ageMs: now - this.active.openedAt } : { bytes: 0, ageMs: 0 };
  }

  /**
   * Deletes the closed segments numbered up to `upTo` and fsyncs the journal directory, so a
   * checkpointed segment cannot come back after a power loss and replay stale records over
   * newer files. Only the checkpoint may call this, once their files are durable.
   */
  async removeSegments(upTo: number): Promise<void> {
    const gone = this.closed.filter((n) => n <= upTo);
    for (const n of gone) {
      try {
        await this.fs.unlink(this.layout.segmentFile(n));
      } catch (err) {
        if (errnoCode(err) !== 'ENOENT') throw err;
      }
      this.closed.splice(this.closed.indexOf(n), 1);
    }
    if (gone.length > 0) await syncDirectory(this.layout.dir('journal'), this.fs);
  }

  private enqueue(step: () => Promise<void>): Promise<void> {
    const run = this.chain.then(step);
    // Steps handle their own errors; this only keeps one bug from stalling the chain for good.
    this.chain = run.catch((err: unknown) => this.log.error({ err }, 'journal step failed'));
    return run;
  }

  private async writePending(): Promise<void> {
    this.scheduled = false;
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0) return;
    const fail = (err: unknown): void => {
      for (const p of batch) p.reject(err);
    };

    let seg = this.active;
    if (!seg) {
      try {
        seg = await this.openSegment();
      } catch (err) {
        this.log.error({ code: errnoCode(err), entries: batch.length }, 'journal segment could not be created');
        fail(err);
        return;
      }
    }
    let text = '';
    for (const p of batch) text += p.line;
    text += commitLine(batch[batch.length - 1]?.seq ?? this.seq);
    const start = seg.bytes;
    try {
      await seg.handle.writeFile(text);
      await datasync(seg.handle);
    } catch (err) {
      this.log.error({ code: errnoCode(err), entries: batch.length, segment: seg.n }, 'journal write failed');
      fail(err);
      await this.abandon(seg, start);
      return;
    }
    this.batches += 1;
    seg.bytes += Buffer.byteLength(text);
    for (const p of batch) p.resolve();
    if (seg.bytes >= this.segmentBytes) await this.closeActive();
  }

  private async openSegment(): Promise<Segment> {
    if (!this.started) {
      // Used without open(): number new segments after whatever is there, so that replay
      // order stays append order.
      for (const name of await this.fs.readdir(this.layout.dir('journal'))) {
        const n = segmentNumber(name);
        if (n !== null && n >= this.nextSegment) this.nextSegment = n + 1;
      }
      this.started = true;
    }
    const n = this.nextSegment++;
    const path = this.layout.segmentFile(n);
    // 'ax': a segment is never appended to by two writers, nor reused after a failure.
    const handle = await this.fs.open(path, 'ax');
    try {
      // The new file's directory entry must be durable before any record in it is acknowledged.
      await syncDirectory(dirname(path), this.fs);
    } catch (err) {
      await handle.close().catch(noop);
      this.closed.push(n);
      throw err;
    }
    const seg: Segment = { n, path, handle, openedAt: Date.now(), bytes: 0 };
    this.active = seg;
    return seg;
  }

  /** After a failed write or sync: cut the segment back to its last good batch and close it. */
  private async abandon(seg: Segment, goodBytes: number): Promise<void> {
    this.active = null;
    if (seg.handle.truncate) {
      try {
        await seg.handle.truncate(goodBytes);
        await datasync(seg.handle);
      } catch (err) {
        // The commit line is missing whenever the write itself failed, so replay skips the batch
        // anyway; only a batch whose write succeeded but whose sync failed may still come back.
        this.log.warn({ code: errnoCode(err), segment: seg.n }, 'could not cut a failed batch off the journal');
      }
    }
    await seg.handle.close().catch(noop);
    this.closed.push(seg.n);
    this.onSegmentClosed();
  }

  private async closeActive(): Promise<void> {
    const seg = this.active;
    if (!seg) return;
    this.active = null;
    try {
      await seg.handle.close();
    } catch (err) {
      // Every batch in it was synced before it was acknowledged; a failed close loses nothing.
      this.log.warn({ code: errnoCode(err), segment: seg.n }, 'journal segment close failed');
    }
    this.closed.push(seg.n);
    this.onSegmentClosed();
  }
}
