import { describe, expect, it } from 'vitest';
import { ago, bytes, json, ms, percent, timingParts, timingsSoFar } from './format.js';

describe('format', () => {
  it('reads durations in ms, s and min', () => {
    expect([ms(null), ms(undefined), ms(Number.NaN), ms(12.4), ms(1500), ms(12_345), ms(125_000)]).toEqual([
      '—',
      '—',
      '—',
      '12 ms',
      '1.50 s',
      '12.3 s',
      '2 min 5 s',
    ]);
  });

  it('reads rates, ages and sizes', () => {
    expect([percent(null), percent(1), percent(0), percent(0.1234)]).toEqual(['—', '100 %', '0 %', '12.3 %']);
    const now = Date.parse('2026-01-01T12:00:00Z');
    expect([
      ago(null, now),
      ago('bad', now),
      ago('2026-01-01T11:59:55Z', now),
      ago('2026-01-01T11:58:00Z', now),
      ago('2026-01-01T09:00:00Z', now),
      ago('2025-12-30T12:00:00Z', now),
    ]).toEqual(['—', '—', '5 s ago', '2 min ago', '3 h ago', '2 d ago']);
    expect([bytes(10), bytes(2048), bytes(3 * 1024 * 1024)]).toEqual(['10 B', '2.0 KiB', '3.0 MiB']);
    expect([json(undefined), json({ a: 1 })]).toEqual(['—', '{\n  "a": 1\n}']);
  });

  it('splits the timings bar into fractions of the whole wait', () => {
    expect(timingParts({ queuedMs: 1, initMs: 1, runMs: 2 })).toEqual({ queued: 0.25, init: 0.25, run: 0.5, total: 4 });
    expect(timingParts({ queuedMs: null, initMs: null, runMs: null })).toEqual({ queued: 0, init: 0, run: 0, total: 0 });
    expect(timingParts(undefined).total).toBe(0);
  });

  it("draws the record's timings once it has them, and the clock's while it waits or runs", () => {
    const t = { queuedMs: 1, initMs: 2, runMs: 3, cpuMs: 1 };
    const createdAt = '2026-01-01T00:00:00.000Z';
    const now = Date.parse('2026-01-01T00:00:05.000Z');
    expect(timingsSoFar({ timings: t, createdAt, startedAt: null, status: 'succeeded' }, now)).toBe(t);
    expect(timingsSoFar({ createdAt, startedAt: null, status: 'queued' }, now)).toEqual({ queuedMs: 5000, initMs: null, runMs: null });
    expect(timingsSoFar({ timings: null, createdAt, startedAt: '2026-01-01T00:00:01.000Z', status: 'running' }, now)).toEqual({
      queuedMs: 1000,
      initMs: null,
      runMs: 4000,
    });
    expect(timingsSoFar({ createdAt, startedAt: null, status: 'cancelled' }, now)).toBeNull();
  });
});
