/**
 * How long an async execution waits before its next attempt: exponential backoff with full
 * jitter — a uniformly random delay in [0, min(cap, base · 2^(attempt−1))] — so that many
 * executions failing together do not retry in lockstep.
 */
export interface RetryPolicy {
  baseMs: number;
  capMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = Object.freeze({
  /** Ceiling of the first retry's delay. */
  baseMs: 1_000,
  /** No retry waits longer than this. */
  capMs: 60_000,
});

/** Delay before attempt `nextAttempt` (≥ 2). */
export function retryDelayMs(policy: RetryPolicy, nextAttempt: number, random: () => number = Math.random): number {
  const exp = Math.min(policy.capMs, policy.baseMs * 2 ** Math.max(0, nextAttempt - 2));
  return Math.floor(random() * (exp + 1));
}

/** The upper bound of that delay (what the jitter is drawn under). */
export function retryCeilingMs(policy: RetryPolicy, nextAttempt: number): number {
  return Math.min(policy.capMs, policy.baseMs * 2 ** Math.max(0, nextAttempt - 2));
}
