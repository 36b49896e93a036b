/**
 * One dispatched execution on this worker: its AbortController, the pool.run call, log batching,
 * and the outbox of messages (Started, LogChunk, Result — all echoing the Execute's lease) that
 * could not be sent yet because no welcomed stream was open.
 * It never talks to gRPC itself (the agent's `send` does), never sends anything once killed, and
 * reports a shutdown abort as WORKER_LOST so the scheduler re-queues rather than cancels.
 */
import { markHop } from '../common/diagnostics.js';
import type { Logger } from '../common/logger.js';
import type { Execute, WorkerMessage } from '../proto/gen/taskforge/v1/worker.js';
import { LogBatcher } from './log-batcher.js';
import { AGENT_ERROR, failureOutcome, logChunkMessage, resultMessage, startedMessage, toSandboxFunction } from './messages.js';
import type { AbortReason, RunOutcome, SandboxPool } from './sandbox/types.js';

export interface ExecutionRunOptions {
  execute: Execute;
  /** The function's code, already resolved through the stream's code cache. */
  code: string;
  pool: SandboxPool;
  logFlushMs: number;
  /** ms a run must still be going before Started is sent; 0 = at once. */
  startedReportDelayMs: number;
  logger: Logger;
  /** Writes to the current welcomed stream; false when there is none (the message is kept). */
  send: (msg: WorkerMessage) => boolean;
  /** Called once the run has ended and its Result was sent or kept. */
  onFinished: (run: ExecutionRun) => void;
}

export class ExecutionRun {
  readonly executionId: string;
  readonly lease: string;
  readonly #opts: ExecutionRunOptions;
  readonly #controller = new AbortController();
  readonly #batcher: LogBatcher;
  readonly #log: Logger;
  #outbox: WorkerMessage[] = [];
  #killed = false;
  #abortReason: AbortReason | null = null;
  #started = false;
  #startedTimer: NodeJS.Timeout | null = null;
  #done: Promise<void> = Promise.resolve();

  constructor(opts: ExecutionRunOptions) {
    this.#opts = opts;
    this.executionId = opts.execute.executionId;
    this.lease = opts.execute.lease;
    this.#log = opts.logger.child({ executionId: this.executionId, lease: this.lease });
    this.#batcher = new LogBatcher({
      flushMs: opts.logFlushMs,
      emit: (lines, truncated, dropped) => this.#deliver(logChunkMessage(this.executionId, this.lease, lines, truncated, dropped)),
    });
  }

  /** True once the scheduler declared this run's lease dead: nothing more is sent for it. */
  get killed(): boolean {
    return this.#killed;
  }

  /** Settles when the run has finished and onFinished has been called. */
  get done(): Promise<void> {
    return this.#done;
  }

  start(): void {
    if (this.#started) throw new Error(`execution ${this.executionId} already started`);
    this.#started = true;
    this.#done = this.#run();
  }

  abort(reason: AbortReason): void {
    if (this.#controller.signal.aborted) return;
    this.#abortReason = reason;
    this.#controller.abort(reason);
  }

  /** Aborts the run and discards everything it would still send. */
  kill(): void {
    this.#killed = true;
    this.#outbox = [];
    this.abort('cancel');
  }

  /** Sends what waited for a stream, in order (called right after a Welcome). */
  flushOutbox(write: (msg: WorkerMessage) => boolean): void {
    const queued = this.#outbox;
    this.#outbox = [];
    for (const msg of queued) if (!write(msg)) this.#outbox.push(msg);
  }

  /** Hands over the unsent messages of a finished run (the agent keeps them as pending). */
  takeOutbox(): WorkerMessage[] {
    const queued = this.#outbox;
    this.#outbox = [];
    return queued;
  }

  async #run(): Promise<void> {
    const ex = this.#opts.execute;
    const fn = toSandboxFunction(ex.function!, this.#opts.code);
    let outcome: RunOutcome;
    try {
      outcome = await this.#opts.pool.run({
        executionId: ex.executionId,
        fn,
        inputJson: ex.inputJson,
        attempt: ex.attempt,
        // An Execute without a deadline still must not run forever: fall back to the function timeout.
        deadlineMs: ex.deadlineMs > 0 ? ex.deadlineMs : Date.now() + fn.timeoutMs,
        signal: this.#controller.signal,
        onStarted: (info) => {
          this.#log.debug({ coldStart: info.coldStart, initMs: info.initMs }, 'started');
          const send = (): void => {
            this.#startedTimer = null;
            this.#deliver(startedMessage(this.executionId, this.lease, info));
          };
          const delay = this.#opts.startedReportDelayMs;
          if (delay <= 0) send();
          else {
            // A run that ends sooner reports everything in its Result.
            this.#startedTimer = setTimeout(send, delay);
            this.#startedTimer.unref();
          }
        },
        onLog: (lines, truncated, dropped) => this.#batcher.add(lines, truncated, dropped),
      });
    } catch (err) {
      this.#log.error({ err }, 'sandbox pool failed the run');
      const message = err instanceof Error ? err.message : String(err);
      outcome = failureOutcome({ code: AGENT_ERROR.sandboxCrash, message });
    }
    if (this.#abortReason === 'shutdown' && !outcome.ok) {
      outcome = { ...outcome, ok: false, error: { code: AGENT_ERROR.workerLost, message: 'worker shutting down' } };
    }
    if (this.#startedTimer) {
      clearTimeout(this.#startedTimer);
      this.#startedTimer = null;
    }
    // Logs always precede the Result on the wire.
    this.#batcher.close();
    if (this.#killed) {
      this.#log.info({}, 'finished after kill; result dropped');
    } else {
      this.#log.debug({ ok: outcome.ok, code: outcome.ok ? undefined : outcome.error.code, durationMs: outcome.durationMs }, 'finished');
      markHop('W4 worker result write');
      this.#deliver(resultMessage(this.executionId, this.lease, outcome));
    }
    this.#opts.onFinished(this);
  }

  #deliver(msg: WorkerMessage): void {
    if (this.#killed) return;
    // Once anything waits in the outbox, later messages queue behind it to keep the order.
    if (this.#outbox.length === 0 && this.#opts.send(msg)) return;
    this.#outbox.push(msg);
  }
}
