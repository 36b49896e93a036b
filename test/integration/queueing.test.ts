/**
 * Delayed invokes, batch invokes and priorities end to end: real scheduler, gateway and worker
 * processes. Time is asserted on the recorded timestamps, never on how long a test slept.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Execution } from '../../common/records.js';
import { fn, startStack, type Stack } from '../helpers/stack.js';

const ECHO = 'export default async (event) => ({ echo: event })';
const SLEEP = 'export default async (e) => { await new Promise((r) => setTimeout(r, e?.ms ?? 0)); return e?.tag ?? null }';

let stack: Stack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

async function finished(s: Stack, id: string): Promise<Execution> {
  for (let i = 0; i < 20; i += 1) {
    const r = await s.request('GET', `/v1/executions/${id}?waitMs=5000`);
    expect(r.status).toBe(200);
    if (!['queued', 'running'].includes(r.body.status)) return r.body as Execution;
  }
  throw new Error(`${id} did not finish`);
}

describe('delayed invokes', () => {
  it('delayMs: 202, queued with scheduledFor, and it starts no earlier than that', async () => {
    stack = await startStack();
    await stack.request('PUT', '/v1/functions/echo', fn(ECHO));
    const r = await stack.request('POST', '/v1/functions/echo/invoke?delayMs=1500', { n: 1 });
    expect(r.status).toBe(202);
    const queued = await stack.request('GET', r.body.statusUrl);
    expect(queued.body).toMatchObject({ status: 'queued', priority: 'normal' });
    const scheduledFor = Date.parse(queued.body.scheduledFor);
    expect(scheduledFor - Date.parse(queued.body.createdAt)).toBe(1500);
    const done = await finished(stack, r.body.executionId);
    expect(done).toMatchObject({ status: 'succeeded', output: { echo: { n: 1 } } });
    expect(Date.parse(done.startedAt!)).toBeGreaterThanOrEqual(scheduledFor);
    expect(done.attempts).toHaveLength(1);
  });

  it('at: a time in the past runs now; a far one, both at and delayMs, or mode=sync with a delay is 400', async () => {
    stack = await startStack();
    await stack.request('PUT', '/v1/functions/echo', fn(ECHO));
    const past = await stack.request('POST', '/v1/functions/echo/invoke?at=2020-01-01T00:00:00Z', 1);
    expect(past.status).toBe(202);
    expect((await finished(stack, past.body.executionId)).status).toBe('succeeded');
    const far = new Date(Date.now() + 40 * 24 * 3600 * 1000).toISOString();
    for (const q of [`at=${far}`, 'at=2030-01-01T00:00:00Z&delayMs=5', 'mode=sync&delayMs=1000', 'at=yesterday']) {
      const res = await stack.request('POST', `/v1/functions/echo/invoke?${q}`, 1);
      expect(res.status, q).toBe(400);
      expect(res.body.error.code).toBe('VALIDATION_ERROR');
    }
  });

  it('cancel before it starts: cancelled, and it never runs', async () => {
    stack = await startStack();
    await stack.request('PUT', '/v1/functions/echo', fn(ECHO));
    const r = await stack.request('POST', '/v1/functions/echo/invoke?delayMs=600', 1);
    const c = await stack.request('POST', `/v1/executions/${r.body.executionId}/cancel`);
    expect(c.status).toBe(200);
    expect(c.body).toMatchObject({ status: 'cancelled', startedAt: null });
    // A later invoke with a longer delay has run by the time we look again: the cancelled one did not.
    const later = await stack.request('POST', '/v1/functions/echo/invoke?delayMs=900', 2);
    expect((await finished(stack, later.body.executionId)).status).toBe('succeeded');
    const again = await stack.request('GET', `/v1/executions/${r.body.executionId}`);
    expect(again.body).toMatchObject({ status: 'cancelled', startedAt: null, attempts: [] });
  });

  it('a scheduler restart with delayed executions pending: each runs once, at or after its time', async () => {
    stack = await startStack();
    await stack.request('PUT', '/v1/functions/echo', fn(ECHO));
    const ids: string[] = [];
    for (const d of [300, 1200, 2500]) ids.push((await stack.request('POST', `/v1/functions/echo/invoke?delayMs=${d}`, d)).body.executionId as string);
    await stack.restartScheduler();
    for (const id of ids) {
      const done = await finished(stack, id);
      expect(done.status).toBe('succeeded');
      expect(Date.parse(done.startedAt!)).toBeGreaterThanOrEqual(Date.parse(done.scheduledFor!));
      expect(done.attempts).toHaveLength(1);
    }
  });
});

describe('batch invokes', () => {
  it('1,000 events: 202 with 1,000 ids in order, all durable; 1,001 is 400', async () => {
    stack = await startStack();
    await stack.request('PUT', '/v1/functions/echo', fn(ECHO));
    const events = Array.from({ length: 1000 }, (_, i) => ({ i }));
    const r = await stack.request('POST', '/v1/functions/echo/invoke-batch', { events });
    expect(r.status).toBe(202);
    const ids = (r.body.executions as Array<{ executionId: string }>).map((e) => e.executionId);
    expect(new Set(ids).size).toBe(1000);
    // Durable before the 202: a restart right away still has every one, with its own event.
    await stack.restartScheduler();
    for (const [i, id] of ids.entries()) {
      if (i % 50 !== 0 && i !== 999) continue;
      const rec = await stack.request('GET', `/v1/executions/${id}`);
      expect(rec.status).toBe(200);
      expect(rec.body.input).toEqual({ i });
    }
    const stats = await stack.request('GET', '/v1/stats');
    const counts = stats.body.executions as Record<string, number>;
    expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(1000);
    const over = await stack.request('POST', '/v1/functions/echo/invoke-batch', { events: [...events, { i: 1000 }] });
    expect(over.status).toBe(400);
    expect(over.body.error.code).toBe('VALIDATION_ERROR');
  });

  it('takes the invoke scope: a read key is 403, an invoke key limited to the function is 202, to another 403', async () => {
    stack = await startStack();
    await stack.request('PUT', '/v1/functions/echo', fn(ECHO));
    const key = async (scopes: string[], functions?: string[]): Promise<string> =>
      (await stack!.request('POST', '/v1/keys', { name: scopes.join('-'), scopes, ...(functions && { functions }) })).body.key as string;
    const body = { events: [1] };
    expect((await stack.requestAs(await key(['read']), 'POST', '/v1/functions/echo/invoke-batch', body)).status).toBe(403);
    expect((await stack.requestAs(await key(['invoke'], ['echo']), 'POST', '/v1/functions/echo/invoke-batch', body)).status).toBe(202);
    expect((await stack.requestAs(await key(['invoke'], ['other']), 'POST', '/v1/functions/echo/invoke-batch', body)).status).toBe(403);
    expect((await stack.requestAs(null, 'POST', '/v1/functions/echo/invoke-batch', body)).status).toBe(401);
  });

  it('runs the events in their order on one slot; an unknown function is 404', async () => {
    stack = await startStack({ capacity: 1 });
    await stack.request('PUT', '/v1/functions/sleep', fn(SLEEP));
    const r = await stack.request('POST', '/v1/functions/sleep/invoke-batch', { events: [1, 2, 3, 4, 5].map((tag) => ({ tag })) });
    expect(r.status).toBe(202);
    const recs: Execution[] = [];
    for (const { executionId } of r.body.executions as Array<{ executionId: string }>) recs.push(await finished(stack, executionId));
    expect(recs.map((e) => e.output)).toEqual([1, 2, 3, 4, 5]);
    for (let i = 1; i < recs.length; i += 1) expect(Date.parse(recs[i]!.startedAt!)).toBeGreaterThanOrEqual(Date.parse(recs[i - 1]!.startedAt!));
    const missing = await stack.request('POST', '/v1/functions/nope/invoke-batch', { events: [1] });
    expect(missing.status).toBe(404);
  });
});

describe('priorities', () => {
  it('with the one slot busy, queued critical runs before normal before low', async () => {
    stack = await startStack({ capacity: 1 });
    await stack.request('PUT', '/v1/functions/sleep', fn(SLEEP));
    const busy = await stack.request('POST', '/v1/functions/sleep/invoke', { ms: 1500, tag: 'busy' });
    // Wait until the one slot is taken, so the rest queue behind it.
    for (let i = 0; i < 100; i += 1) {
      if ((await stack.request('GET', `/v1/executions/${busy.body.executionId}`)).body.status === 'running') break;
      await new Promise((res) => setTimeout(res, 20));
    }
    const ids: Record<string, string> = {};
    for (const p of ['low', 'normal', 'critical']) {
      const r = await stack.request('POST', `/v1/functions/sleep/invoke?priority=${p}`, { tag: p });
      expect(r.status).toBe(202);
      ids[p] = r.body.executionId as string;
    }
    const start = async (p: string): Promise<number> => {
      const rec = await finished(stack!, ids[p]!);
      expect(rec.priority).toBe(p);
      return Date.parse(rec.startedAt!);
    };
    const [critical, normal, low] = [await start('critical'), await start('normal'), await start('low')];
    expect(critical).toBeLessThanOrEqual(normal);
    expect(normal).toBeLessThanOrEqual(low);
    const bad = await stack.request('POST', '/v1/functions/sleep/invoke?priority=urgent', {});
    expect(bad.status).toBe(400);
  });
});
