import { describe, expect, it } from 'vitest';
import { PriorityQueue } from './priority-queue.js';

const T = 1_000_000;

describe('priority queue', () => {
  it('higher priority first, arrival order within a priority', () => {
    const q = new PriorityQueue(10_000);
    q.add('low1', 'low', T);
    q.add('n1', 'normal', T + 1);
    q.add('c1', 'critical', T + 2);
    q.add('h1', 'high', T + 3);
    q.add('n2', undefined, T + 4);
    q.add('c2', 'critical', T + 5);
    expect([...q.keys()]).toEqual(['c1', 'c2', 'h1', 'n1', 'n2', 'low1']);
    expect(q.size).toBe(6);
  });

  it('aging: one level per agingMs waited, so old low work overtakes fresh high work', () => {
    const q = new PriorityQueue(1_000);
    q.add('low-old', 'low', T);
    // 2.5 levels later: a fresh high (2 levels above low) is behind it, a fresh critical ahead.
    q.add('high-new', 'high', T + 2_500);
    q.add('critical-new', 'critical', T + 2_500);
    expect([...q.keys()]).toEqual(['critical-new', 'low-old', 'high-new']);
  });

  it('equal keys go to the higher priority', () => {
    const q = new PriorityQueue(1_000);
    q.add('low', 'low', T + 1_000);
    q.add('normal', 'normal', T + 2_000);
    expect([...q.keys()]).toEqual(['normal', 'low']);
  });

  it('adding an id already queued keeps its place; delete removes it, also while walking', () => {
    const q = new PriorityQueue(1_000);
    q.add('a', 'normal', T);
    q.add('b', 'normal', T + 1);
    q.add('a', 'critical', T + 2);
    expect([...q.keys()]).toEqual(['a', 'b']);
    const seen: string[] = [];
    q.add('c', 'low', T);
    for (const id of q.keys()) {
      seen.push(id);
      q.delete(id);
      q.delete('c');
    }
    expect(seen).toEqual(['a', 'b']);
    expect(q.size).toBe(0);
    expect(q.delete('nope')).toBe(false);
  });
});
