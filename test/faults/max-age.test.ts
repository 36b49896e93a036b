/**
 * Maximum queue age (FunctionSpec `maxQueueMs`): with no worker connected, a queued execution
 * fails with EXPIRED once it has waited maxQueueMs, without ever running; a worker that joins
 * later never gets it, and the function's next invocations run there as usual.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { fn, startStack, type Stack } from '../helpers/stack.js';

let stack: Stack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

describe('maximum queue age', () => {
  it('maxQueueMs defaults to 1 h and is bounded to 1 s … 7 days', async () => {
    stack = await startStack({ workers: 0 });
    const s = stack;
    expect((await s.request('PUT', '/v1/functions/plain', fn('export default async () => 1'))).body).toMatchObject({ maxQueueMs: 3_600_000 });
    for (const bad of [999, 604_800_001, 1.5, '5000']) {
      const r = await s.request('PUT', '/v1/functions/bad', fn('export default async () => 1', { maxQueueMs: bad }));
      expect(r.status, `maxQueueMs ${String(bad)}`).toBe(400);
      expect(r.body.error.code).toBe('VALIDATION_ERROR');
    }
    for (const ok of [1_000, 604_800_000]) {
      expect((await s.request('PUT', '/v1/functions/edge', fn('export default async () => 1', { maxQueueMs: ok }))).body).toMatchObject({ maxQueueMs: ok });
    }
  });

  it('expires a still-queued execution with EXPIRED, and it does not run when a worker joins later', async () => {
    stack = await startStack({ workers: 0 });
    const s = stack;
    await s.request('PUT', '/v1/functions/short', fn('export default async (e) => ({ ran: e.n })', { maxQueueMs: 1_000 }));

    const t0 = Date.now();
    const r = await s.request('POST', '/v1/functions/short/invoke', { n: 1 });
    expect(r.status).toBe(202);
    const id: string = r.body.executionId;

    const expired = (await s.request('GET', `/v1/executions/${id}?waitMs=10000`)).body;
    const waited = Date.now() - t0;
    expect(expired).toMatchObject({ status: 'failed', error: { code: 'EXPIRED' }, output: null, workerId: null, startedAt: null });
    expect(expired.attempts ?? []).toEqual([]);
    expect(expired.finishedAt).toEqual(expect.any(String));
    // Not before its age bound (from acceptance), and promptly after it.
    expect(Date.parse(expired.finishedAt) - Date.parse(expired.createdAt)).toBeGreaterThanOrEqual(1_000);
    expect(waited).toBeLessThan(1_000 + 2_000);

    const worker = await s.startWorker();
    // The worker is used: a new invocation of the same function runs on it.
    const fresh = await s.request('POST', '/v1/functions/short/invoke?mode=sync', { n: 2 });
    expect(fresh.body).toMatchObject({ status: 'succeeded', output: { ran: 2 }, workerId: worker.id });

    expect((await s.request('GET', `/v1/executions/${id}`)).body).toEqual(expired);
    const rw = s.scheduler.internals.registry.get(worker.id)!;
    expect(rw.completed).toBe(1);
    const stats = await s.request('GET', '/v1/stats');
    expect(stats.body).toMatchObject({ queueDepth: 0, executions: { queued: 0, running: 0, failed: 1, succeeded: 1 } });
  });
});
