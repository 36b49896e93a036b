/**
 * Topics and cron on a real stack (scheduler, gateway, a worker process): a publish fans out to
 * every matching subscriber and each runs; CloudEvents are accepted whole and malformed ones
 * refused in the API's error shape; a cron trigger fires once per tick, also across a restart.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Execution } from '../../common/records.js';
import { fn, startStack, type Stack } from '../helpers/stack.js';

const ECHO = 'export default async (e, ctx) => ({ got: e, fn: ctx.functionName })';

let stack: Stack | undefined;
let dir: string | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

async function finished(s: Stack, id: string): Promise<Execution> {
  for (;;) {
    const r = await s.request('GET', `/v1/executions/${id}?waitMs=10000`);
    expect(r.status).toBe(200);
    if (!['queued', 'running'].includes(r.body.status)) return r.body as Execution;
  }
}

/** Every execution of `name`, oldest first. */
async function executionsOf(s: Stack, name: string): Promise<Execution[]> {
  const r = await s.request('GET', `/v1/executions?function=${name}&limit=500`);
  expect(r.status).toBe(200);
  return (r.body.executions as Execution[]).reverse();
}

describe('topics', () => {
  it('a publish starts one execution per matching subscriber; each runs with the event and says what started it', async () => {
    stack = await startStack({ capacity: 4 });
    const subscribers = ['sub-a', 'sub-b', 'sub-c', 'sub-d'];
    for (const name of subscribers) {
      const r = await stack.request('PUT', `/v1/functions/${name}`, fn(ECHO, { triggers: [{ type: 'topic', topic: 'orders.created' }] }));
      expect(r.status).toBe(201);
    }
    await stack.request('PUT', '/v1/functions/eu-only', fn(ECHO, { triggers: [{ type: 'topic', topic: 'orders.created', filter: { region: 'eu' } }] }));
    await stack.request('PUT', '/v1/functions/bystander', fn(ECHO, { triggers: [{ type: 'topic', topic: 'orders.paid' }] }));

    const us = await stack.request('POST', '/v1/topics/orders.created/events', { region: 'us', id: 1 });
    expect(us.status).toBe(202);
    expect(us.body.executions.map((e: { function: string }) => e.function)).toEqual(subscribers);
    const eu = await stack.request('POST', '/v1/topics/orders.created/events', { region: 'eu', id: 2 });
    expect(eu.body.executions.map((e: { function: string }) => e.function).sort()).toEqual([...subscribers, 'eu-only'].sort());

    for (const { function: name, executionId } of eu.body.executions as Array<{ function: string; executionId: string }>) {
      const rec = await finished(stack, executionId);
      expect(rec).toMatchObject({
        status: 'succeeded',
        function: name,
        mode: 'async',
        input: { region: 'eu', id: 2 },
        output: { got: { region: 'eu', id: 2 }, fn: name },
        trigger: { type: 'topic', topic: 'orders.created', eventId: eu.body.eventId },
      });
    }
    const nobody = await stack.request('POST', '/v1/topics/no.subscribers/events', { x: 1 });
    expect(nobody).toMatchObject({ status: 202, body: { executions: [] } });
    expect(nobody.body.eventId).toMatch(/^evt_/);
    // An invoke says nothing started it.
    const direct = await stack.request('POST', '/v1/functions/bystander/invoke?mode=sync', { n: 1 });
    expect(direct.body.trigger).toBeNull();
  });

  it('a CloudEvent is accepted and handed over whole; a malformed one is 400 in the error shape', async () => {
    stack = await startStack();
    await stack.request('PUT', '/v1/functions/ce', fn(ECHO, { triggers: [{ type: 'topic', topic: 'shop', filter: { type: 'com.shop.order.created' } }] }));
    const ce = { specversion: '1.0', id: 'o-1', source: '/shop', type: 'com.shop.order.created', datacontenttype: 'application/json', data: { total: 12 } };
    const headers = { 'content-type': 'application/cloudevents+json' };
    const ok = await stack.request('POST', '/v1/topics/shop/events', ce, headers);
    expect(ok.status).toBe(202);
    expect(ok.body.executions).toHaveLength(1);
    expect((await finished(stack, ok.body.executions[0].executionId)).output).toEqual({ got: ce, fn: 'ce' });
    const other = await stack.request('POST', '/v1/topics/shop/events', { ...ce, type: 'com.shop.order.paid' }, headers);
    expect(other.body.executions).toEqual([]);

    const { id: _id, ...noId } = ce;
    const bad = await stack.request('POST', '/v1/topics/shop/events', noId, headers);
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({
      error: { code: 'VALIDATION_ERROR', message: 'body.id: required non-empty string', details: { field: 'body.id', reason: 'cloudevent' } },
    });
    const badTime = await stack.request('POST', '/v1/topics/shop/events', { ...ce, time: 'soon' }, headers);
    expect(badTime.status).toBe(400);
    expect(badTime.body.error.details).toMatchObject({ field: 'body.time', reason: 'cloudevent' });
    const text = await stack.request('POST', '/v1/topics/shop/events', 'hello', { 'content-type': 'text/plain' });
    expect(text.status).toBe(415);
    expect((await executionsOf(stack, 'ce')).length).toBe(1);
  });

  it('a spec with a bad trigger is refused naming the field', async () => {
    stack = await startStack({ workers: 0 });
    const bad = await stack.request('PUT', '/v1/functions/f', fn(ECHO, { triggers: [{ type: 'cron', schedule: '*/5 * * *' }] }));
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ code: 'VALIDATION_ERROR', details: { field: 'triggers[0].schedule', reason: 'schedule' } });
    const tz = await stack.request('PUT', '/v1/functions/f', fn(ECHO, { triggers: [{ type: 'cron', schedule: '* * * * *', timezone: 'Nowhere/City' }] }));
    expect(tz.body.error.details).toMatchObject({ field: 'triggers[0].timezone', reason: 'timezone' });
    const topic = await stack.request('PUT', '/v1/functions/f', fn(ECHO, { triggers: [{ type: 'topic', topic: 'Upper' }] }));
    expect(topic.status).toBe(400);
  });
});

describe('cron', () => {
  it('fires one execution per tick with its input, shows the next tick, and keeps counting across a restart', { timeout: 30_000 }, async () => {
    dir = await mkdtemp(join(tmpdir(), 'taskforge-cron-'));
    stack = await startStack({ dataDir: dir });
    const trigger = { type: 'cron', schedule: '* * * * * *', input: { job: 'tick' } };
    const put = await stack.request('PUT', '/v1/functions/every-second', fn(ECHO, { triggers: [trigger] }));
    expect(put.status).toBe(201);
    const nextAt = Date.parse(put.body.triggers[0].nextAt);
    expect(nextAt).toBeGreaterThan(Date.now() - 1000);
    const info = await stack.request('GET', '/v1/functions/every-second');
    expect(info.body.triggers[0]).toMatchObject({ ...trigger, nextAt: expect.stringMatching(/^\d{4}-.*Z$/) });

    const waitFor = async (count: number): Promise<Execution[]> => {
      for (;;) {
        const list = await executionsOf(stack!, 'every-second');
        if (list.length >= count) return list;
        await new Promise((r) => setTimeout(r, 200));
      }
    };
    const before = await waitFor(3);
    await stack.restartScheduler();
    const after = await waitFor(before.length + 3);

    const ticks = after.map((e) => (e.trigger as { type: string; tick: string }).tick);
    expect(new Set(ticks).size, `ticks ${ticks.join(' ')}`).toBe(ticks.length);
    for (const listed of after) {
      const e = (await stack.request('GET', `/v1/executions/${listed.id}`)).body as Execution;
      expect(e.trigger).toMatchObject({ type: 'cron' });
      expect(e.input).toEqual({ job: 'tick' });
      expect(Date.parse(e.createdAt)).toBeGreaterThanOrEqual(Date.parse((e.trigger as { tick: string }).tick));
    }
    const done = await finished(stack, after[0]!.id);
    expect(done.output).toEqual({ got: { job: 'tick' }, fn: 'every-second' });
  });
});
