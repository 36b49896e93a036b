import { describe, expect, it } from 'vitest';
import type { CircuitBreakerSpec } from '../common/records.js';
import { CircuitBreakers } from './circuit-breaker.js';

const SPEC: CircuitBreakerSpec = { failureThreshold: 3, windowMs: 10_000, cooldownMs: 5_000 };

function breakers(spec: CircuitBreakerSpec | null = SPEC) {
  let now = 1_000_000;
  const wakes: number[] = [];
  const changes: string[] = [];
  let current = spec;
  const b = new CircuitBreakers({
    spec: (fn) => (fn === 'f' ? current : null),
    now: () => now,
    wakeAfter: (ms) => wakes.push(ms),
    onChange: (fn, from, to) => changes.push(`${fn}:${from}->${to}`),
  });
  return {
    b,
    wakes,
    changes,
    advance: (ms: number) => (now += ms),
    setSpec: (s: CircuitBreakerSpec | null) => (current = s),
  };
}

const fail = (b: CircuitBreakers, n: number, id = 'e'): void => {
  for (let i = 0; i < n; i++) b.attemptEnded('f', `${id}${i}`, 'failure');
};

describe('CircuitBreakers', () => {
  it('opens after failureThreshold failures within the window, and asks to be woken after the cooldown', () => {
    const { b, wakes, changes } = breakers();
    fail(b, 2);
    expect(b.info('f')).toMatchObject({ state: 'closed', failures: 2 });
    expect(b.allows('f', 'x')).toBe(true);
    fail(b, 1, 'z');
    expect(b.info('f')).toMatchObject({ state: 'open', opens: 1, openedAt: new Date(1_000_000).toISOString(), retryAt: new Date(1_005_000).toISOString() });
    expect(changes).toEqual(['f:closed->open']);
    expect(wakes).toEqual([5_000]);
    expect(b.allows('f', 'x')).toBe(false);
    expect(b.rejectsSync('f')).toEqual({ retryAfterMs: 5_000 });
  });

  it('forgets failures older than the window', () => {
    const { b, advance } = breakers();
    fail(b, 2);
    advance(10_001);
    fail(b, 2, 'later');
    expect(b.info('f')).toMatchObject({ state: 'closed', failures: 2 });
  });

  it('counts neither successes nor attempts that were not the function’s fault', () => {
    const { b } = breakers();
    fail(b, 2);
    b.attemptEnded('f', 'n', 'neutral');
    b.attemptEnded('f', 's', 'success');
    expect(b.info('f')).toMatchObject({ state: 'closed', failures: 2 });
  });

  it('after the cooldown lets exactly one probe through; its success closes the circuit', () => {
    const { b, advance, changes } = breakers();
    fail(b, 3);
    advance(4_999);
    expect(b.allows('f', 'p')).toBe(false);
    advance(1);
    expect(b.rejectsSync('f')).toBeNull(); // the sync invoke may itself become the probe
    expect(b.allows('f', 'p')).toBe(true);
    b.dispatched('f', 'p');
    expect(b.info('f')?.state).toBe('half_open');
    expect(b.allows('f', 'q')).toBe(false);
    expect(b.allows('f', 'p')).toBe(true); // the probe re-queued after a lost worker goes again
    expect(b.rejectsSync('f')).not.toBeNull();
    b.attemptEnded('f', 'late', 'success'); // dispatched before it opened: not the probe
    expect(b.info('f')?.state).toBe('half_open');
    b.attemptEnded('f', 'p', 'success');
    expect(b.info('f')).toMatchObject({ state: 'closed', failures: 0, openedAt: null });
    expect(changes).toEqual(['f:closed->open', 'f:open->half_open', 'f:half_open->closed']);
  });

  it('a failed probe opens it again for another cooldown', () => {
    const { b, advance, wakes } = breakers();
    fail(b, 3);
    advance(5_000);
    b.dispatched('f', 'p');
    b.attemptEnded('f', 'p', 'failure');
    expect(b.info('f')).toMatchObject({ state: 'open', opens: 2 });
    expect(wakes).toEqual([5_000, 5_000]);
    expect(b.allows('f', 'p2')).toBe(false);
  });

  it('a probe that ended through no fault of the function frees the place for another one', () => {
    const { b, advance } = breakers();
    fail(b, 3);
    advance(5_000);
    b.dispatched('f', 'p');
    b.attemptEnded('f', 'p', 'neutral');
    expect(b.info('f')?.state).toBe('half_open');
    expect(b.allows('f', 'other')).toBe(true);
  });

  it('holds nothing back for a function without a breaker, or once its new version drops it', () => {
    const none = breakers(null);
    fail(none.b, 10);
    expect(none.b.allows('f', 'x')).toBe(true);
    expect(none.b.info('f')).toBeNull();
    const { b, setSpec } = breakers();
    fail(b, 3);
    setSpec(null);
    expect(b.allows('f', 'x')).toBe(true);
    expect(b.rejectsSync('f')).toBeNull();
    expect(b.states().size).toBe(0);
  });
});
