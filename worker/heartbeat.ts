/**
 * The worker's periodic heartbeat: a timer that calls `send(seq)` every interval, with a sequence
 * number that only ever grows (also across reconnects, so the scheduler can drop stale beats).
 * It never builds or writes messages itself and never keeps the process alive (timers are unref'd).
 */
import { OptionsError } from '../common/options-error.js';

export interface HeartbeatOptions {
  /** ms between beats. */
  intervalMs: number;
  /** Writes one heartbeat; a throw is reported to onError and the timer keeps running. */
  send: (seq: number) => void;
  onError?: (err: unknown) => void;
}

export class Heartbeat {
  #intervalMs: number;
  readonly #send: (seq: number) => void;
  readonly #onError: (err: unknown) => void;
  #timer: NodeJS.Timeout | null = null;
  #seq = 0;

  constructor(opts: HeartbeatOptions) {
    assertInterval(opts.intervalMs);
    this.#intervalMs = opts.intervalMs;
    this.#send = opts.send;
    this.#onError = opts.onError ?? (() => {});
  }

  get intervalMs(): number {
    return this.#intervalMs;
  }

  get running(): boolean {
    return this.#timer !== null;
  }

  /** The seq of the last beat sent (0 before the first). */
  get seq(): number {
    return this.#seq;
  }

  /** Starts beating every interval; the first beat goes out one interval from now. Idempotent. */
  start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => this.beat(), this.#intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }

  /** Changes the interval (the scheduler's Welcome decides it); restarts the timer if running. */
  setIntervalMs(ms: number): void {
    assertInterval(ms);
    this.#intervalMs = ms;
    if (this.#timer) {
      this.stop();
      this.start();
    }
  }

  /** Sends one beat now, outside the schedule (e.g. the moment draining starts). */
  beat(): void {
    this.#seq += 1;
    try {
      this.#send(this.#seq);
    } catch (err) {
      this.#onError(err);
    }
  }
}

function assertInterval(ms: number): void {
  if (!Number.isFinite(ms) || ms <= 0) throw new OptionsError('intervalMs', `heartbeat interval must be a positive number of ms (got ${ms})`);
}
