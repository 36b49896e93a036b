/**
 * Delayed invokes, batch invokes and priorities through the whole scheduler core (state machine,
 * timers, queue, pump) on a MemoryStore with fake workers and fake timers.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Execution } from '../../common/records.js';
import { sampleExecution } from '../../common/testing/records.js';
import { MemoryStore } from '../testing/memory-store.js';
import { createHarness, executes, flushMicrotasks, type Harness } from '../testing/harness.js';
import type { InvokeInput } from './manager.js';

const CODE = 'export default async (e) => e';
const T = Date.parse('2030-01-01T00:00:00.000Z');
// Fake workers send no heartbeats: they must not be declared lost while fake time passes.
const HOUR = 3_600_000;
let h: Harness;

beforeEach(() => {
  // setImmediate stays real: flushMicrotasks waits on it.
  vi.useFakeTimers({ now: T, toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
});
afterEach(() => {
  h?.close();
  vi.useRealTimers();
});

const ok = (id: string, lease: string) => ({
  executionId: id,
  lease,
  ok: true,
  outputJson: '1',
  error: undefined,
  durationMs: 1,
  initMs: 0,
  coldStart: false,
  startedAtMs: Date.now(),
  finishedAtMs: Date.now(),
  cpuMs: 0,
});

const invoke = (over: Partial<InvokeInput> = {}) =>
  h.executions.invoke({ function: 'f', version: 0, inputJson: '{}', mode: 'async', idempotencyKey: null, waitMs: 0, ...over });

describe('delayed invokes', () => {
  it('a delayMs invoke is durable and queued with scheduledFor, and is not dispatched before its time', async () => {
    h = createHarness({ heartbeatIntervalMs: HOUR });
    await h.functions.put('f', { code: CODE }, false);
    const { sent } = h.connect('w_1');
    const { execution } = await invoke({ delayMs: 5_000 });
    expect(h.store.durableIds).toEqual([execution.id]);
    expect(execution).toMatchObject({ status: 'queued', scheduledFor: new Date(T + 5_000).toISOString(), priority: 'normal' });
    expect(h.state.pending.size).toBe(0);
    await vi.advanceTimersByTimeAsync(4_999);
    expect(executes(sent)).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    await flushMicrotasks();
    const [ex] = executes(sent);
    expect(ex?.executionId).toBe(execution.id);
    const rec = h.state.index.get(execution.id)!;
    expect(Date.parse(rec.startedAt!)).toBeGreaterThanOrEqual(Date.parse(rec.scheduledFor!));
  });

  it('an at in the past runs now; at far ahead, both at and delayMs, sync with a delay: VALIDATION_ERROR', async () => {
    h = createHarness({ heartbeatIntervalMs: HOUR });
    await h.functions.put('f', { code: CODE }, false);
    const { sent } = h.connect('w_1');
    const past = await invoke({ at: '2029-12-31T00:00:00Z' });
    await flushMicrotasks();
    expect(executes(sent).map((e) => e.executionId)).toEqual([past.execution.id]);
    const refused = (over: Partial<InvokeInput>, field: string, reason: string) =>
      expect(invoke(over)).rejects.toMatchObject({ code: 'VALIDATION_ERROR', details: { field, reason } });
    await refused({ at: '2030-02-02T00:00:00Z' }, 'query.at', 'range');
    await refused({ at: 'tomorrow' }, 'query.at', 'invalid');
    await refused({ at: '2030-01-01T00:00:05Z', delayMs: 5 }, 'query.at', 'conflict');
    await refused({ delayMs: 32 * 24 * 3600 * 1000 }, 'query.delayMs', 'range');
    await refused({ delayMs: 1_000, mode: 'sync' }, 'query.delayMs', 'not_applicable');
    await refused({ priority: 'urgent' }, 'query.priority', 'enum');
    expect(h.state.index.size).toBe(1);
  });

  it('cancel before its time ends it cancelled, and it never runs', async () => {
    h = createHarness({ heartbeatIntervalMs: HOUR });
    await h.functions.put('f', { code: CODE }, false);
    const { sent } = h.connect('w_1');
    const { execution } = await invoke({ delayMs: 1_000 });
    const cancelled = h.executions.cancel(execution.id);
    expect(cancelled).toMatchObject({ status: 'cancelled', error: { code: 'CANCELLED' } });
    expect(h.state.timers.delays.size).toBe(0);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(executes(sent)).toHaveLength(0);
  });

  it('its maxQueueMs counts from scheduledFor', async () => {
    h = createHarness({ heartbeatIntervalMs: HOUR });
    await h.functions.put('f', { code: CODE, maxQueueMs: 1_000 }, false);
    const { execution } = await invoke({ delayMs: 5_000 });
    const rec = h.state.index.get(execution.id)!;
    await vi.advanceTimersByTimeAsync(5_999);
    expect(rec.status).toBe('queued');
    await vi.advanceTimersByTimeAsync(1);
    expect(rec).toMatchObject({ status: 'failed', error: { code: 'EXPIRED' } });
  });

  it('after a restart, delayed records run at their time, those whose time passed at once, each once', async () => {
    const rec = (id: string, scheduledFor: string): Execution =>
      sampleExecution({ id, function: 'f', version: 1, status: 'queued', createdAt: new Date(T - 60_000).toISOString(), scheduledFor, attempts: [] });
    const records = [rec('ex_due_later_aaaaaaaaaaa', new Date(T + 2_000).toISOString()), rec('ex_due_passed_aaaaaaaaaa', new Date(T - 1_000).toISOString())];
    h = createHarness({ store: new MemoryStore({ executions: records }), heartbeatIntervalMs: HOUR });
    await h.functions.put('f', { code: CODE }, false);
    h.state.index.load(records);
    h.dispatcher.recover(records);
    expect(h.state.timers.delays.size).toBe(1);
    const { sent, worker } = h.connect('w_1', 4);
    await flushMicrotasks();
    expect(executes(sent).map((e) => e.executionId)).toEqual(['ex_due_passed_aaaaaaaaaa']);
    await vi.advanceTimersByTimeAsync(2_000);
    await flushMicrotasks();
    expect(executes(sent).map((e) => e.executionId)).toEqual(['ex_due_passed_aaaaaaaaaa', 'ex_due_later_aaaaaaaaaaa']);
    for (const ex of executes(sent)) h.dispatcher.onResult(worker, ok(ex.executionId, ex.lease));
    await vi.advanceTimersByTimeAsync(60_000);
    expect(executes(sent)).toHaveLength(2);
  });
});

describe('batch invokes', () => {
  it('accepts every event in one durable commit and queues them in order', async () => {
    h = createHarness({ heartbeatIntervalMs: HOUR });
    await h.functions.put('f', { code: CODE }, false);
    const inputJsons = Array.from({ length: 5 }, (_, i) => JSON.stringify({ i }));
    const { executions, created } = await h.executions.invokeBatch({ function: 'f', version: 0, inputJsons, idempotencyKey: null });
    expect(created).toBe(true);
    expect(h.store.durableBatches).toEqual([executions.map((e) => e.id)]);
    expect(executions.map((e) => e.input)).toEqual([0, 1, 2, 3, 4].map((i) => ({ i })));
    const { sent, worker } = h.connect('w_1', 1);
    const order: unknown[] = [];
    for (let i = 0; i < 5; i += 1) {
      await flushMicrotasks();
      const ex = executes(sent)[i]!;
      order.push(JSON.parse(ex.inputJson));
      h.dispatcher.onResult(worker, ok(ex.executionId, ex.lease));
    }
    expect(order).toEqual([0, 1, 2, 3, 4].map((i) => ({ i })));
  });

  it('1,000 events are accepted; 0 or 1,001 are VALIDATION_ERROR; one bad event refuses the whole batch', async () => {
    h = createHarness({ maxQueue: 5_000, heartbeatIntervalMs: HOUR });
    await h.functions.put('f', { code: CODE }, false);
    const batch = (n: number) =>
      h.executions.invokeBatch({ function: 'f', version: 0, inputJsons: Array.from({ length: n }, () => '1'), idempotencyKey: null });
    expect((await batch(1_000)).executions).toHaveLength(1_000);
    await expect(batch(1_001)).rejects.toMatchObject({ code: 'VALIDATION_ERROR', details: { field: 'body.events', reason: 'too_many' } });
    await expect(batch(0)).rejects.toMatchObject({ code: 'VALIDATION_ERROR', details: { reason: 'empty' } });
    await expect(h.executions.invokeBatch({ function: 'f', version: 0, inputJsons: ['1', '{'], idempotencyKey: null })).rejects.toMatchObject({
      details: { field: 'body.events[1]', reason: 'invalid_json' },
    });
    expect(h.state.index.size).toBe(1_000);
  });

  it('an idempotency key covers the batch: replayed as a whole, refused with other events', async () => {
    h = createHarness({ heartbeatIntervalMs: HOUR });
    await h.functions.put('f', { code: CODE }, false);
    const send = (inputJsons: string[]) => h.executions.invokeBatch({ function: 'f', version: 0, inputJsons, idempotencyKey: 'k1' });
    const first = await send(['1', '2']);
    expect(first.executions.map((e) => e.idempotencyKey)).toEqual(['k1:0', 'k1:1']);
    const again = await send(['1', '2']);
    expect(again.created).toBe(false);
    expect(again.executions.map((e) => e.id)).toEqual(first.executions.map((e) => e.id));
    await expect(send(['1', '3'])).rejects.toMatchObject({ code: 'IDEMPOTENCY_MISMATCH' });
    await expect(send(['1'])).rejects.toMatchObject({ code: 'IDEMPOTENCY_MISMATCH' });
    await expect(send(['1', '2', '3'])).rejects.toMatchObject({ code: 'IDEMPOTENCY_MISMATCH' });
    expect(h.state.index.size).toBe(2);
  });

  it('two concurrent batches with one key make one set of executions', async () => {
    h = createHarness({ heartbeatIntervalMs: HOUR });
    await h.functions.put('f', { code: CODE }, false);
    const send = () => h.executions.invokeBatch({ function: 'f', version: 0, inputJsons: ['1', '2'], idempotencyKey: 'k2' });
    const [a, b] = await Promise.all([send(), send()]);
    expect(b.executions.map((e) => e.id)).toEqual(a.executions.map((e) => e.id));
    expect(h.state.index.size).toBe(2);
  });

  it('a failed commit accepts none of them; a full queue refuses the batch', async () => {
    h = createHarness({ maxQueue: 3, heartbeatIntervalMs: HOUR });
    await h.functions.put('f', { code: CODE }, false);
    h.store.failDurable = 'EIO';
    const send = (n: number) => h.executions.invokeBatch({ function: 'f', version: 0, inputJsons: Array.from({ length: n }, () => '1'), idempotencyKey: null });
    await expect(send(2)).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE' });
    expect(h.state.index.size).toBe(0);
    expect(h.state.pending.size).toBe(0);
    h.store.failDurable = null;
    await expect(send(4)).rejects.toMatchObject({ code: 'QUEUE_FULL' });
  });

  it('a delayed batch waits as a whole and then runs in order', async () => {
    h = createHarness({ heartbeatIntervalMs: HOUR });
    await h.functions.put('f', { code: CODE }, false);
    const { executions } = await h.executions.invokeBatch({ function: 'f', version: 0, inputJsons: ['1', '2', '3'], idempotencyKey: null, delayMs: 1_000 });
    expect(h.state.pending.size).toBe(0);
    await vi.advanceTimersByTimeAsync(1_000);
    expect([...h.state.pending.keys()]).toEqual(executions.map((e) => e.id));
  });
});

describe('priorities', () => {
  it('with the one slot busy, a queued critical runs before an earlier low and normal', async () => {
    h = createHarness({ heartbeatIntervalMs: HOUR });
    await h.functions.put('f', { code: CODE }, false);
    const { sent, worker } = h.connect('w_1', 1);
    await invoke({ inputJson: '"busy"' });
    await flushMicrotasks();
    const low = await invoke({ priority: 'low' });
    const normal = await invoke({});
    const critical = await invoke({ priority: 'critical' });
    expect(critical.execution.priority).toBe('critical');
    const order: string[] = [];
    for (let i = 0; i < 4; i += 1) {
      await flushMicrotasks();
      const ex = executes(sent)[i]!;
      order.push(ex.executionId);
      h.dispatcher.onResult(worker, ok(ex.executionId, ex.lease));
    }
    expect(order.slice(1)).toEqual([critical.execution.id, normal.execution.id, low.execution.id]);
  });

  it('aging: a low one runs under a steady stream of high ones', async () => {
    h = createHarness({ agingMs: 1_000, maxQueue: 10_000, heartbeatIntervalMs: HOUR });
    await h.functions.put('f', { code: CODE }, false);
    const { sent, worker } = h.connect('w_1', 1);
    await invoke({ priority: 'high' });
    const low = await invoke({ priority: 'low' });
    let done = 0;
    // Every 100 ms: two new high invokes arrive and the running one finishes. High work alone
    // would keep the slot busy for ever.
    for (let tick = 0; tick < 100 && h.state.index.get(low.execution.id)!.status === 'queued'; tick += 1) {
      await invoke({ priority: 'high' });
      await invoke({ priority: 'high' });
      await vi.advanceTimersByTimeAsync(100);
      const ex = executes(sent)[done]!;
      h.dispatcher.onResult(worker, ok(ex.executionId, ex.lease));
      done += 1;
      await flushMicrotasks();
    }
    const rec = h.state.index.get(low.execution.id)!;
    expect(rec.status).not.toBe('queued');
    // Two levels below high: only high work that arrived at most 2 × agingMs after it went first.
    const lowStart = Date.parse(rec.startedAt!);
    const lowCreated = Date.parse(rec.createdAt);
    const overtook = [...h.state.index.values()].filter(
      (e) => e.priority === 'high' && e.startedAt !== null && Date.parse(e.startedAt) < lowStart && Date.parse(e.createdAt) > lowCreated,
    );
    expect(overtook.length).toBeGreaterThan(0);
    for (const e of overtook) expect(Date.parse(e.createdAt) - lowCreated).toBeLessThanOrEqual(2_000);
  });

  it('per-function concurrency still holds: a blocked critical does not stop other work', async () => {
    h = createHarness({ heartbeatIntervalMs: HOUR });
    await h.functions.put('f', { code: CODE, concurrency: 1 }, false);
    await h.functions.put('g', { code: CODE }, false);
    const { sent } = h.connect('w_1', 3);
    await invoke({ priority: 'critical' });
    await invoke({ priority: 'critical' });
    const g = await invoke({ function: 'g', priority: 'low' });
    await flushMicrotasks();
    const running = executes(sent).map((e) => h.state.index.get(e.executionId)!.function);
    expect(running).toEqual(['f', 'g']);
    expect(h.state.index.get(g.execution.id)!.status).toBe('running');
  });
});
