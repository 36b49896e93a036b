/**
 * Poison pills through the dispatcher (DESIGN.md "Sandbox": an execution that kills its sandbox or
 * worker twice is failed, not retried). Fake worker connections on the scheduler harness: the
 * stream of each worker that runs the execution dies under it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Result } from '../../proto/gen/taskforge/v1/worker.js';
import { createHarness, executes, flushMicrotasks, type Harness } from '../testing/harness.js';

let h: Harness;
afterEach(() => h?.close());

const CODE = 'export default async (e) => e';

const crashResult = (executionId: string, lease: string, code: string): Result => ({
  executionId,
  lease,
  ok: false,
  outputJson: '',
  error: { code, message: 'sandbox exited', name: '', stack: '', detailsJson: '' },
  durationMs: 1,
  initMs: 0,
  coldStart: false,
  startedAtMs: Date.now(),
  finishedAtMs: Date.now(),
  cpuMs: 0,
});

async function invoke(mode: 'async' | 'sync', maxRetries: number): Promise<string> {
  await h.functions.put('boom', { code: CODE, maxRetries }, false);
  const r = h.executions.invoke({ function: 'boom', version: 0, inputJson: '{}', mode, idempotencyKey: null, waitMs: 60_000 });
  if (mode === 'async') return (await r).execution.id;
  await flushMicrotasks();
  return [...h.state.index.values()][0]!.id;
}

describe('poison pills', () => {
  it('an async execution whose worker dies under it twice is failed, though attempts remain', async () => {
    h = createHarness();
    const id = await invoke('async', 10);
    for (const name of ['w_1', 'w_2']) {
      const { worker, sent } = h.connect(name);
      await flushMicrotasks();
      expect(executes(sent).map((e) => e.executionId)).toEqual([id]);
      h.registry.streamClosed(worker);
      await flushMicrotasks();
    }
    const rec = h.state.index.get(id)!;
    expect(rec.status).toBe('failed');
    expect(rec.attempt).toBe(2);
    expect(rec.crashes).toBe(2);
    expect(rec.error).toEqual({ code: 'WORKER_LOST', message: 'worker w_2 was lost; killed its sandbox or worker 2 times; not retried' });
    expect(rec.attempts!.map((a) => [a.workerId, a.errorCode])).toEqual([
      ['w_1', 'WORKER_LOST'],
      ['w_2', 'WORKER_LOST'],
    ]);
    // A third worker gets nothing.
    const third = h.connect('w_3');
    await flushMicrotasks();
    expect(executes(third.sent)).toEqual([]);
  });

  it('a protocol break then an out-of-memory is a poison pill that keeps the last code', async () => {
    h = createHarness({ retryBaseMs: 1 });
    const id = await invoke('async', 10);
    const a = h.connect('w_1');
    await flushMicrotasks();
    const [ex] = executes(a.sent);
    h.dispatcher.onResult(a.worker, crashResult(id, ex!.lease, 'SANDBOX_PROTOCOL'));
    expect(h.state.index.get(id)).toMatchObject({ status: 'queued', crashes: 1, attempt: 2 });
    await new Promise((r) => setTimeout(r, 10));
    await flushMicrotasks();
    const [again] = executes(a.sent).slice(1);
    expect(again!.attempt).toBe(2);
    h.dispatcher.onResult(a.worker, crashResult(id, again!.lease, 'OUT_OF_MEMORY'));
    expect(h.state.index.get(id)).toMatchObject({
      status: 'failed',
      crashes: 2,
      error: { code: 'OUT_OF_MEMORY', message: 'sandbox exited; killed its sandbox or worker 2 times; not retried' },
    });
  });

  it('a refusal by a live worker is no crash: the execution still runs', async () => {
    h = createHarness();
    const id = await invoke('async', 2);
    const a = h.connect('w_1');
    await flushMicrotasks();
    const [ex] = executes(a.sent);
    h.dispatcher.onResult(a.worker, crashResult(id, ex!.lease, 'WORKER_LOST'));
    await flushMicrotasks();
    const rec = h.state.index.get(id)!;
    expect(rec).toMatchObject({ status: 'running', attempt: 2 });
    expect(rec.crashes).toBeUndefined();
  });

  it('a sync invoke is re-queued on WORKER_LOST once, never twice', async () => {
    h = createHarness();
    const id = await invoke('sync', 10);
    const a = h.connect('w_1');
    await flushMicrotasks();
    const [first] = executes(a.sent);
    h.dispatcher.onResult(a.worker, crashResult(id, first!.lease, 'WORKER_LOST'));
    await flushMicrotasks();
    const [second] = executes(a.sent).slice(1);
    expect(second!.attempt).toBe(2);
    h.dispatcher.onResult(a.worker, crashResult(id, second!.lease, 'WORKER_LOST'));
    await flushMicrotasks();
    expect(h.state.index.get(id)).toMatchObject({ status: 'failed', attempt: 2, error: { code: 'WORKER_LOST' } });
    expect(executes(a.sent)).toHaveLength(2);
  });
});
