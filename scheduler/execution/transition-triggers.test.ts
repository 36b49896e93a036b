import { describe, expect, it } from 'vitest';
import { CTX, NOW, deepFreeze } from './testing/transition-fixtures.js';
import { transition, type ExecutionEvent } from './transition.js';

const fire = (over: Partial<Extract<ExecutionEvent, { type: 'fire' }>> = {}): ExecutionEvent =>
  deepFreeze({
    type: 'fire',
    nowMs: NOW,
    trigger: { type: 'cron', tick: '2026-01-01T00:00:00.000Z' },
    execution: { id: 'ex_c', function: 'f', version: 2, mode: 'async', input: { n: 1 }, maxAttempts: 3, idempotencyKey: 'cron:f:abc:2026-01-01T00:00:00.000Z' },
    ...over,
  } as const);

describe('fire: a trigger starts an execution', () => {
  it('makes a queued record carrying its trigger, written durably before it is indexed, published and queued', () => {
    const { record, effects } = transition(undefined, fire(), CTX);
    expect(record).toMatchObject({
      id: 'ex_c',
      status: 'queued',
      mode: 'async',
      input: { n: 1 },
      attempt: 1,
      maxAttempts: 3,
      idempotencyKey: 'cron:f:abc:2026-01-01T00:00:00.000Z',
      trigger: { type: 'cron', tick: '2026-01-01T00:00:00.000Z' },
      createdAt: new Date(NOW).toISOString(),
    });
    expect(effects.map((e) => e.type)).toEqual(['persist', 'index', 'publish', 'enqueue']);
    expect(effects[0]).toEqual({ type: 'persist', durable: true });
  });

  it('is always async and durable, even if the caller said sync', () => {
    const { record, effects } = transition(
      undefined,
      fire({ execution: { id: 'ex_s', function: 'f', version: 1, mode: 'sync', input: null, maxAttempts: 1, idempotencyKey: null } }),
      CTX,
    );
    expect(record.mode).toBe('async');
    expect(effects[0]).toEqual({ type: 'persist', durable: true });
  });

  it('keeps a topic trigger as given', () => {
    const trigger = { type: 'topic', topic: 'orders.created', eventId: 'evt_9' } as const;
    expect(transition(undefined, fire({ trigger }), CTX).record.trigger).toEqual(trigger);
  });

  it('an invoke (accept) has trigger null', () => {
    const accept: ExecutionEvent = {
      type: 'accept',
      nowMs: NOW,
      execution: { id: 'ex_i', function: 'f', version: 1, mode: 'async', input: 1, maxAttempts: 1, idempotencyKey: null },
    };
    expect(transition(undefined, accept, CTX).record.trigger).toBeNull();
  });
});
