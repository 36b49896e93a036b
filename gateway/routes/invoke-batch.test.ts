import { afterEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { TaskForgeError } from '../../common/errors.js';
import type { InvokeArgs, InvokeBatchArgs } from '../control-client.js';
import { buildTestApp, createFakeControlClient, type FakeControlClient } from '../testing/fake-control-client.js';

let app: FastifyInstance;
let control: FakeControlClient;

function build(overrides: Parameters<typeof createFakeControlClient>[0] = {}): void {
  ({ app, control } = buildTestApp(overrides));
}

afterEach(async () => {
  await app?.close();
});

const BATCH = '/v1/functions/hello/invoke-batch';
const err = (res: { json(): unknown }) => (res.json() as { error: { code: string; message: string; details: Record<string, unknown> } }).error;
const batchArgs = (): InvokeBatchArgs => control.callsTo('invokeBatch')[0]![0] as InvokeBatchArgs;

describe('POST /v1/functions/:name/invoke-batch', () => {
  it('202 with one executionId and statusUrl per event, in order; events forwarded as JSON text', async () => {
    build();
    const res = await app.inject({ method: 'POST', url: BATCH, payload: { events: [{ n: 1 }, null, 'x'] } });
    expect(res.statusCode).toBe(202);
    const { executions } = res.json<{ executions: Array<{ executionId: string; statusUrl: string }> }>();
    expect(executions).toHaveLength(3);
    expect(executions[0]!.statusUrl).toBe(`/v1/executions/${executions[0]!.executionId}`);
    expect(batchArgs()).toEqual({ function: 'hello', version: 0, inputJsons: ['{"n":1}', 'null', '"x"'], idempotencyKey: null });
  });

  it('passes version, delay, priority and the idempotency key; a replay says so', async () => {
    build({ invokeBatch: async (args) => ({ executionIds: args.inputJsons.map(() => 'ex_V1StGXR8Z5jdHi6BmyTq'), created: false }) });
    const res = await app.inject({
      method: 'POST',
      url: `${BATCH}?version=2&delayMs=5000&priority=low`,
      headers: { 'idempotency-key': 'k1' },
      payload: { events: [1] },
    });
    expect(res.statusCode).toBe(202);
    expect(res.headers['idempotent-replayed']).toBe('true');
    expect(batchArgs()).toEqual({ function: 'hello', version: 2, inputJsons: ['1'], idempotencyKey: 'k1', delayMs: 5000, priority: 'low' });
  });

  it('1,000 events pass; 1,001, none, or a body without events is 400 VALIDATION_ERROR', async () => {
    build();
    const ok = await app.inject({ method: 'POST', url: BATCH, payload: { events: Array.from({ length: 1000 }, (_, i) => i) } });
    expect(ok.statusCode).toBe(202);
    for (const payload of [{ events: Array.from({ length: 1001 }, (_, i) => i) }, { events: [] }, {}, { events: [1], extra: true }]) {
      const res = await app.inject({ method: 'POST', url: BATCH, payload });
      expect(res.statusCode).toBe(400);
      expect(err(res).code).toBe('VALIDATION_ERROR');
    }
    expect(control.callsTo('invokeBatch')).toHaveLength(1);
  });

  it('an event over the invoke body limit is 413 naming it; a bad priority or mode is 400', async () => {
    build();
    const big = 'x'.repeat(1024 * 1024 + 10);
    const res = await app.inject({ method: 'POST', url: BATCH, payload: { events: [1, big] } });
    expect(res.statusCode).toBe(413);
    expect(err(res)).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', details: { field: 'body.events[1]' } });
    for (const q of ['priority=urgent', 'mode=sync', 'delayMs=-1']) {
      const bad = await app.inject({ method: 'POST', url: `${BATCH}?${q}`, payload: { events: [1] } });
      expect(bad.statusCode).toBe(400);
    }
    expect(control.callsTo('invokeBatch')).toHaveLength(0);
  });

  it('a scheduler refusal comes back in the error shape', async () => {
    build({
      invokeBatch: async () => {
        throw new TaskForgeError('QUEUE_FULL', 'the pending queue is full (1)', { reason: 'queue_full', limit: 1 });
      },
    });
    const res = await app.inject({ method: 'POST', url: BATCH, payload: { events: [1, 2] } });
    expect(res.statusCode).toBe(429);
    expect(err(res).code).toBe('QUEUE_FULL');
  });
});

describe('POST /v1/functions/:name/invoke — delay and priority', () => {
  it('at, delayMs and priority reach the scheduler; out-of-range ones are 400 before it', async () => {
    build();
    await app.inject({
      method: 'POST',
      url: '/v1/functions/hello/invoke?delayMs=60000&priority=critical',
      payload: '1',
      headers: { 'content-type': 'application/json' },
    });
    await app.inject({
      method: 'POST',
      url: '/v1/functions/hello/invoke?at=2030-01-01T00:00:00Z',
      payload: '1',
      headers: { 'content-type': 'application/json' },
    });
    const calls = control.callsTo('invoke').map((c) => c[0] as InvokeArgs);
    expect(calls[0]).toMatchObject({ delayMs: 60000, priority: 'critical' });
    expect(calls[1]).toMatchObject({ at: '2030-01-01T00:00:00Z' });
    expect(calls[1]).not.toHaveProperty('delayMs');
    for (const q of ['delayMs=2678400001', 'priority=urgent', 'delayMs=1.5', 'at=']) {
      const res = await app.inject({ method: 'POST', url: `/v1/functions/hello/invoke?${q}`, payload: '1', headers: { 'content-type': 'application/json' } });
      expect(res.statusCode).toBe(400);
      expect(err(res).code).toBe('VALIDATION_ERROR');
    }
    expect(control.callsTo('invoke')).toHaveLength(2);
  });
});
