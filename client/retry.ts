/**
 * When the client sends a request again, and after how long. Only requests that cannot do a
 * thing twice are retried: reads (GET, HEAD) and invokes that carry an idempotency key (the API
 * answers a repeat with the first execution). A plain invoke, a cancel, a delete, a deploy or a
 * key change is sent once, whatever happens: a lost answer does not mean a lost request.
 *
 * Retried on: no answer at all (connection refused or reset, DNS) and 503 (the gateway cannot
 * reach the scheduler, or cannot store). Never on another status: a 4xx will not change, a 500
 * is a bug, a 429 is the caller's pace to fix. Waits grow exponentially up to a cap, with full
 * jitter, and honour a `retry-after` (still within the cap).
 */

export interface RetryOptions {
  /** Further attempts after the first. */
  retries?: number;
  /** ms: the first wait's upper bound; doubled at each attempt. */
  baseDelayMs?: number;
  /** ms: no wait is longer. */
  maxDelayMs?: number;
}

export const RETRY_DEFAULTS = Object.freeze({
  retries: 3,
  /** ms */
  baseDelayMs: 200,
  /** ms */
  maxDelayMs: 3_000,
});

export type ResolvedRetryOptions = Readonly<Required<RetryOptions>>;

export function resolveRetryOptions(opts: RetryOptions | false | undefined): ResolvedRetryOptions {
  if (opts === false) return Object.freeze({ ...RETRY_DEFAULTS, retries: 0 });
  const out = { ...RETRY_DEFAULTS, ...opts };
  for (const [k, v] of Object.entries(out)) {
    if (!Number.isSafeInteger(v) || v < 0) throw new TypeError(`retry option ${k} must be a non-negative integer, got ${String(v)}`);
  }
  return Object.freeze(out);
}

/** Whether a request may be sent twice without doing its work twice. */
export function isRetrySafe(method: string, headers: Record<string, string>): boolean {
  const m = method.toUpperCase();
  if (m === 'GET' || m === 'HEAD') return true;
  return m === 'POST' && typeof headers['idempotency-key'] === 'string' && headers['idempotency-key'] !== '';
}

/** Whether this outcome is worth another attempt: no answer (status 0), or 503. */
export const isRetryableStatus = (status: number): boolean => status === 0 || status === 503;

/** ms to wait before retry number `attempt` (1 = the first retry): full jitter under a capped exponential. */
export function backoffMs(attempt: number, opts: ResolvedRetryOptions, retryAfterMs: number | null = null, random: () => number = Math.random): number {
  const ceiling = Math.min(opts.maxDelayMs, opts.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  const jittered = Math.floor(random() * ceiling);
  return retryAfterMs === null ? jittered : Math.min(opts.maxDelayMs, Math.max(jittered, retryAfterMs));
}

export const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(t);
      reject(signal!.reason as Error);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
