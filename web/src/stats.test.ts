import { describe, expect, it } from 'vitest';
import { Series, percentile, summarize } from './stats.js';

describe('percentile', () => {
  it('is the nearest rank, and null for no values', () => {
    const v = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(percentile(v, 50)).toBe(50);
    expect(percentile(v, 99)).toBe(99);
    expect(percentile(v, 100)).toBe(100);
    expect(percentile(v, 0)).toBe(1);
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([], 50)).toBeNull();
  });
});

describe('summarize', () => {
  it('counts finished executions only, with their success rate, latencies and triggers', () => {
    const s = summarize([
      { status: 'succeeded', durationMs: 10, mode: 'sync' },
      { status: 'succeeded', durationMs: 30, mode: 'async' },
      { status: 'failed', durationMs: 20, mode: 'async' },
      { status: 'cancelled', durationMs: null, mode: 'async' },
      { status: 'running', durationMs: null, mode: 'async' },
    ]);
    expect(s).toEqual({ finished: 4, successRate: 0.5, p50: 20, p99: 30, modes: { sync: 1, async: 4 } });
  });

  it('has no rate and no latency before anything finished', () => {
    expect(summarize([{ status: 'queued', durationMs: null, mode: 'async' }])).toMatchObject({ finished: 0, successRate: null, p50: null, p99: null });
  });
});

describe('Series', () => {
  it('buckets finished executions into windows: rate per second and p50/p99, empty windows 0 and no latency', () => {
    const s = new Series(5000, 3);
    const t0 = 1_000_000_000_000;
    s.add(t0 + 100, 10);
    s.add(t0 + 200, 30);
    s.add(t0 + 5100, null);
    const [t, rate, p50, p99] = s.data(t0 + 10_000);
    expect(t).toEqual([t0 / 1000, t0 / 1000 + 5, t0 / 1000 + 10]);
    expect(rate).toEqual([0.4, 0.2, 0]);
    expect(p50).toEqual([10, null, null]);
    expect(p99).toEqual([30, null, null]);
  });

  it('forgets windows older than it keeps', () => {
    const s = new Series(1000, 2);
    s.add(0, 5);
    expect(s.data(10_000)[1]).toEqual([0, 0]);
    expect(s.data(1000)[1]).toEqual([0, 0]);
  });
});
