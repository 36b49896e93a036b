/**
 * Batched file writes for journaled records: whole files replaced atomically (temp file, rename;
 * no fsync, the journal holds the record), many per hand-off.
 *
 * Why: written one at a time through `fs/promises`, a file costs four thread-pool round trips
 * (open, write, close, rename), each waiting for a turn of the scheduler's event loop. Under load
 * a turn takes milliseconds, so files fell behind by thousands per second (measured: ~250 files/s
 * written during a c=50 sync load of ~2,000 executions/s; the backlog and the scheduler's memory
 * grew until the load stopped). The threaded writer does the same system calls in a worker thread,
 * one message per batch, so the event loop's speed no longer bounds the disk's.
 *
 * A batch reports one outcome per file; a failed file never fails the others. A failure leaves
 * no temp file behind and the target untouched (atomic-write.ts states the same contract).
 */
import { Worker } from 'node:worker_threads';
import { TEMP_PREFIX, TEMP_SUFFIX, writeFileAtomic } from './atomic-write.js';
import { mapLimited } from './limiter.js';
import type { StoreFs } from './store-fs.js';
import type { WriteReply, WriteRequest, WriterThreadData } from './writer-thread.js';

export interface FileWrite {
  path: string;
  data: string;
}

/** Writes every file; one entry per write, in order: null when written, else the error. */
export type WriteFiles = (writes: FileWrite[]) => Promise<(NodeJS.ErrnoException | null)[]>;

export interface FileBatchWriter {
  readonly writeFiles: WriteFiles;
  /** Releases what the writer holds (its thread). Writes handed over later fail. */
  close(): Promise<void>;
}

/** Largest batch handed over at once, so one file never waits behind too many others. */
export const MAX_BATCH = 512;

/** One write at a time per file through `fs` (tests put a fault-injecting fs there). */
export function inProcessFileWriter(fs: StoreFs, concurrency: number): FileBatchWriter {
  return {
    writeFiles: (writes) =>
      mapLimited(writes, concurrency, (w) =>
        writeFileAtomic(w.path, w.data, { fsync: false, fs }).then(
          () => null,
          (err: unknown) => asErrno(err),
        ),
      ),
    close: () => Promise.resolve(),
  };
}

/**
 * The thread's module, beside this one: the compiled writer-thread.js when this runs from dist/,
 * the writer-thread.ts source (run with Node's type stripping) when this runs from sources, as
 * in the tests. Both are the same program; nothing else is ever run in the thread.
 */
export const WRITER_THREAD_URL = new URL(new URL(import.meta.url).pathname.endsWith('.ts') ? './writer-thread.ts' : './writer-thread.js', import.meta.url);

/**
 * Writes in one worker thread, started on first use. The thread keeps the process alive only
 * while a batch is in flight. If it dies, the batches in flight fail (the record writer retries
 * them) and the next batch starts a new thread. `thread` replaces the thread's module (tests).
 */
export function threadedFileWriter(opts: { thread?: URL } = {}): FileBatchWriter {
  const thread = opts.thread ?? WRITER_THREAD_URL;
  const workerData: WriterThreadData = { tempPrefix: TEMP_PREFIX, tempSuffix: TEMP_SUFFIX };
  let worker: Worker | null = null;
  let closed = false;
  let nextId = 1;
  const waiting = new Map<number, { resolve: (r: WriteReply['errors']) => void; reject: (e: Error) => void }>();

  const fail = (err: Error): void => {
    for (const w of waiting.values()) w.reject(err);
    waiting.clear();
  };
  const start = (): Worker => {
    const w = new Worker(thread, { workerData });
    w.on('message', (reply: WriteReply) => {
      const p = waiting.get(reply.id);
      if (!p) return;
      waiting.delete(reply.id);
      if (waiting.size === 0) w.unref();
      p.resolve(reply.errors);
    });
    const gone = (err: Error): void => {
      if (worker !== w) return;
      worker = null;
      fail(err);
    };
    w.on('error', gone);
    w.on('exit', (code) => gone(new Error(`file writer thread exited (${code})`)));
    w.unref();
    return w;
  };

  return {
    async writeFiles(writes) {
      if (closed) throw new Error('file writer closed');
      if (writes.length === 0) return [];
      const w = (worker ??= start());
      const id = nextId++;
      const errors = await new Promise<WriteReply['errors']>((resolve, reject) => {
        waiting.set(id, { resolve, reject });
        w.ref();
        const request: WriteRequest = { id, writes };
        w.postMessage(request);
      });
      return errors.map((e, i) => (e ? errnoError(e.code, e.message, writes[i]!.path) : null));
    },
    async close() {
      closed = true;
      const w = worker;
      worker = null;
      fail(new Error('file writer closed'));
      if (w) await w.terminate();
    },
  };
}

/**
 * Gathers the writes handed over in one turn of the event loop into batches: at most one batch
 * in flight, the next one taking everything that arrived meanwhile (up to MAX_BATCH).
 */
export class FileBatcher {
  private queue: { write: FileWrite; resolve: () => void; reject: (e: unknown) => void }[] = [];
  private busy = false;
  private scheduled = false;

  constructor(private readonly writer: FileBatchWriter) {}

  write(path: string, data: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ write: { path, data }, resolve, reject });
      this.kick();
    });
  }

  private kick(): void {
    if (this.busy || this.scheduled || this.queue.length === 0) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.send();
    });
  }

  private async send(): Promise<void> {
    if (this.busy || this.queue.length === 0) return;
    this.busy = true;
    const batch = this.queue.splice(0, MAX_BATCH);
    try {
      const outcomes = await this.writer.writeFiles(batch.map((b) => b.write));
      batch.forEach((b, i) => {
        const err = outcomes[i];
        if (err) b.reject(err);
        else b.resolve();
      });
    } catch (err) {
      for (const b of batch) b.reject(err);
    } finally {
      this.busy = false;
      this.kick();
    }
  }
}

function errnoError(code: string, message: string, path: string): NodeJS.ErrnoException {
  const err: NodeJS.ErrnoException = new Error(message);
  err.code = code;
  err.path = path;
  return err;
}

function asErrno(err: unknown): NodeJS.ErrnoException {
  return err instanceof Error ? err : errnoError('EUNKNOWN', String(err), '');
}
