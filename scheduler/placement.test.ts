import { describe, expect, it } from 'vitest';
import { pickWorker, type PlacementCandidate } from './placement.js';

const w = (id: string, taken: number, capacity: number, warm: string[] = [], ready = true): PlacementCandidate => ({
  id,
  taken,
  capacity,
  warm: new Set(warm),
  ready,
});

describe('placement', () => {
  it('returns null when no worker has a free slot', () => {
    expect(pickWorker([w('a', 2, 2), w('b', 4, 4)], 'f@1')).toBeNull();
  });

  it('returns null when there are no workers', () => {
    expect(pickWorker([], 'f@1')).toBeNull();
  });

  it('never picks a worker that is not ready (draining or lost)', () => {
    expect(pickWorker([w('a', 0, 4, [], false)], 'f@1')).toBeNull();
    expect(pickWorker([w('a', 0, 4, [], false), w('b', 3, 4)], 'f@1')!.worker.id).toBe('b');
  });

  it('picks the least-loaded worker by ratio, not by count', () => {
    // a: 2/8 = 0.25, b: 1/2 = 0.5
    const d = pickWorker([w('a', 2, 8), w('b', 1, 2)], 'f@1')!;
    expect(d.worker.id).toBe('a');
    expect(d.placement).toEqual({ workerId: 'a', load: 0.25, warm: false, candidates: 2 });
  });

  it('prefers a warm worker within one slot of the minimum', () => {
    // a: 0/4 (min), b: 1/4 — one slot more, but warm
    const d = pickWorker([w('a', 0, 4), w('b', 1, 4, ['f@1'])], 'f@1')!;
    expect(d.worker.id).toBe('b');
    expect(d.placement.warm).toBe(true);
  });

  it('does not prefer a warm worker more than one slot above the minimum', () => {
    const d = pickWorker([w('a', 0, 4), w('b', 2, 4, ['f@1'])], 'f@1')!;
    expect(d.worker.id).toBe('a');
    expect(d.placement.warm).toBe(false);
  });

  it('warmth is per function version', () => {
    const d = pickWorker([w('a', 0, 4), w('b', 1, 4, ['f@2'])], 'f@1')!;
    expect(d.worker.id).toBe('a');
  });

  it('breaks ties at random', () => {
    const ws = [w('a', 0, 4), w('b', 0, 4)];
    expect(pickWorker(ws, 'f@1', () => 0)!.worker.id).toBe('a');
    expect(pickWorker(ws, 'f@1', () => 0.99)!.worker.id).toBe('b');
  });

  it('counts only eligible workers as candidates', () => {
    const d = pickWorker([w('a', 4, 4), w('b', 0, 4), w('c', 0, 4, [], false)], 'f@1')!;
    expect(d.placement.candidates).toBe(1);
  });

  it('spreads consecutive dispatches over two workers when taken slots are counted', () => {
    const a = w('a', 0, 2);
    const b = w('b', 0, 2);
    const seen: string[] = [];
    for (let i = 0; i < 4; i++) {
      const d = pickWorker([a, b], 'f@1', () => 0)!;
      seen.push(d.worker.id);
      (d.worker as { taken: number }).taken += 1;
    }
    expect(seen.sort()).toEqual(['a', 'a', 'b', 'b']);
    expect(pickWorker([a, b], 'f@1')).toBeNull();
  });
});
