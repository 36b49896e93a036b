/**
 * Batches one execution's console lines so a chatty function costs one LogChunk per ~20 ms
 * instead of one message per line. `flush()` must run before the execution's Result is sent,
 * so the scheduler never sees logs after the end. It never drops lines; caps are the sandbox's job.
 */
import type { LogLine } from '../common/records.js';

export interface LogBatcherOptions {
  /** ms a line may wait for company before it is sent. */
  flushMs: number;
  emit: (lines: LogLine[], truncated: boolean, dropped: number) => void;
}

export class LogBatcher {
  readonly #flushMs: number;
  readonly #emit: (lines: LogLine[], truncated: boolean, dropped: number) => void;
  #lines: LogLine[] = [];
  #truncated = false;
  #dropped = 0;
  #timer: NodeJS.Timeout | null = null;
  #closed = false;

  constructor(opts: LogBatcherOptions) {
    this.#flushMs = opts.flushMs;
    this.#emit = opts.emit;
  }

  add(lines: LogLine[], truncated: boolean, dropped = 0): void {
    if (this.#closed) return;
    // Lines after a gap start a new batch, so the gap stays where it was.
    if (dropped > 0 && this.#lines.length > 0) this.flush();
    this.#dropped += dropped;
    this.#lines.push(...lines);
    this.#truncated ||= truncated;
    // The timer starts with the first buffered line, so no line waits longer than flushMs.
    if (!this.#timer && (this.#lines.length > 0 || this.#truncated)) {
      this.#timer = setTimeout(() => this.flush(), this.#flushMs);
      this.#timer.unref();
    }
  }

  flush(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    if (this.#lines.length === 0 && !this.#truncated) return;
    const lines = this.#lines;
    const truncated = this.#truncated;
    const dropped = this.#dropped;
    this.#lines = [];
    this.#truncated = false;
    this.#dropped = 0;
    this.#emit(lines, truncated, dropped);
  }

  /** Flushes what is buffered and ignores anything added later. */
  close(): void {
    this.flush();
    this.#closed = true;
  }
}
