import { afterEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { TaskForgeError } from '../../common/errors.js';
import { buildApp } from '../app.js';
import { createFakeControlClient, samplePool, sampleStats, sampleWorker, type FakeControlClient } from '../testing/fake-control-client.js';

let app: FastifyInstance;
let control: FakeControlClient;

function build(overrides: Parameters<typeof createFakeControlClient>[0] = {}, readyTimeoutMs?: number): void {
  control = createFakeControlClient(overrides);
  app = buildApp({ control, auth: 'off', ...(readyTimeoutMs !== undefined && { readyTimeoutMs }) });
}

afterEach(async () => {
  await app?.close();
});

describe('cluster routes', () => {
  it('GET /v1/workers', async () => {
    build();
    const res = await app.inject({ method: 'GET', url: '/v1/workers' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ workers: [sampleWorker()] });
  });

  it('GET /v1/workers/pools', async () => {
    build();
    const res = await app.inject({ method: 'GET', url: '/v1/workers/pools' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ pools: [samplePool()] });
  });

  it('POST /v1/workers/scale relays the count and the pool, and answers the pool', async () => {
    build();
    const res = await app.inject({ method: 'POST', url: '/v1/workers/scale', payload: { workers: 3, pool: 'edge-1' } });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ ...samplePool(), name: 'edge-1', target: 3 });
    expect(control.callsTo('scaleWorkers')).toEqual([['edge-1', 3]]);
    await app.inject({ method: 'POST', url: '/v1/workers/scale', payload: { workers: 0 } });
    expect(control.callsTo('scaleWorkers').at(-1)).toEqual(['', 0]);
  });

  it.each([
    ['no body', undefined, 'body'],
    ['workers missing', { pool: 'p' }, 'body.workers'],
    ['workers not a number', { workers: 'two' }, 'body.workers'],
    ['workers negative', { workers: -1 }, 'body.workers'],
    ['workers fractional', { workers: 1.5 }, 'body.workers'],
    ['workers over 1024', { workers: 1025 }, 'body.workers'],
    ['a pool name of the wrong form', { workers: 1, pool: '../x' }, 'body.pool'],
    ['an unknown field', { workers: 1, count: 2 }, 'body'],
  ])('POST /v1/workers/scale with %s is 400 VALIDATION_ERROR, nothing sent', async (_what, payload, field) => {
    build();
    const res = await app.inject({ method: 'POST', url: '/v1/workers/scale', ...(payload !== undefined && { payload }) });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('VALIDATION_ERROR');
    expect(JSON.stringify(res.json().error.details)).toContain(field);
    expect(control.callsTo('scaleWorkers')).toEqual([]);
  });

  it.each([
    ['POOL_NOT_CONNECTED', 409],
    ['POOL_NOT_FOUND', 404],
    ['POOL_AUTOSCALED', 409],
  ] as const)('POST /v1/workers/scale passes the scheduler %s on as %i in the error shape', async (code, status) => {
    build({ scaleWorkers: async () => Promise.reject(new TaskForgeError(code, 'nope')) });
    const res = await app.inject({ method: 'POST', url: '/v1/workers/scale', payload: { workers: 1 } });
    expect(res.statusCode).toBe(status);
    expect(res.json()).toEqual({ error: { code, message: 'nope', details: { reason: expect.any(String) } } });
  });

  it('GET /v1/stats', async () => {
    build();
    const res = await app.inject({ method: 'GET', url: '/v1/stats' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual(sampleStats());
  });

  it('GET /v1/stats while the scheduler is down is 503 SCHEDULER_UNAVAILABLE with retry-after', async () => {
    build({ stats: async () => Promise.reject(new TaskForgeError('SCHEDULER_UNAVAILABLE', 'the scheduler is not reachable')) });
    const res = await app.inject({ method: 'GET', url: '/v1/stats' });
    expect(res.statusCode).toBe(503);
    expect(res.headers['retry-after']).toBe('1');
    expect(res.json()).toEqual({ error: { code: 'SCHEDULER_UNAVAILABLE', message: 'the scheduler is not reachable', details: { reason: 'unreachable' } } });
  });

  it('GET /healthz is 200 {"status":"ok"} without asking the scheduler', async () => {
    build({ ping: async () => Promise.reject(new Error('must not be called')) });
    const res = await app.inject({ method: 'GET', url: '/healthz' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ok' });
    expect(control.calls).toHaveLength(0);
  });

  it('GET /readyz is 200 {"status":"ready"} when the ping resolves, with the configured timeout', async () => {
    build({}, 750);
    const res = await app.inject({ method: 'GET', url: '/readyz' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ready' });
    expect(control.callsTo('ping')).toEqual([[750]]);
  });

  it('GET /readyz defaults to a 1000 ms ping', async () => {
    build();
    await app.inject({ method: 'GET', url: '/readyz' });
    expect(control.callsTo('ping')).toEqual([[1000]]);
  });

  it('GET /readyz is 503 SCHEDULER_UNAVAILABLE whatever the ping failed with', async () => {
    for (const failure of [new TaskForgeError('SCHEDULER_UNAVAILABLE', 'the scheduler is not reachable'), new Error('socket hang up')]) {
      build({ ping: async () => Promise.reject(failure) });
      const res = await app.inject({ method: 'GET', url: '/readyz' });
      expect(res.statusCode).toBe(503);
      expect(res.json()).toEqual({ error: { code: 'SCHEDULER_UNAVAILABLE', message: 'the scheduler is not reachable', details: { reason: 'unreachable' } } });
      await app.close();
    }
  });
});
