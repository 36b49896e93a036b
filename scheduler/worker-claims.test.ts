import { describe, expect, it } from 'vitest';
import type { Heartbeat, Hello } from '../proto/gen/taskforge/v1/worker.js';
import { CLAIM_LIMITS, checkHeartbeat, checkHello } from './worker-claims.js';

const hello = (over: Partial<Hello> = {}): Hello => ({
  workerId: 'w_a',
  name: 'a',
  capacity: 4,
  runtimes: ['nodejs'],
  held: [],
  agentVersion: 't',
  sandboxLevel: 'namespaces',
  ...over,
});
const hb = (over: Partial<Heartbeat> = {}): Heartbeat => ({
  inFlight: 0,
  capacity: 4,
  warm: [],
  rssBytes: 0,
  seq: 1,
  draining: false,
  sandboxesBusy: 0,
  sandboxesIdle: 0,
  sandboxesPrewarmed: 0,
  ...over,
});

describe('worker claims', () => {
  it('accepts an honest Hello and keeps what the registry needs', () => {
    expect(checkHello(hello())).toEqual({ ok: true, value: { workerId: 'w_a', name: 'a', capacity: 4, sandbox: 'namespaces' } });
    expect(checkHello(hello({ name: '', capacity: CLAIM_LIMITS.maxCapacity }))).toMatchObject({ ok: true, value: { name: 'w_a', capacity: 1024 } });
  });

  for (const [what, over] of [
    ['capacity 0', { capacity: 0 }],
    ['capacity 5000', { capacity: 5000 }],
    ['capacity 2^32 − 1', { capacity: 0xffffffff }],
    ['a 201-character name', { name: 'n'.repeat(201) }],
    ['a name with a newline', { name: 'a\nfake log line' }],
    ['a bad worker id', { workerId: '../etc' }],
    ['an empty worker id', { workerId: '' }],
    [
      'more held executions than any worker holds',
      { held: Array.from({ length: CLAIM_LIMITS.heldEntries + 1 }, (_, i) => ({ executionId: `ex_${i}`, lease: 'l' })) },
    ],
  ] as [string, Partial<Hello>][]) {
    it(`refuses a Hello with ${what}`, () => {
      const r = checkHello(hello(over));
      expect(r.ok).toBe(false);
    });
  }

  it('counts an unknown or missing sandbox level as insecure', () => {
    for (const level of ['', 'root', 'NAMESPACES', 'namespaces ', 'gvisor']) {
      expect(checkHello(hello({ sandboxLevel: level }))).toMatchObject({ ok: true, value: { sandbox: 'insecure' } });
    }
    expect(checkHello(hello({ sandboxLevel: 'insecure' }))).toMatchObject({ ok: true, value: { sandbox: 'insecure' } });
  });

  it('checks a heartbeat’s capacity and warm list the same way', () => {
    expect(checkHeartbeat(hb({ warm: ['f@1'] }))).toEqual({ ok: true, value: hb({ warm: ['f@1'] }) });
    expect(checkHeartbeat(hb({ capacity: 5000 })).ok).toBe(false);
    expect(checkHeartbeat(hb({ capacity: 0 })).ok).toBe(false);
    expect(checkHeartbeat(hb({ warm: Array.from({ length: 1025 }, (_, i) => `f@${i}`) })).ok).toBe(false);
    expect(checkHeartbeat(hb({ warm: ['f'.repeat(199) + '@1'] })).ok).toBe(false);
    expect(checkHeartbeat(hb({ warm: Array.from({ length: 1024 }, (_, i) => `f@${i}`) })).ok).toBe(true);
  });
});
