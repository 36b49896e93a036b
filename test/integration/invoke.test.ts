/**
 * Invocations end to end: real scheduler, gateway and worker processes.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { ExecutionChange } from '../../scheduler/execution/event-log.js';
import { fn, startStack, type Stack } from '../helpers/stack.js';

const ECHO = 'export default async (event, ctx) => ({ echo: event, id: ctx.executionId, attempt: ctx.attempt })';
const SLEEP = 'export default async (e) => { await new Promise((r) => setTimeout(r, e?.ms ?? 200)); return e?.tag ?? null }';

let stack: Stack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

describe('invoke', () => {
  it('async: 202 with location, durable on disk, then polled to success', async () => {
    stack = await startStack();
    expect((await stack.request('POST', '/v1/functions', fn(ECHO, { name: 'echo' }))).status).toBe(201);
    const r = await stack.request('POST', '/v1/functions/echo/invoke', { hello: 'world' });
    expect(r.status).toBe(202);
    expect(r.body).toMatchObject({ status: 'queued', executionId: expect.stringMatching(/^ex_/) });
    expect(r.body.statusUrl).toBe(`/v1/executions/${r.body.executionId}`);
    expect(r.headers.get('location')).toBe(r.body.statusUrl);
    const done = await stack.request('GET', `${r.body.statusUrl}?waitMs=10000`);
    expect(done.status).toBe(200);
    expect(done.body).toMatchObject({
      id: r.body.executionId,
      function: 'echo',
      version: 1,
      status: 'succeeded',
      mode: 'async',
      input: { hello: 'world' },
      output: { echo: { hello: 'world' }, id: r.body.executionId, attempt: 1 },
      error: null,
      attempt: 1,
      maxAttempts: 3,
      idempotencyKey: null,
    });
    expect(done.body.placement).toMatchObject({ workerId: stack.workers[0]!.id, candidates: 1 });
    expect(done.body.timings).toEqual({ queuedMs: expect.any(Number), initMs: expect.any(Number), runMs: expect.any(Number), cpuMs: expect.any(Number) });
    expect(done.body).not.toHaveProperty('lease');
  });

  it('sync: 200 with the record; an empty body is null', async () => {
    stack = await startStack();
    await stack.request('PUT', '/v1/functions/echo', fn(ECHO));
    const r = await stack.request('POST', '/v1/functions/echo/invoke?mode=sync');
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ status: 'succeeded', input: null, output: { echo: null } });
  });

  it('sync: 502 for a failed function with its error name, message and stack', async () => {
    stack = await startStack();
    await stack.request('PUT', '/v1/functions/boom', fn('export default async () => { throw new TypeError("bad thing") }'));
    const r = await stack.request('POST', '/v1/functions/boom/invoke?mode=sync', {});
    expect(r.status).toBe(502);
    expect(r.body.status).toBe('failed');
    expect(r.body.error).toMatchObject({ code: 'FUNCTION_ERROR', name: 'TypeError', message: 'bad thing' });
    expect(r.body.error.stack).toContain('bad thing');
    expect(r.body.attempt).toBe(1);
  });

  it('sync: 504 when the function times out', async () => {
    stack = await startStack();
    await stack.request('PUT', '/v1/functions/slow', fn('export default async () => { while (true) {} }', { timeoutMs: 300 }));
    const r = await stack.request('POST', '/v1/functions/slow/invoke?mode=sync', {});
    expect(r.status).toBe(504);
    expect(r.body).toMatchObject({ status: 'timed_out', error: { code: 'TIMEOUT' } });
  });

  it('sync: 202 with location when not finished within waitMs', async () => {
    stack = await startStack();
    await stack.request('PUT', '/v1/functions/sleep', fn(SLEEP));
    const r = await stack.request('POST', '/v1/functions/sleep/invoke?mode=sync&waitMs=50', { ms: 1500 });
    expect(r.status).toBe(202);
    expect(r.body.status).toMatch(/queued|running/);
    expect(r.headers.get('location')).toBe(`/v1/executions/${r.body.id}`);
    const later = await stack.request('GET', `/v1/executions/${r.body.id}?waitMs=10000`);
    expect(later.body.status).toBe('succeeded');
  });

  it('version=N runs that version', async () => {
    stack = await startStack();
    await stack.request('PUT', '/v1/functions/v', fn('export default async () => 1'));
    await stack.request('PUT', '/v1/functions/v', fn('export default async () => 2'));
    expect((await stack.request('POST', '/v1/functions/v/invoke?mode=sync')).body).toMatchObject({ version: 2, output: 2 });
    expect((await stack.request('POST', '/v1/functions/v/invoke?mode=sync&version=1')).body).toMatchObject({ version: 1, output: 1 });
    const missing = await stack.request('POST', '/v1/functions/v/invoke?version=9');
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('FUNCTION_NOT_FOUND');
  });

  it('idempotency-key with the same body returns the first execution instead of starting another', async () => {
    stack = await startStack();
    await stack.request('PUT', '/v1/functions/echo', fn(ECHO));
    const h = { 'idempotency-key': 'order-42' };
    const [a, b] = await Promise.all([
      stack.request('POST', '/v1/functions/echo/invoke', { n: 1 }, h),
      stack.request('POST', '/v1/functions/echo/invoke', { n: 1 }, h),
    ]);
    expect(a.body.executionId).toBe(b.body.executionId);
    const c = await stack.request('POST', '/v1/functions/echo/invoke?mode=sync', '{ "n": 1 }', h);
    expect(c.body.id).toBe(a.body.executionId);
    expect(c.body.idempotencyKey).toBe('order-42');
    const list = await stack.request('GET', '/v1/executions?function=echo');
    expect(list.body.executions).toHaveLength(1);
  });

  it('idempotency-key reused with a different body is 422 IDEMPOTENCY_MISMATCH and starts nothing', async () => {
    stack = await startStack();
    await stack.request('PUT', '/v1/functions/echo', fn(ECHO));
    const h = { 'idempotency-key': 'order-43' };
    const first = await stack.request('POST', '/v1/functions/echo/invoke', { n: 1 }, h);
    expect(first.status).toBe(202);
    const other = await stack.request('POST', '/v1/functions/echo/invoke', { n: 2 }, h);
    expect(other.status).toBe(422);
    expect(other.body).toMatchObject({ error: { code: 'IDEMPOTENCY_MISMATCH', details: { idempotencyKey: 'order-43' } } });
    const list = await stack.request('GET', '/v1/executions?function=echo');
    expect(list.body.executions.map((e: { id: string }) => e.id)).toEqual([first.body.executionId]);
  });

  it('long-poll answers with the current state after waitMs when not terminal', async () => {
    stack = await startStack();
    await stack.request('PUT', '/v1/functions/sleep', fn(SLEEP));
    const r = await stack.request('POST', '/v1/functions/sleep/invoke', { ms: 2000 });
    const t0 = Date.now();
    const polled = await stack.request('GET', `/v1/executions/${r.body.executionId}?waitMs=200`);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(150);
    expect(polled.body.status).toMatch(/queued|running/);
  });

  it('logs capture console output per execution', async () => {
    stack = await startStack();
    await stack.request('PUT', '/v1/functions/talk', fn('export default async () => { console.log("hello", 1); console.error("oops"); return 0 }'));
    const r = await stack.request('POST', '/v1/functions/talk/invoke?mode=sync');
    const logs = await stack.request('GET', `/v1/executions/${r.body.id}/logs`);
    expect(logs.status).toBe(200);
    expect(logs.body).toMatchObject({ executionId: r.body.id, truncated: false });
    expect(logs.body.lines.map((l: { stream: string; message: string }) => [l.stream, l.message])).toEqual([
      ['stdout', 'hello 1'],
      ['stderr', 'oops'],
    ]);
    expect(logs.body.lines[0].ts).toMatch(/^\d{4}-\d{2}-\d{2}T/);
  });

  it('lists newest first with filters and a cursor', async () => {
    stack = await startStack();
    await stack.request('PUT', '/v1/functions/a', fn(ECHO));
    await stack.request('PUT', '/v1/functions/b', fn('export default async () => { throw new Error("x") }', { maxRetries: 0 }));
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await stack.request('POST', '/v1/functions/a/invoke?mode=sync', { i })).body.id);
    await stack.request('POST', '/v1/functions/b/invoke?mode=sync');
    const p1 = await stack.request('GET', '/v1/executions?function=a&limit=2');
    expect(p1.body.executions.map((e: { id: string }) => e.id)).toEqual([ids[2], ids[1]]);
    expect(p1.body.executions[0]).not.toHaveProperty('input');
    expect(p1.body.executions[0]).not.toHaveProperty('output');
    const p2 = await stack.request('GET', `/v1/executions?function=a&limit=2&cursor=${p1.body.nextCursor}`);
    expect(p2.body.executions.map((e: { id: string }) => e.id)).toEqual([ids[0]]);
    expect(p2.body.nextCursor).toBeNull();
    const failed = await stack.request('GET', '/v1/executions?status=failed');
    expect(failed.body.executions.map((e: { function: string }) => e.function)).toEqual(['b']);
  });

  it('async function errors retry up to maxRetries, each attempt visible', async () => {
    stack = await startStack({ scheduler: { retryBaseMs: 20, retryCapMs: 40 } });
    await stack.request(
      'PUT',
      '/v1/functions/flaky',
      fn('export default async (e, ctx) => { if (ctx.attempt < 3) throw new Error("try " + ctx.attempt); return ctx.attempt }', { maxRetries: 2 }),
    );
    const r = await stack.request('POST', '/v1/functions/flaky/invoke', {});
    const done = await stack.request('GET', `/v1/executions/${r.body.executionId}?waitMs=10000`);
    expect(done.body).toMatchObject({ status: 'succeeded', output: 3, attempt: 3, maxAttempts: 3 });
    expect(done.body.attempts.map((a: { errorCode: string | null }) => a.errorCode)).toEqual(['FUNCTION_ERROR', 'FUNCTION_ERROR', null]);
  });

  it('sync invocations do not retry a function error', async () => {
    stack = await startStack({ scheduler: { retryBaseMs: 10, retryCapMs: 10 } });
    await stack.request('PUT', '/v1/functions/bad', fn('export default async () => { throw new Error("no") }', { maxRetries: 3 }));
    const r = await stack.request('POST', '/v1/functions/bad/invoke?mode=sync');
    expect(r.body).toMatchObject({ status: 'failed', attempt: 1 });
  });
});

describe('cancel', () => {
  it('cancels a queued execution; it never runs', async () => {
    stack = await startStack({ workers: 0 });
    await stack.request('PUT', '/v1/functions/echo', fn(ECHO));
    const r = await stack.request('POST', '/v1/functions/echo/invoke', {});
    const c = await stack.request('POST', `/v1/executions/${r.body.executionId}/cancel`);
    expect(c.status).toBe(200);
    expect(c.body).toMatchObject({ status: 'cancelled', error: { code: 'CANCELLED' }, workerId: null });
    await stack.startWorker();
    const again = await stack.request('POST', `/v1/executions/${r.body.executionId}/cancel`);
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('EXECUTION_FINISHED');
    expect((await stack.request('GET', `/v1/executions/${r.body.executionId}`)).body.status).toBe('cancelled');
  });

  it('cancels a running execution, kills its sandbox and frees the slot', async () => {
    stack = await startStack({ capacity: 1 });
    await stack.request('PUT', '/v1/functions/spin', fn('export default async () => { while (true) {} }', { timeoutMs: 60000 }));
    await stack.request('PUT', '/v1/functions/echo', fn(ECHO));
    const r = await stack.request('POST', '/v1/functions/spin/invoke', {});
    const id = r.body.executionId;
    const running = new Promise<void>((resolve) => {
      const watch = stack!.scheduler.internals.state.eventLog.watch({ executionId: id }, (e: ExecutionChange) => {
        if (e.status === 'running') {
          watch.close();
          resolve();
        }
      });
    });
    const current = await stack.request('GET', `/v1/executions/${id}`);
    if (current.body.status !== 'running') await running;
    const c = await stack.request('POST', `/v1/executions/${id}/cancel`);
    expect(c.status).toBe(200);
    expect(c.body.status).toBe('cancelled');
    // capacity is 1: this only succeeds once the spinning sandbox was killed and its slot freed
    const next = await stack.request('POST', '/v1/functions/echo/invoke?mode=sync&waitMs=10000', {});
    expect(next.body.status).toBe('succeeded');
  });
});

describe('cluster behaviour', () => {
  it('holds the per-function concurrency limit cluster-wide', async () => {
    stack = await startStack({ workers: 2, capacity: 2 });
    await stack.request('PUT', '/v1/functions/one', fn(SLEEP, { concurrency: 1 }));
    let running = 0;
    let peak = 0;
    stack.scheduler.internals.state.eventLog.watch({}, (e: ExecutionChange) => {
      if (e.function !== 'one') return;
      if (e.status === 'running') peak = Math.max(peak, ++running);
      else if (e.status !== 'queued') running -= 1;
    });
    const ids = await Promise.all([1, 2, 3].map(async () => (await stack!.request('POST', '/v1/functions/one/invoke', { ms: 150 })).body.executionId));
    for (const id of ids) expect((await stack.request('GET', `/v1/executions/${id}?waitMs=10000`)).body.status).toBe('succeeded');
    expect(peak).toBe(1);
  });

  it('spreads load over two workers and never exceeds a worker capacity', async () => {
    stack = await startStack({ workers: 2, capacity: 2 });
    await stack.request('PUT', '/v1/functions/sleep', fn(SLEEP));
    const ids = await Promise.all([0, 1, 2, 3].map(async () => (await stack!.request('POST', '/v1/functions/sleep/invoke', { ms: 400 })).body.executionId));
    const records = await Promise.all(ids.map(async (id) => (await stack!.request('GET', `/v1/executions/${id}?waitMs=10000`)).body));
    const perWorker = new Map<string, number>();
    for (const r of records) {
      expect(r.status).toBe('succeeded');
      perWorker.set(r.workerId, (perWorker.get(r.workerId) ?? 0) + 1);
      expect(r.placement.load).toBeLessThan(1);
    }
    expect([...perWorker.keys()].sort()).toEqual(stack.workers.map((w) => w.id).sort());
    expect([...perWorker.values()]).toEqual([2, 2]);
  });

  it('answers 429 QUEUE_FULL past the queue bound, with retry-after', async () => {
    stack = await startStack({ workers: 0, scheduler: { maxQueue: 2 } });
    await stack.request('PUT', '/v1/functions/echo', fn(ECHO));
    expect((await stack.request('POST', '/v1/functions/echo/invoke')).status).toBe(202);
    expect((await stack.request('POST', '/v1/functions/echo/invoke')).status).toBe(202);
    const full = await stack.request('POST', '/v1/functions/echo/invoke');
    expect(full.status).toBe(429);
    expect(full.body.error.code).toBe('QUEUE_FULL');
    expect(full.headers.get('retry-after')).toBeTruthy();
  });

  it('dispatches queued work the moment a worker joins', async () => {
    stack = await startStack({ workers: 0 });
    await stack.request('PUT', '/v1/functions/echo', fn(ECHO));
    const r = await stack.request('POST', '/v1/functions/echo/invoke', { x: 1 });
    expect((await stack.request('GET', `/v1/executions/${r.body.executionId}`)).body.status).toBe('queued');
    await stack.startWorker();
    expect((await stack.request('GET', `/v1/executions/${r.body.executionId}?waitMs=10000`)).body.status).toBe('succeeded');
  });

  it('lists workers and stats', async () => {
    stack = await startStack({ workers: 2, capacity: 3 });
    await stack.request('PUT', '/v1/functions/echo', fn(ECHO));
    await stack.request('POST', '/v1/functions/echo/invoke?mode=sync');
    const workers = await stack.request('GET', '/v1/workers');
    expect(workers.body.workers).toHaveLength(2);
    expect(workers.body.workers[0]).toMatchObject({ status: 'ready', capacity: 3, inFlight: 0, connectedAt: expect.any(String) });
    const stats = await stack.request('GET', '/v1/stats');
    expect(stats.body).toEqual({
      executions: { queued: 0, running: 0, succeeded: 1, failed: 0, timed_out: 0, cancelled: 0 },
      queueDepth: 0,
      workers: { ready: 2, draining: 0, lost: 0 },
    });
  });
});

describe('maximum queue age', () => {
  it('a queued execution past maxQueueMs fails EXPIRED and does not run when a worker joins', async () => {
    stack = await startStack({ workers: 0 });
    await stack.request('PUT', '/v1/functions/stale', fn(ECHO, { maxQueueMs: 1000 }));
    const r = await stack.request('POST', '/v1/functions/stale/invoke', {});
    const expired = await stack.request('GET', `/v1/executions/${r.body.executionId}?waitMs=5000`);
    expect(expired.body).toMatchObject({ status: 'failed', error: { code: 'EXPIRED' }, workerId: null, attempts: [] });
    await stack.startWorker();
    const later = await stack.request('GET', `/v1/executions/${r.body.executionId}`);
    expect(later.body).toMatchObject({ status: 'failed', error: { code: 'EXPIRED' }, workerId: null, attempts: [] });
  });
});
