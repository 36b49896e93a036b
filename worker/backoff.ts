/**
 * Capped exponential backoff with full jitter, for reconnecting to the scheduler.
 * delay(n) = random() * min(cap, base * 2^n): spreading reconnects over the whole window keeps a
 * fleet of workers from stampeding a scheduler that just came back.
 * It only computes delays; it never sleeps or schedules anything itself.
 */
import { OptionsError } from '../common/options-error.js';

export interface BackoffOptions {
  /** First window, ms. */
  baseMs: number;
  /** Largest window, ms. */
  capMs: number;
  /** Returns a number in [0, 1); injectable so tests can pin the jitter. */
  random?: () => number;
}

/** The full-jitter delay for a given attempt (0-based): uniform in [0, min(cap, base * 2^attempt)]. */
export function fullJitterDelay(attempt: number, baseMs: number, capMs: number, random: () => number = Math.random): number {
  // 2^attempt overflows to Infinity for huge attempts; min() with the cap keeps it finite.
  const window = Math.min(capMs, baseMs * 2 ** Math.max(0, attempt));
  const r = Math.min(Math.max(random(), 0), 1);
  return Math.floor(r * window);
}

export class Backoff {
  readonly #baseMs: number;
  readonly #capMs: number;
  readonly #random: () => number;
  #attempt = 0;

  constructor(opts: BackoffOptions) {
    if (!(opts.baseMs > 0) || !(opts.capMs >= opts.baseMs)) {
      throw new OptionsError(opts.baseMs > 0 ? 'capMs' : 'baseMs', `backoff needs 0 < baseMs <= capMs (got baseMs=${opts.baseMs}, capMs=${opts.capMs})`);
    }
    this.#baseMs = opts.baseMs;
    this.#capMs = opts.capMs;
    this.#random = opts.random ?? Math.random;
  }

  /** Failed attempts since the last reset. */
  get attempt(): number {
    return this.#attempt;
  }

  /** The delay before the next attempt; each call widens the window until the cap. */
  next(): number {
    const delay = fullJitterDelay(this.#attempt, this.#baseMs, this.#capMs, this.#random);
    this.#attempt += 1;
    return delay;
  }

  /** Called after a successful handshake, so the next outage starts from the base again. */
  reset(): void {
    this.#attempt = 0;
  }
}
