/**
 * Delivery retry delays: exponential with "equal jitter" — after attempt n the wait is between
 * half and all of min(cap, base · 2^(n−1)), so receivers that failed together do not all come
 * back at the same moment, and a retry never comes at once.
 */
export interface DeliveryRetryPolicy {
  baseMs: number;
  capMs: number;
  maxAttempts: number;
}

/** The wait after attempt `attempt` (1-based) failed; `jitter` in [0, 1). */
export function deliveryBackoffMs(attempt: number, jitter: number, policy: Pick<DeliveryRetryPolicy, 'baseMs' | 'capMs'>): number {
  const exp = Math.min(policy.capMs, policy.baseMs * 2 ** Math.max(0, attempt - 1));
  const j = Math.min(Math.max(jitter, 0), 1);
  return Math.round(exp / 2 + (exp / 2) * j);
}
