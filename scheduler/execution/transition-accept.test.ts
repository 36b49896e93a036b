/**
 * The transition function making a new record (transition-accept.ts): an invoke's accept, one
 * answered from the result cache, a delayed one with its priority, and its `due` and expiry.
 */
import { describe, expect, it } from 'vitest';
import { T0 } from '../../common/testing/records.js';
import { CTX, EVENTS, NOW, deepFreeze, inState } from './testing/transition-fixtures.js';
import { transition, type Effect, type ExecutionEvent } from './transition.js';

const types = (effects: Effect[]): string[] => effects.map((e) => e.type);

describe('accept', () => {
  it('makes a queued record that an async invoke writes durably before going on', () => {
    const { record, effects } = transition(undefined, EVENTS.accept, CTX);
    expect(record).toMatchObject({
      id: 'ex_new',
      status: 'queued',
      attempt: 1,
      maxAttempts: 3,
      input: { a: 1 },
      createdAt: new Date(NOW).toISOString(),
      attempts: [],
      lease: null,
    });
    expect(effects).toEqual([{ type: 'persist', durable: true }, { type: 'index', digest: undefined }, { type: 'publish' }, { type: 'enqueue' }]);
  });

  it('writes a sync invoke group-committed: its answer acknowledges it', () => {
    const ev: ExecutionEvent = {
      ...EVENTS.accept,
      execution: { ...(EVENTS.accept as Extract<ExecutionEvent, { type: 'accept' }>).execution, mode: 'sync', digest: 'd1' },
    } as ExecutionEvent;
    expect(transition(undefined, ev, CTX).effects.slice(0, 2)).toEqual([
      { type: 'persist', durable: false },
      { type: 'index', digest: 'd1' },
    ]);
  });
  it('keeps what started it (a workflow step); a plain invoke says trigger null, as the API does', () => {
    const base = (EVENTS.accept as Extract<ExecutionEvent, { type: 'accept' }>).execution;
    const trigger = { type: 'workflow', runId: 'wr_1', step: 'a' } as const;
    const ev = deepFreeze({ ...EVENTS.accept, execution: { ...base, trigger } } as ExecutionEvent);
    expect(transition(undefined, ev, CTX).record.trigger).toEqual(trigger);
    expect(transition(undefined, EVENTS.accept, CTX).record.trigger).toBeNull();
  });
});

describe('accept from the result cache', () => {
  const cachedAccept = (mode: 'async' | 'sync'): ExecutionEvent =>
    deepFreeze({
      ...EVENTS.accept,
      execution: { ...(EVENTS.accept as Extract<ExecutionEvent, { type: 'accept' }>).execution, mode, cached: { output: { hit: true } } },
    } as ExecutionEvent);

  it('succeeds at once with the cached output, unrun, and never enters the queue', () => {
    const { record, effects } = transition(undefined, cachedAccept('async'), CTX);
    const at = new Date(NOW).toISOString();
    expect(record).toMatchObject({
      status: 'succeeded',
      cached: true,
      output: { hit: true },
      error: null,
      startedAt: at,
      finishedAt: at,
      durationMs: 0,
      workerId: null,
    });
    expect(record.timings).toEqual({ queuedMs: 0, initMs: 0, runMs: 0, cpuMs: null });
    expect(effects).toEqual([{ type: 'persist', durable: true }, { type: 'index', digest: undefined }, { type: 'publish' }, { type: 'finish' }]);
    expect(effects).not.toContainEqual({ type: 'enqueue' });
  });

  it('is group-committed for a sync invoke, like any sync accept', () => {
    expect(transition(undefined, cachedAccept('sync'), CTX).effects[0]).toEqual({ type: 'persist', durable: false });
  });
});

describe('delayed invokes (scheduledFor) and priority', () => {
  const delayedAccept = (scheduledForMs: number | null, priority?: 'critical' | 'low'): ExecutionEvent => ({
    type: 'accept',
    nowMs: NOW,
    execution: {
      id: 'ex_new',
      function: 'f',
      version: 1,
      mode: 'async',
      input: null,
      maxAttempts: 1,
      idempotencyKey: null,
      scheduledForMs,
      ...(priority && { priority }),
    },
  });

  it('a future scheduledFor is held (arm-due), durable first, not queued and without an expiry yet', () => {
    const { record, effects } = transition(undefined, delayedAccept(NOW + 60_000), CTX);
    expect(record).toMatchObject({ status: 'queued', scheduledFor: new Date(NOW + 60_000).toISOString(), priority: 'normal' });
    expect(effects).toEqual([
      { type: 'persist', durable: true },
      { type: 'index', digest: undefined },
      { type: 'publish' },
      { type: 'arm-due', atMs: NOW + 60_000 },
    ]);
  });

  it('a scheduledFor already past is now: queued at once, scheduledFor says when it was accepted', () => {
    const { record, effects } = transition(undefined, delayedAccept(NOW - 60_000), CTX);
    expect(record.scheduledFor).toBe(new Date(NOW).toISOString());
    expect(types(effects)).toEqual(['persist', 'index', 'publish', 'enqueue']);
  });

  it('no delay: scheduledFor null; the priority asked for is on the record', () => {
    const { record } = transition(undefined, delayedAccept(null, 'critical'), CTX);
    expect(record).toMatchObject({ scheduledFor: null, priority: 'critical' });
  });

  it('due at or after scheduledFor enqueues, without changing the record', () => {
    const rec = inState('queued', { scheduledFor: new Date(NOW).toISOString() });
    const { record, effects } = transition(rec, { type: 'due', nowMs: NOW }, CTX);
    expect(record).toBe(rec);
    expect(effects).toEqual([{ type: 'enqueue' }]);
  });

  it('due that fires before scheduledFor (a timer a little early) is re-armed, not trusted', () => {
    const rec = inState('queued', { scheduledFor: new Date(NOW + 5).toISOString() });
    const { record, effects } = transition(rec, { type: 'due', nowMs: NOW }, CTX);
    expect(record).toBe(rec);
    expect(effects).toEqual([{ type: 'arm-due', atMs: NOW + 5 }]);
  });

  it('due on a running or finished record is stale: no change, no effect', () => {
    for (const s of ['running', 'succeeded', 'cancelled'] as const) {
      const rec = inState(s, { scheduledFor: T0 });
      expect(transition(rec, { type: 'due', nowMs: NOW }, CTX)).toEqual({ record: rec, effects: [] });
    }
  });

  it('the queue expiry of a delayed execution counts from scheduledFor, not createdAt', () => {
    const scheduledFor = new Date(NOW - 500).toISOString();
    const rec = inState('queued', { createdAt: new Date(NOW - 60_000).toISOString(), scheduledFor });
    const early = transition(rec, { type: 'expire', nowMs: NOW, maxQueueMs: 1_000 }, CTX);
    expect(early.record).toBe(rec);
    expect(early.effects).toEqual([{ type: 'arm-expiry', atMs: NOW + 500 }]);
    const late = transition(rec, { type: 'expire', nowMs: NOW + 500, maxQueueMs: 1_000 }, CTX);
    expect(late.record.status).toBe('failed');
    expect(late.record.error?.code).toBe('EXPIRED');
  });

  it('cancel of a delayed execution that has not started ends it cancelled', () => {
    const rec = inState('queued', { scheduledFor: new Date(NOW + 60_000).toISOString() });
    const { record, effects } = transition(rec, { type: 'cancel', nowMs: NOW, queuedMs: 0 }, CTX);
    expect(record.status).toBe('cancelled');
    expect(types(effects)).toEqual(['persist', 'publish', 'finish']);
  });
});
