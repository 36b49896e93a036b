/**
 * The deadline and the abort signal of one run. Whichever fires first decides the run's error
 * (TIMEOUT, CANCELLED, or WORKER_LOST for a shutdown) and tells the pool to kill the process;
 * the exit that follows is then not mistaken for a crash. It never touches a process itself.
 */
import type { ExecutionErrorCode } from '../../common/records.js';
import type { KillReason } from './process-sandbox.js';
import type { RunError } from './types.js';

/** setTimeout fires at once for delays above this; a later deadline is re-armed. */
const MAX_TIMER_MS = 2 ** 31 - 1;

const ABORT_CODES: ReadonlySet<string> = new Set<ExecutionErrorCode>(['CANCELLED', 'WORKER_LOST', 'EXPIRED', 'FUNCTION_DELETED']);

export interface RunGuardOptions {
  deadlineMs: number;
  /** The function's configured timeout, for the message. */
  timeoutMs: number;
  signal?: AbortSignal;
}

export class RunGuard {
  /** Set once the deadline passed or the signal aborted. */
  error: RunError | null = null;
  killReason: KillReason = 'timeout';
  /** Resolves when the guard fires; never rejects. */
  readonly fired: Promise<void>;

  #resolveFired!: () => void;
  #onFire: (() => void) | null = null;
  #timer: NodeJS.Timeout | undefined;
  #signal: AbortSignal | undefined;
  #onAbort = (): void => this.#fire(abortError(this.#signal?.reason), 'cancelled');

  constructor(private readonly opts: RunGuardOptions) {
    this.fired = new Promise((resolve) => (this.#resolveFired = resolve));
    this.#signal = opts.signal;
    if (opts.signal?.aborted) this.#onAbort();
    else opts.signal?.addEventListener('abort', this.#onAbort, { once: true });
    if (!this.error) this.#arm();
  }

  /** Runs `kill` when the guard fires, or now if it already has. */
  onFire(kill: () => void): void {
    if (this.error) kill();
    else this.#onFire = kill;
  }

  dispose(): void {
    clearTimeout(this.#timer);
    this.#signal?.removeEventListener('abort', this.#onAbort);
    this.#onFire = null;
  }

  #arm(): void {
    const delay = this.opts.deadlineMs - Date.now();
    if (delay <= 0) {
      this.#fire({ code: 'TIMEOUT', message: `timed out after ${this.opts.timeoutMs} ms` }, 'timeout');
      return;
    }
    this.#timer = setTimeout(() => this.#arm(), Math.min(delay, MAX_TIMER_MS));
  }

  #fire(error: RunError, reason: KillReason): void {
    if (this.error) return;
    this.error = error;
    this.killReason = reason;
    clearTimeout(this.#timer);
    this.#resolveFired();
    const kill = this.#onFire;
    this.#onFire = null;
    kill?.();
  }
}

function abortError(reason: unknown): RunError {
  if (reason === 'shutdown') return { code: 'WORKER_LOST', message: 'the worker is shutting down' };
  const code = typeof reason === 'object' && reason !== null ? (reason as { code?: unknown }).code : undefined;
  if (typeof code === 'string' && ABORT_CODES.has(code)) {
    const message = (reason as { message?: unknown }).message;
    return { code: code as ExecutionErrorCode, message: typeof message === 'string' ? message : 'the execution was aborted' };
  }
  return { code: 'CANCELLED', message: 'the execution was cancelled' };
}
