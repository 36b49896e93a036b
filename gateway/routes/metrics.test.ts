import { afterEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { TaskForgeError } from '../../common/errors.js';
import { parsePrometheusText } from '../../test/helpers/prometheus-text.js';
import { buildApp } from '../app.js';
import type { ControlClient } from '../control-client.js';
import { createFakeControlClient, knownKeys, testKey, testPrincipal, type FakeControlClient } from '../testing/fake-control-client.js';

let app: FastifyInstance;
let control: FakeControlClient;

const SCHEDULER_TEXT = ['# HELP taskforge_queue_depth Executions waiting.', '# TYPE taskforge_queue_depth gauge', 'taskforge_queue_depth 7', ''].join('\n');

function build(overrides: Partial<ControlClient> = {}, auth: 'off' | 'on' = 'off'): void {
  control = createFakeControlClient({ metrics: async () => SCHEDULER_TEXT, ...overrides });
  app = buildApp({ control, ...(auth === 'off' && { auth: 'off' }) });
}

const scrape = async () => {
  const res = await app.inject({ method: 'GET', url: '/metrics' });
  expect(res.statusCode).toBe(200);
  return { res, metrics: parsePrometheusText(res.body) };
};

afterEach(async () => {
  await app?.close();
});

describe('GET /metrics', () => {
  it("answers the scheduler's text, then the gateway's HTTP, scheduler_up and process metrics, as Prometheus text", async () => {
    build();
    const { res, metrics } = await scrape();
    expect(res.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(metrics.value('taskforge_queue_depth')).toBe(7);
    expect(metrics.value('taskforge_scheduler_up')).toBe(1);
    expect(metrics.types.get('taskforge_http_requests_total')).toBe('counter');
    expect(metrics.types.get('taskforge_http_request_duration_seconds')).toBe('histogram');
    // Node's process metrics of the gateway (prom-client's defaults).
    expect(metrics.types.get('process_cpu_user_seconds_total')).toBe('counter');
    expect(metrics.value('nodejs_heap_size_used_bytes')).toBeGreaterThan(0);
    expect(control.callsTo('metrics')).toHaveLength(1);
  });

  it('counts requests by route pattern, method and status, never by raw URL', async () => {
    build();
    for (const name of ['a', 'b', 'c']) await app.inject({ method: 'GET', url: `/v1/functions/${name}` });
    await app.inject({ method: 'DELETE', url: '/v1/functions/a' });
    await app.inject({ method: 'POST', url: '/v1/functions/a/invoke', payload: {} });
    await app.inject({ method: 'GET', url: '/v1/functions/BAD!name' });
    await app.inject({ method: 'GET', url: '/no/such/route/42' });
    const { metrics } = await scrape();
    const http = (route: string, method: string, status: string) => metrics.value('taskforge_http_requests_total', { route, method, status });
    expect(http('/v1/functions/:name', 'GET', '200')).toBe(3);
    expect(http('/v1/functions/:name', 'GET', '400')).toBe(1);
    expect(http('/v1/functions/:name', 'DELETE', '204')).toBe(1);
    expect(http('/v1/functions/:name/invoke', 'POST', '202')).toBe(1);
    expect(http('unmatched', 'GET', '404')).toBe(1);
    expect(metrics.samples.some((s) => Object.values(s.labels).some((v) => v.includes('/a') || v.includes('42')))).toBe(false);
    // One histogram series per route and method: every request observed once, buckets cumulative.
    const labels = { route: '/v1/functions/:name', method: 'GET' };
    expect(metrics.value('taskforge_http_request_duration_seconds_count', labels)).toBe(4);
    expect(metrics.value('taskforge_http_request_duration_seconds_bucket', { ...labels, le: '+Inf' })).toBe(4);
    expect(metrics.value('taskforge_http_request_duration_seconds_sum', labels)).toBeGreaterThan(0);
    const buckets = metrics.samples.filter(
      (s) => s.name === 'taskforge_http_request_duration_seconds_bucket' && s.labels.route === labels.route && s.labels.method === 'GET',
    );
    expect(buckets.map((b) => b.value)).toEqual([...buckets.map((b) => b.value)].sort((x, y) => x - y));
    // The scrape itself is counted once it has been answered.
    expect(http('/metrics', 'GET', '200')).toBe(0);
    expect((await scrape()).metrics.value('taskforge_http_requests_total', { route: '/metrics', method: 'GET', status: '200' })).toBe(1);
  });

  it('still answers 200 with the gateway’s metrics and taskforge_scheduler_up 0 when the scheduler is unreachable', async () => {
    let down = true;
    build({
      metrics: async () => {
        if (down) throw new TaskForgeError('SCHEDULER_UNAVAILABLE', 'the scheduler is not reachable');
        return SCHEDULER_TEXT;
      },
    });
    await app.inject({ method: 'GET', url: '/healthz' });
    const { metrics } = await scrape();
    expect(metrics.value('taskforge_scheduler_up')).toBe(0);
    expect(metrics.types.has('taskforge_queue_depth')).toBe(false);
    expect(metrics.value('taskforge_http_requests_total', { route: '/healthz', method: 'GET', status: '200' })).toBe(1);
    expect(metrics.types.has('process_cpu_user_seconds_total')).toBe(true);
    down = false;
    expect((await scrape()).metrics.value('taskforge_scheduler_up')).toBe(1);
  });

  it('needs a key that may read the cluster: admin, deploy or read, not limited to some functions', async () => {
    const keys = {
      admin: testKey('admin'),
      read: testKey('read'),
      deploy: testKey('deploy'),
      invoke: testKey('invoke'),
      limited: testKey('limited'),
    };
    build(
      {
        authenticate: knownKeys({
          [keys.admin]: testPrincipal('admin', ['admin']),
          [keys.read]: testPrincipal('read', ['read']),
          [keys.deploy]: testPrincipal('deploy', ['deploy']),
          [keys.invoke]: testPrincipal('invoke', ['invoke']),
          [keys.limited]: testPrincipal('limited', ['read'], ['f']),
        }),
      },
      'on',
    );
    const get = (key: string | null) => app.inject({ method: 'GET', url: '/metrics', headers: key ? { authorization: `Bearer ${key}` } : {} });
    expect((await get(null)).statusCode).toBe(401);
    expect((await get(keys.admin)).statusCode).toBe(200);
    expect((await get(keys.read)).statusCode).toBe(200);
    expect((await get(keys.deploy)).statusCode).toBe(200);
    expect((await get(keys.invoke)).statusCode).toBe(403);
    expect((await get(keys.limited)).statusCode).toBe(403);
    // Refused scrapes never reached the scheduler.
    expect(control.callsTo('metrics')).toHaveLength(3);
  });
});
