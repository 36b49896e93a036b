import { describe, expect, it } from 'vitest';
import { OptionsError } from '../common/options-error.js';
import { Backoff, fullJitterDelay } from './backoff.js';

describe('fullJitterDelay', () => {
  it('is random() times the doubled window', () => {
    expect(fullJitterDelay(0, 100, 5000, () => 0.5)).toBe(50);
    expect(fullJitterDelay(1, 100, 5000, () => 0.5)).toBe(100);
    expect(fullJitterDelay(3, 100, 5000, () => 0.5)).toBe(400);
  });

  it('never exceeds the cap, even for huge attempts', () => {
    expect(fullJitterDelay(6, 100, 5000, () => 0.999999)).toBe(4999);
    expect(fullJitterDelay(10_000, 100, 5000, () => 0.999999)).toBe(4999);
  });

  it('can be zero (full jitter spreads over the whole window)', () => {
    expect(fullJitterDelay(4, 100, 5000, () => 0)).toBe(0);
  });
});

describe('Backoff', () => {
  it('widens the window each attempt until the cap', () => {
    const b = new Backoff({ baseMs: 100, capMs: 5000, random: () => 0.999999 });
    const delays = Array.from({ length: 9 }, () => b.next());
    expect(delays).toEqual([99, 199, 399, 799, 1599, 3199, 4999, 4999, 4999]);
    expect(b.attempt).toBe(9);
  });

  it('stays within [0, window] with real randomness', () => {
    const b = new Backoff({ baseMs: 100, capMs: 5000 });
    for (let i = 0; i < 50; i++) {
      const window = Math.min(5000, 100 * 2 ** i);
      const d = b.next();
      expect(d).toBeGreaterThanOrEqual(0);
      expect(d).toBeLessThanOrEqual(window);
    }
  });

  it('applies the injected jitter', () => {
    const values = [0.1, 0.9, 0.25];
    const b = new Backoff({ baseMs: 100, capMs: 5000, random: () => values.shift()! });
    expect([b.next(), b.next(), b.next()]).toEqual([10, 180, 100]);
  });

  it('starts over from the base after reset()', () => {
    const b = new Backoff({ baseMs: 100, capMs: 5000, random: () => 0.5 });
    b.next();
    b.next();
    b.next();
    b.reset();
    expect(b.attempt).toBe(0);
    expect(b.next()).toBe(50);
  });

  it('rejects a cap below the base', () => {
    expect(() => new Backoff({ baseMs: 100, capMs: 50 })).toThrow(OptionsError);
    expect(() => new Backoff({ baseMs: 100, capMs: 50 })).toThrow(expect.objectContaining({ code: 'ERR_TASKFORGE_OPTION', option: 'capMs' }));
    expect(() => new Backoff({ baseMs: 0, capMs: 50 })).toThrow(OptionsError);
    expect(() => new Backoff({ baseMs: 0, capMs: 50 })).toThrow(expect.objectContaining({ code: 'ERR_TASKFORGE_OPTION', option: 'baseMs' }));
  });
});
