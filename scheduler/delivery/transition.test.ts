import { describe, expect, it } from 'vitest';
import { deliveryBackoffMs, type DeliveryRetryPolicy } from './backoff.js';
import { DELIVERY_OUTCOMES, IllegalDeliveryTransition, deliveryTransition, type AttemptOutcome, type DeliveryEvent } from './transition.js';
import { DELIVERY_STATUSES, type Delivery, type DeliveryStatus } from './types.js';

const POLICY: DeliveryRetryPolicy = { baseMs: 1_000, capMs: 8_000, maxAttempts: 3 };
const NOW = Date.parse('2026-01-01T00:00:00.000Z');

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

const create: Extract<DeliveryEvent, { type: 'create' }> = {
  type: 'create',
  nowMs: NOW,
  id: 'dlv_1',
  executionId: 'ex_1',
  function: 'f',
  version: 2,
  on: 'success',
  destination: { url: 'https://example.com/hook' },
};

const fresh = (): Delivery => deliveryTransition(undefined, create, POLICY).delivery;
const inState = (status: DeliveryStatus, over: Partial<Delivery> = {}): Delivery => deepFreeze({ ...fresh(), status, ...over });

const outcome = (over: Partial<AttemptOutcome> = {}): AttemptOutcome => ({
  ok: false,
  statusCode: 500,
  error: 'answered 500',
  body: 'nope',
  truncated: false,
  durationMs: 12.4,
  ...over,
});
const ended = (o: AttemptOutcome, jitter = 0.5): DeliveryEvent => ({ type: 'ended', nowMs: NOW + 100, startedAtMs: NOW + 50, outcome: o, jitter });

describe('delivery transition', () => {
  it('create: pending, due at once, persisted', () => {
    const { delivery, effects } = deliveryTransition(undefined, deepFreeze({ ...create }), POLICY);
    expect(delivery).toEqual({
      id: 'dlv_1',
      executionId: 'ex_1',
      function: 'f',
      version: 2,
      on: 'success',
      destination: { url: 'https://example.com/hook' },
      status: 'pending',
      attempts: [],
      maxAttempts: 3,
      nextAttemptAt: '2026-01-01T00:00:00.000Z',
      createdAt: '2026-01-01T00:00:00.000Z',
      finishedAt: null,
      createdExecutionId: null,
    });
    expect(effects).toEqual([{ type: 'persist' }, { type: 'arm', atMs: NOW }]);
  });

  it('start: pending and retry_wait become delivering and send, nothing written', () => {
    for (const s of ['pending', 'retry_wait'] as const) {
      const { delivery, effects } = deliveryTransition(inState(s), { type: 'start', nowMs: NOW }, POLICY);
      expect(delivery.status).toBe('delivering');
      expect(effects).toEqual([{ type: 'send' }]);
    }
  });

  it('ended ok: delivered with the attempt recorded', () => {
    const { delivery, effects } = deliveryTransition(inState('delivering'), ended(outcome({ ok: true, statusCode: 204, error: null, body: '' })), POLICY);
    expect(delivery).toMatchObject({ status: 'delivered', nextAttemptAt: null, finishedAt: new Date(NOW + 100).toISOString() });
    expect(delivery.attempts).toEqual([
      { attempt: 1, startedAt: new Date(NOW + 50).toISOString(), durationMs: 12, statusCode: 204, error: null, responseExcerpt: '', responseTruncated: false },
    ]);
    expect(effects).toEqual([{ type: 'persist' }, { type: 'done' }]);
  });

  it('ended ok for a function: keeps the execution it created', () => {
    const o = outcome({ ok: true, statusCode: null, error: null, body: null, createdExecutionId: 'ex_2' });
    const { delivery } = deliveryTransition(inState('delivering', { destination: { function: 'g' } }), ended(o), POLICY);
    expect(delivery).toMatchObject({ status: 'delivered', createdExecutionId: 'ex_2' });
    expect(delivery.attempts[0]).toMatchObject({ statusCode: null, responseExcerpt: null });
  });

  it('ended not ok with attempts left: retry_wait after backoff with jitter', () => {
    const { delivery, effects } = deliveryTransition(inState('delivering'), ended(outcome(), 0.5), POLICY);
    const atMs = NOW + 100 + deliveryBackoffMs(1, 0.5, POLICY);
    expect(delivery).toMatchObject({ status: 'retry_wait', nextAttemptAt: new Date(atMs).toISOString(), finishedAt: null });
    expect(delivery.attempts[0]).toMatchObject({ statusCode: 500, error: 'answered 500', responseExcerpt: 'nope' });
    expect(effects).toEqual([{ type: 'persist' }, { type: 'arm', atMs }]);
  });

  it('ended not ok at the last attempt: failed', () => {
    const two = [1, 2].map((attempt) => ({
      attempt,
      startedAt: new Date(NOW).toISOString(),
      durationMs: 1,
      statusCode: 500,
      error: 'x',
      responseExcerpt: null,
      responseTruncated: false,
    }));
    const { delivery, effects } = deliveryTransition(
      inState('delivering', { attempts: two }),
      ended(outcome({ statusCode: null, error: 'timed out', body: null })),
      POLICY,
    );
    expect(delivery).toMatchObject({ status: 'failed', nextAttemptAt: null });
    expect(delivery.attempts).toHaveLength(3);
    expect(delivery.attempts[2]).toMatchObject({ attempt: 3, error: 'timed out', statusCode: null });
    expect(effects).toEqual([{ type: 'persist' }, { type: 'done' }]);
  });

  it('a long answer is kept as an excerpt and marked truncated; an error without words says what it got', () => {
    const { delivery } = deliveryTransition(inState('delivering'), ended(outcome({ body: 'y'.repeat(5000), error: null })), POLICY);
    expect(delivery.attempts[0]!.responseExcerpt).toHaveLength(1024);
    expect(delivery.attempts[0]).toMatchObject({ responseTruncated: true, error: 'answered 500' });
    const none = deliveryTransition(inState('delivering'), ended(outcome({ statusCode: null, error: null })), POLICY).delivery;
    expect(none.attempts[0]!.error).toBe('answered nothing');
  });

  it('every (state, event) pair not applied is illegal, and throws', () => {
    const events: DeliveryEvent[] = [create, { type: 'start', nowMs: NOW }, ended(outcome())];
    for (const s of DELIVERY_STATUSES) {
      for (const e of events) {
        const run = () => deliveryTransition(inState(s), e, POLICY);
        if (DELIVERY_OUTCOMES[s][e.type] === 'illegal') expect(run, `${s} × ${e.type}`).toThrow(IllegalDeliveryTransition);
        else expect(run, `${s} × ${e.type}`).not.toThrow();
      }
    }
    expect(() => deliveryTransition(undefined, { type: 'start', nowMs: NOW }, POLICY)).toThrow(IllegalDeliveryTransition);
    expect(Object.keys(DELIVERY_OUTCOMES).sort()).toEqual([...DELIVERY_STATUSES].sort());
  });
});

describe('delivery backoff', () => {
  it('doubles per attempt up to the cap, between half and all of it', () => {
    const p = { baseMs: 1_000, capMs: 8_000 };
    expect([1, 2, 3, 4, 5, 6].map((n) => deliveryBackoffMs(n, 0, p))).toEqual([500, 1_000, 2_000, 4_000, 4_000, 4_000]);
    expect([1, 2, 3, 4, 5].map((n) => deliveryBackoffMs(n, 0.999999, p))).toEqual([1_000, 2_000, 4_000, 8_000, 8_000]);
    expect(deliveryBackoffMs(2, 0.5, p)).toBe(1_500);
  });

  it('jitter out of range is clamped', () => {
    expect(deliveryBackoffMs(1, -3, { baseMs: 1_000, capMs: 8_000 })).toBe(500);
    expect(deliveryBackoffMs(1, 7, { baseMs: 1_000, capMs: 8_000 })).toBe(1_000);
  });
});
