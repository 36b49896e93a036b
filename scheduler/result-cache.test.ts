import { describe, expect, it } from 'vitest';
import { ResultCache } from './result-cache.js';

describe('ResultCache', () => {
  it('answers within the TTL and forgets after it', () => {
    let now = 0;
    const cache = new ResultCache(1024, () => now);
    const key = ResultCache.key('f', 1, 'd');
    cache.set(key, { v: 1 }, 'ex_1', 1000);
    now = 999;
    expect(cache.get(key)).toEqual({ output: { v: 1 }, executionId: 'ex_1' });
    now = 1000;
    expect(cache.get(key)).toBeUndefined();
    expect(cache.size).toBe(0);
    expect(cache.bytes).toBe(0);
  });

  it('keys by function, version and input digest', () => {
    const cache = new ResultCache();
    cache.set(ResultCache.key('f', 1, 'd'), 'one', 'ex_1', 1000);
    expect(cache.get(ResultCache.key('f', 2, 'd'))).toBeUndefined();
    expect(cache.get(ResultCache.key('f', 1, 'e'))).toBeUndefined();
    expect(cache.get(ResultCache.key('g', 1, 'd'))).toBeUndefined();
  });

  it('evicts the least recently used past its byte budget, and keeps nothing larger than the budget', () => {
    const cache = new ResultCache(150, () => 0); // two of the outputs below fit, three do not
    const k = (n: number): string => ResultCache.key('f', 1, String(n));
    cache.set(k(1), 'x'.repeat(50), 'a', 1000);
    cache.set(k(2), 'x'.repeat(50), 'b', 1000);
    cache.get(k(1)); // 1 is now the most recent
    cache.set(k(3), 'x'.repeat(50), 'c', 1000);
    expect(cache.get(k(2))).toBeUndefined();
    expect(cache.get(k(1))).toBeDefined();
    expect(cache.get(k(3))).toBeDefined();
    expect(cache.bytes).toBeLessThanOrEqual(150);
    cache.set(k(4), 'x'.repeat(500), 'd', 1000);
    expect(cache.get(k(4))).toBeUndefined();
  });
});
