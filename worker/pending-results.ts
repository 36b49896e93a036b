/**
 * Messages of finished executions that found no welcomed stream (a Result, and any Started or
 * LogChunk queued before it), kept for the next stream in arrival order. Bounded: past `max`, the
 * oldest entry is dropped (the scheduler then retries that execution as lost).
 * It never sends anything itself and never keeps a killed execution.
 */
import type { Logger } from '../common/logger.js';
import type { HeldExecution, WorkerMessage } from '../proto/gen/taskforge/v1/worker.js';

export class PendingResults {
  readonly #max: number;
  readonly #log: Logger;
  readonly #entries = new Map<string, { lease: string; messages: WorkerMessage[] }>();

  constructor(max: number, log: Logger) {
    this.#max = max;
    this.#log = log;
  }

  get size(): number {
    return this.#entries.size;
  }

  add(executionId: string, lease: string, messages: WorkerMessage[]): void {
    if (messages.length === 0) return;
    // Re-adding moves the entry to the back: the newest lease for an id wins.
    this.#entries.delete(executionId);
    this.#entries.set(executionId, { lease, messages });
    while (this.#entries.size > this.#max) {
      const oldest = this.#entries.keys().next().value as string;
      this.#entries.delete(oldest);
      this.#log.warn({ executionId: oldest, max: this.#max }, 'undelivered result dropped: too many pending');
    }
  }

  /** Forgets an execution (the scheduler killed it); true when something was dropped. */
  delete(executionId: string): boolean {
    return this.#entries.delete(executionId);
  }

  /** What the next Hello announces as held, so the scheduler can still kill it. */
  held(): HeldExecution[] {
    return [...this.#entries].map(([executionId, p]) => ({ executionId, lease: p.lease }));
  }

  /** Hands every kept message to `write`, oldest execution first, and forgets them. */
  flush(write: (msg: WorkerMessage) => void): number {
    const n = this.#entries.size;
    for (const { messages } of this.#entries.values()) for (const msg of messages) write(msg);
    this.#entries.clear();
    return n;
  }
}
