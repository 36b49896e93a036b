/**
 * Batches one execution's console lines so a chatty function costs one LogChunk per ~20 ms
 * instead of one message per line. `flush()` must run before the execution's Result is sent,
 * so the scheduler never sees logs after the end. It never drops lines; caps are the sandbox's job.
 */
import type { LogLine } from '../common/records.js';

export interface LogBatcherOptions {
  /** ms a line may wait for company before it is sent. */
  flushMs: number;
  emit: (lines: LogLine[], truncated: boolean) => void;
}

export class LogBatcher {
  readonly #flushMs: number;
  readonly #emit: (lines: LogLine[], truncated: boolean) => void;
  #lines: LogLine[] = [];
  #truncated = false;
  #timer: NodeJS.Timeout | null = null;
  #closed = false;

  constructor(opts: LogBatcherOptions) {
    this.#flushMs = opts.flushMs;
    this.#emit = opts.emit;
  }

  add(lines: LogLine[], truncated: boolean): void {
    if (this.#closed) return;
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
    this.#lines = [];
    this.#truncated = false;
    this.#emit(lines, truncated);
  }

  /** Flushes what is buffered and ignores anything added later. */
  close(): void {
    this.flush();
    this.#closed = true;
  }
}
