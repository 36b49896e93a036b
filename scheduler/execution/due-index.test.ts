import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DueIndex } from './due-index.js';

const T = Date.parse('2030-01-01T00:00:00.000Z');
let fired: string[];
let index: DueIndex;

beforeEach(() => {
  vi.useFakeTimers({ now: T });
  fired = [];
  index = new DueIndex(
    (id) => fired.push(id),
    () => Date.now(),
  );
});
afterEach(() => {
  index.clear();
  vi.useRealTimers();
});

describe('due index', () => {
  it('fires each id once at its time, earliest first, with one timer for all', async () => {
    index.set('c', T + 300);
    index.set('a', T + 100);
    index.set('b', T + 200);
    expect(vi.getTimerCount()).toBe(1);
    await vi.advanceTimersByTimeAsync(99);
    expect(fired).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(fired).toEqual(['a']);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(fired).toEqual(['a', 'b', 'c']);
    expect(index.size).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('entries with the same time come out in the order they were set', async () => {
    for (const id of ['x', 'y', 'z', 'w']) index.set(id, T + 50);
    await vi.advanceTimersByTimeAsync(50);
    expect(fired).toEqual(['x', 'y', 'z', 'w']);
  });

  it('a deleted id never fires; deleting the last one leaves no timer', async () => {
    index.set('a', T + 100);
    index.set('b', T + 200);
    index.delete('a');
    await vi.advanceTimersByTimeAsync(150);
    expect(fired).toEqual([]);
    index.delete('b');
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(fired).toEqual([]);
  });

  it('set again moves an id: only the newest time counts', async () => {
    index.set('a', T + 100);
    index.set('a', T + 500);
    await vi.advanceTimersByTimeAsync(200);
    expect(fired).toEqual([]);
    expect(index.dueAt('a')).toBe(T + 500);
    await vi.advanceTimersByTimeAsync(300);
    expect(fired).toEqual(['a']);
  });

  it('a time already past fires on the next tick', async () => {
    index.set('late', T - 10_000);
    await vi.advanceTimersByTimeAsync(1);
    expect(fired).toEqual(['late']);
  });

  it('bulk load of 20k entries arms one timer and keeps the order', async () => {
    const entries: Array<[string, number]> = [];
    for (let i = 0; i < 20_000; i += 1) entries.push([`e${i}`, T + 1 + ((i * 7919) % 20_000)]);
    index.load(entries);
    expect(index.size).toBe(20_000);
    expect(vi.getTimerCount()).toBe(1);
    await vi.advanceTimersByTimeAsync(20_001);
    expect(fired).toHaveLength(20_000);
    const times = fired.map((id) => T + 1 + ((Number(id.slice(1)) * 7919) % 20_000));
    for (let i = 1; i < times.length; i += 1) expect(times[i]!).toBeGreaterThanOrEqual(times[i - 1]!);
  });

  it('a due time beyond the longest setTimeout is reached through intermediate wake-ups', async () => {
    const far = T + 31 * 24 * 3600 * 1000;
    index.set('far', far);
    await vi.advanceTimersByTimeAsync(2_147_483_647);
    expect(fired).toEqual([]);
    await vi.advanceTimersByTimeAsync(far - Date.now());
    expect(fired).toEqual(['far']);
  });

  it('its timer is trusted: a clock that lags the timers by a little does not hold an entry back', async () => {
    let lag = 0;
    const lagging = new DueIndex(
      (id) => fired.push(id),
      () => Date.now() - lag,
    );
    lagging.set('a', T + 100);
    lagging.set('b', T + 200);
    lag = 1;
    await vi.advanceTimersByTimeAsync(100);
    expect(fired).toEqual(['a']);
    // Re-armed by the lagging clock: 1 ms later by the timers' one.
    await vi.advanceTimersByTimeAsync(101);
    expect(fired).toEqual(['a', 'b']);
    lagging.clear();
  });

  it('many deletes compact the heap: what is left still fires in order', async () => {
    for (let i = 0; i < 1_000; i += 1) index.set(`e${i}`, T + 1_000 - i);
    for (let i = 0; i < 1_000; i += 1) if (i % 10 !== 0) index.delete(`e${i}`);
    expect(index.size).toBe(100);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(fired).toEqual(Array.from({ length: 100 }, (_, k) => `e${990 - k * 10}`));
  });
});
