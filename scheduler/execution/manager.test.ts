import { afterEach, describe, expect, it } from 'vitest';
import { createHarness, executes, flushMicrotasks, type Harness } from '../testing/harness.js';

const CODE = 'export default async (e) => e';
let h: Harness;
afterEach(() => h?.close());

const result = (id: string, lease: string, ok = true) => ({
  executionId: id,
  lease,
  ok,
  outputJson: ok ? '{"r":1}' : '',
  error: ok ? undefined : { code: 'FUNCTION_ERROR', message: 'x', name: 'Error', stack: '', detailsJson: '' },
  durationMs: 3,
  initMs: 0,
  coldStart: false,
  startedAtMs: Date.now(),
  finishedAtMs: Date.now(),
  cpuMs: 0,
});

describe('execution manager', () => {
  it('an async invoke is acknowledged only after a durable write', async () => {
    h = createHarness();
    await h.functions.put('f', { code: CODE }, false);
    const r = await h.executions.invoke({ function: 'f', version: 0, inputJson: '{"a":1}', mode: 'async', idempotencyKey: null, waitMs: 0 });
    expect(h.store.durableIds).toEqual([r.execution.id]);
    expect(r.execution.status).toBe('queued');
  });

  it('a sync invoke is group-committed, not fsynced before it runs', async () => {
    h = createHarness();
    await h.functions.put('f', { code: CODE }, false);
    const { sent, worker } = h.connect('w_1');
    const pending = h.executions.invoke({ function: 'f', version: 0, inputJson: '1', mode: 'sync', idempotencyKey: null, waitMs: 5000 });
    await flushMicrotasks();
    const [ex] = executes(sent);
    h.dispatcher.onResult(worker, result(ex!.executionId, ex!.lease));
    const r = await pending;
    expect(r.execution.status).toBe('succeeded');
    expect(h.store.durableIds).toEqual([]);
    expect(h.store.executions.get(r.execution.id)?.status).toBe('succeeded');
  });

  it('a failed durable write is STORAGE_UNAVAILABLE and nothing is queued or visible', async () => {
    h = createHarness();
    await h.functions.put('f', { code: CODE }, false);
    h.store.failDurable = 'ENOSPC';
    await expect(h.executions.invoke({ function: 'f', version: 0, inputJson: '1', mode: 'async', idempotencyKey: 'k', waitMs: 0 })).rejects.toMatchObject({
      code: 'STORAGE_UNAVAILABLE',
      statusCode: 503,
    });
    expect(h.state.index.size).toBe(0);
    expect(h.state.pending.size).toBe(0);
    h.store.failDurable = null;
    // the idempotency key was not consumed by the failed attempt
    const again = await h.executions.invoke({ function: 'f', version: 0, inputJson: '1', mode: 'async', idempotencyKey: 'k', waitMs: 0 });
    expect(again.created).toBe(true);
  });

  it('an idempotency key reused with a different body is IDEMPOTENCY_MISMATCH; the same body returns the first execution', async () => {
    h = createHarness();
    await h.functions.put('f', { code: CODE }, false);
    const invoke = (inputJson: string, fn = 'f') => h.executions.invoke({ function: fn, version: 0, inputJson, mode: 'async', idempotencyKey: 'k', waitMs: 0 });
    // Concurrent: the second arrives while the first is being made durable.
    const [first, same, other] = await Promise.allSettled([invoke('{"n":1}'), invoke('{ "n": 1 }'), invoke('{"n":2}')]);
    expect(first.status === 'fulfilled' && first.value.created).toBe(true);
    const id = first.status === 'fulfilled' ? first.value.execution.id : '';
    expect(same).toMatchObject({ status: 'fulfilled', value: { created: false, execution: { id } } });
    expect(other).toMatchObject({ status: 'rejected', reason: { code: 'IDEMPOTENCY_MISMATCH', statusCode: 422 } });
    // Later: from the index.
    await expect(invoke('{"n":1}')).resolves.toMatchObject({ created: false, execution: { id } });
    await expect(invoke('{"n":3}')).rejects.toMatchObject({ code: 'IDEMPOTENCY_MISMATCH' });
    await expect(invoke('')).rejects.toMatchObject({ code: 'IDEMPOTENCY_MISMATCH' });
    expect(h.state.index.size).toBe(1);
    // Per function: the same key for another function is another execution.
    await h.functions.put('g', { code: CODE }, false);
    await expect(invoke('{"n":9}', 'g')).resolves.toMatchObject({ created: true });
  });

  it('past the queue bound an invoke is QUEUE_FULL', async () => {
    h = createHarness({ maxQueue: 1 });
    await h.functions.put('f', { code: CODE }, false);
    await h.executions.invoke({ function: 'f', version: 0, inputJson: '1', mode: 'async', idempotencyKey: null, waitMs: 0 });
    await expect(h.executions.invoke({ function: 'f', version: 0, inputJson: '1', mode: 'async', idempotencyKey: null, waitMs: 0 })).rejects.toMatchObject({
      code: 'QUEUE_FULL',
      statusCode: 429,
    });
  });

  it('bad input JSON is a VALIDATION_ERROR', async () => {
    h = createHarness();
    await h.functions.put('f', { code: CODE }, false);
    await expect(h.executions.invoke({ function: 'f', version: 0, inputJson: '{', mode: 'async', idempotencyKey: null, waitMs: 0 })).rejects.toMatchObject({
      code: 'VALIDATION_ERROR',
    });
  });

  it('a result with a stale lease changes nothing; the current lease completes the execution', async () => {
    h = createHarness();
    await h.functions.put('f', { code: CODE }, false);
    const { sent, worker } = h.connect('w_1');
    const r = await h.executions.invoke({ function: 'f', version: 0, inputJson: '1', mode: 'async', idempotencyKey: null, waitMs: 0 });
    await flushMicrotasks();
    const [ex] = executes(sent);
    h.dispatcher.onResult(worker, result(r.execution.id, 'not-the-lease'));
    expect(h.executions.get(r.execution.id).status).toBe('running');
    h.dispatcher.onResult(worker, result(r.execution.id, ex!.lease));
    expect(h.executions.get(r.execution.id)).toMatchObject({ status: 'succeeded', output: { r: 1 } });
  });

  it('prunes terminal executions past retention, and keeps live ones', async () => {
    h = createHarness({ retentionMs: 0 });
    await h.functions.put('f', { code: CODE }, false);
    const done = await h.executions.invoke({ function: 'f', version: 0, inputJson: '1', mode: 'async', idempotencyKey: null, waitMs: 0 });
    const live = await h.executions.invoke({ function: 'f', version: 0, inputJson: '1', mode: 'async', idempotencyKey: null, waitMs: 0 });
    h.executions.cancel(done.execution.id);
    await new Promise((r) => setTimeout(r, 5));
    expect(await h.executions.prune()).toBe(1);
    expect(() => h.executions.get(done.execution.id)).toThrowError(expect.objectContaining({ code: 'EXECUTION_NOT_FOUND' }));
    expect(h.store.executions.has(done.execution.id)).toBe(false);
    expect(h.executions.get(live.execution.id).status).toBe('queued');
  });

  it('losing a worker re-queues its running execution on another worker with attempt + 1', async () => {
    h = createHarness();
    await h.functions.put('f', { code: CODE }, false);
    const a = h.connect('w_a', 1);
    await h.executions.invoke({ function: 'f', version: 0, inputJson: '1', mode: 'async', idempotencyKey: null, waitMs: 0 });
    await flushMicrotasks();
    const [first] = executes(a.sent);
    expect(first).toBeDefined();
    const b = h.connect('w_b', 1);
    h.registry.streamClosed(a.worker);
    await flushMicrotasks();
    const [second] = executes(b.sent);
    expect(second).toMatchObject({ executionId: first!.executionId, attempt: 2 });
    expect(second!.lease).not.toBe(first!.lease);
    // the lost worker's late result is ignored
    h.dispatcher.onResult(a.worker, result(first!.executionId, first!.lease));
    expect(h.executions.get(first!.executionId).status).toBe('running');
    h.dispatcher.onResult(b.worker, result(second!.executionId, second!.lease));
    expect(h.executions.get(first!.executionId)).toMatchObject({ status: 'succeeded', attempt: 2 });
    expect(h.executions.get(first!.executionId).attempts!.map((x) => [x.workerId, x.errorCode])).toEqual([
      ['w_a', 'WORKER_LOST'],
      ['w_b', null],
    ]);
  });
});

describe('what a worker reports is recorded', () => {
  it('Result.cpu_ms becomes timings.cpuMs; a failure that never ran has null', async () => {
    h = createHarness();
    await h.functions.put('f', { code: CODE, maxRetries: 0 }, false);
    const { sent, worker } = h.connect('w_1');
    const ok = await h.executions.invoke({ function: 'f', version: 0, inputJson: '1', mode: 'async', idempotencyKey: null, waitMs: 0 });
    const bad = await h.executions.invoke({ function: 'f', version: 0, inputJson: '2', mode: 'async', idempotencyKey: null, waitMs: 0 });
    await flushMicrotasks();
    const [a, b] = executes(sent);
    h.dispatcher.onResult(worker, { ...result(a!.executionId, a!.lease), cpuMs: 7 });
    h.dispatcher.onResult(worker, {
      ...result(b!.executionId, b!.lease, false),
      durationMs: 0,
      cpuMs: 0,
      error: { code: 'SANDBOX_CRASH', message: 'did not start', name: '', stack: '', detailsJson: '' },
    });
    expect(h.state.index.get(ok.execution.id)!.timings).toEqual({ queuedMs: expect.any(Number), initMs: 0, runMs: 3, cpuMs: 7 });
    expect(h.state.index.get(bad.execution.id)!.timings).toMatchObject({ cpuMs: null });
  });

  it('a worker’s sandbox level is listed with it', () => {
    h = createHarness();
    const { worker } = h.connect('w_1');
    expect(worker.info()).toMatchObject({ id: 'w_1', sandbox: 'insecure' });
  });
});
