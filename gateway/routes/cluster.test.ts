import { afterEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { TaskForgeError } from '../../common/errors.js';
import { buildApp } from '../app.js';
import { createFakeControlClient, sampleStats, sampleWorker, type FakeControlClient } from '../testing/fake-control-client.js';

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
