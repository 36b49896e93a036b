import { describe, expect, it } from 'vitest';
import { sideBySideTable, type RunNumbers } from './side-by-side.js';

const ceiling = {
  points: [
    { connections: 1, rps: 10_000, p50Ms: 0.08, p99Ms: 0.2 },
    { connections: 50, rps: 24_000, p50Ms: 2, p99Ms: 4 },
  ],
};
const asyncNumbers = {
  acceptPerSecond: 1_800,
  completionPerSecond: 1_700,
  acceptLatencyP50Ms: 25,
  acceptLatencyP99Ms: 60,
  floor: { acceptPerSecond: 3_000, completionPerSecond: 2_900, acceptLatencyP50Ms: 14, acceptLatencyP99Ms: 30 },
};
const peer = {
  always: { acceptedPerSecond: 12_000, completedPerSecond: 7_000, p50Ms: 3, p99Ms: 9 },
  everysec: { acceptedPerSecond: 14_000, completedPerSecond: 6_500, p50Ms: 2.5, p99Ms: 8 },
};

describe('the side-by-side table', () => {
  it('puts every system of the run in one table, accepts as a share of the floor', () => {
    const run: RunNumbers = {
      ceiling,
      scenarios: [
        { name: 'async', numbers: asyncNumbers },
        { name: 'bullmq', numbers: peer },
      ],
    };
    const [head, ...rows] = sideBySideTable(run);
    expect(head).toContain('accepted ÷ floor');
    expect(rows.map((r) => r[0])).toEqual([
      'bare Fastify (c=50, nothing behind it)',
      'design floor (journal + file, durable 202)',
      'TaskForge (durable 202)',
      'BullMQ on Redis, appendfsync always (durable 202)',
      'BullMQ on Redis, appendfsync everysec',
    ]);
    expect(rows[2]).toEqual(['TaskForge (durable 202)', '1,800', '1,700', '25.00 ms', '60.00 ms', '60 %']);
    expect(rows[3]![5]).toBe('400 %');
    // Bare Fastify completes nothing: there is no work behind it.
    expect(rows[0]![2]).toBe('—');
  });

  it('leaves out what did not run, and prints nothing without an async scenario', () => {
    const onlyPeer = sideBySideTable({ ceiling, scenarios: [{ name: 'bullmq', numbers: peer }] });
    expect(onlyPeer.map((r) => r[0])).toContain('BullMQ on Redis, appendfsync always (durable 202)');
    expect(onlyPeer.at(-1)![5]).toBe('—');
    expect(sideBySideTable({ ceiling, scenarios: [{ name: 'async', numbers: asyncNumbers, error: 'failed' }] })).toEqual([]);
    expect(sideBySideTable({ ceiling: null, scenarios: [] })).toEqual([]);
  });
});
