import { describe, expect, it } from 'vitest';
import { DEFAULT_RETRY_POLICY, retryCeilingMs, retryDelayMs } from './retry-policy.js';

describe('retry policy', () => {
  const p = { baseMs: 1000, capMs: 5000 };
  it('doubles the ceiling per attempt up to the cap', () => {
    expect([2, 3, 4, 5, 6].map((n) => retryCeilingMs(p, n))).toEqual([1000, 2000, 4000, 5000, 5000]);
  });
  it('draws the delay uniformly under the ceiling (full jitter)', () => {
    expect(retryDelayMs(p, 3, () => 0)).toBe(0);
    expect(retryDelayMs(p, 3, () => 0.5)).toBe(1000);
    expect(retryDelayMs(p, 3, () => 0.999999)).toBe(2000);
  });
  it('documents its defaults', () => {
    expect(DEFAULT_RETRY_POLICY).toEqual({ baseMs: 1000, capMs: 60000 });
  });
});
