import { describe, expect, it } from 'vitest';
import { backoffMs, isRetrySafe, isRetryableStatus, resolveRetryOptions, RETRY_DEFAULTS } from './retry.js';

describe('retry policy', () => {
  it('only reads and keyed invokes are safe to send twice', () => {
    expect(isRetrySafe('GET', {})).toBe(true);
    expect(isRetrySafe('HEAD', {})).toBe(true);
    expect(isRetrySafe('POST', { 'idempotency-key': 'k1' })).toBe(true);
    expect(isRetrySafe('POST', {})).toBe(false);
    expect(isRetrySafe('POST', { 'idempotency-key': '' })).toBe(false);
    expect(isRetrySafe('PUT', {})).toBe(false);
    expect(isRetrySafe('DELETE', {})).toBe(false);
    expect(isRetrySafe('DELETE', { 'idempotency-key': 'k1' })).toBe(false);
  });

  it('retries no answer and 503, nothing else', () => {
    expect(isRetryableStatus(0)).toBe(true);
    expect(isRetryableStatus(503)).toBe(true);
    for (const s of [400, 401, 404, 409, 429, 500, 502, 504]) expect(isRetryableStatus(s)).toBe(false);
  });

  it('waits with full jitter under an exponential ceiling that is capped', () => {
    const opts = resolveRetryOptions({ baseDelayMs: 100, maxDelayMs: 1000 });
    expect(backoffMs(1, opts, null, () => 0.999)).toBe(99);
    expect(backoffMs(2, opts, null, () => 0.999)).toBe(199);
    expect(backoffMs(3, opts, null, () => 0.5)).toBe(200);
    expect(backoffMs(10, opts, null, () => 0.999)).toBe(999);
    expect(backoffMs(3, opts, null, () => 0)).toBe(0);
  });

  it('honours retry-after, still within the cap', () => {
    const opts = resolveRetryOptions({ baseDelayMs: 100, maxDelayMs: 1000 });
    expect(backoffMs(1, opts, 500, () => 0)).toBe(500);
    expect(backoffMs(1, opts, 60_000, () => 0)).toBe(1000);
  });

  it('false turns retries off; bad values are refused by name', () => {
    expect(resolveRetryOptions(false).retries).toBe(0);
    expect(resolveRetryOptions(undefined)).toEqual(RETRY_DEFAULTS);
    expect(() => resolveRetryOptions({ retries: -1 })).toThrowError(/retries/);
  });
});
