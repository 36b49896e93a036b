import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { OptionsError } from '../common/options-error.js';
import { Heartbeat } from './heartbeat.js';

describe('Heartbeat', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('sends every interval with a growing seq, starting one interval after start()', async () => {
    const seqs: number[] = [];
    const hb = new Heartbeat({ intervalMs: 1000, send: (seq) => seqs.push(seq) });
    hb.start();
    await vi.advanceTimersByTimeAsync(999);
    expect(seqs).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(seqs).toEqual([1]);
    await vi.advanceTimersByTimeAsync(2000);
    expect(seqs).toEqual([1, 2, 3]);
    hb.stop();
  });

  it('stops sending after stop() and resumes the seq after start()', async () => {
    const seqs: number[] = [];
    const hb = new Heartbeat({ intervalMs: 500, send: (seq) => seqs.push(seq) });
    hb.start();
    await vi.advanceTimersByTimeAsync(1000);
    hb.stop();
    expect(hb.running).toBe(false);
    await vi.advanceTimersByTimeAsync(5000);
    expect(seqs).toEqual([1, 2]);
    hb.start();
    await vi.advanceTimersByTimeAsync(500);
    expect(seqs).toEqual([1, 2, 3]);
    hb.stop();
  });

  it('takes a new interval from setIntervalMs while running', async () => {
    const times: number[] = [];
    const hb = new Heartbeat({ intervalMs: 1000, send: () => times.push(Date.now()) });
    const t0 = Date.now();
    hb.start();
    hb.setIntervalMs(250);
    await vi.advanceTimersByTimeAsync(1000);
    expect(times.map((t) => t - t0)).toEqual([250, 500, 750, 1000]);
    expect(hb.intervalMs).toBe(250);
    hb.stop();
  });

  it('beat() sends at once, outside the schedule', () => {
    const seqs: number[] = [];
    const hb = new Heartbeat({ intervalMs: 1000, send: (seq) => seqs.push(seq) });
    hb.beat();
    expect(seqs).toEqual([1]);
    expect(hb.seq).toBe(1);
  });

  it('reports a failing send and keeps beating', async () => {
    const errors: unknown[] = [];
    let calls = 0;
    const hb = new Heartbeat({
      intervalMs: 100,
      send: () => {
        calls += 1;
        if (calls === 1) throw new Error('write failed');
      },
      onError: (err) => errors.push(err),
    });
    hb.start();
    await vi.advanceTimersByTimeAsync(300);
    expect(calls).toBe(3);
    expect(errors).toHaveLength(1);
    hb.stop();
  });

  it('start() twice does not double the rate', async () => {
    let calls = 0;
    const hb = new Heartbeat({ intervalMs: 100, send: () => void (calls += 1) });
    hb.start();
    hb.start();
    await vi.advanceTimersByTimeAsync(300);
    expect(calls).toBe(3);
    hb.stop();
  });

  it('rejects a non-positive interval', () => {
    expect(() => new Heartbeat({ intervalMs: 0, send: () => {} })).toThrow(OptionsError);
    expect(() => new Heartbeat({ intervalMs: 0, send: () => {} })).toThrow(expect.objectContaining({ code: 'ERR_TASKFORGE_OPTION', option: 'intervalMs' }));
  });
});
