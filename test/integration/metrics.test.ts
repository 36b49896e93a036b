/**
 * GET /metrics end to end: a real scheduler, gateway and worker processes; the exposition read
 * the way a scraper reads it, after known invokes.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { readTokenFile } from '../../common/grpc-auth.js';
import { silentLogger } from '../../common/logger.js';
import { startGateway, type RunningGateway } from '../../gateway/main.js';
import { parsePrometheusText, type Exposition } from '../helpers/prometheus-text.js';
import { fn, startStack, type Stack } from '../helpers/stack.js';

const OK = 'export default async (e) => ({ echo: e })';
const BOOM = 'export default async () => { throw new Error("boom") }';
const INVOKE_ROUTE = '/v1/functions/:name/invoke';

let stack: Stack | undefined;
let extra: RunningGateway | undefined;
afterEach(async () => {
  await extra?.close();
  extra = undefined;
  await stack?.close();
  stack = undefined;
});

async function scrape(s: Stack, url = s.url, key: string | null = s.adminKey): Promise<Exposition> {
  const res = await fetch(`${url}/metrics`, { headers: key ? { authorization: `Bearer ${key}` } : {} });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
  return parsePrometheusText(await res.text());
}

/** Scrapes until `done` holds (heartbeats carry the sandbox counts), or fails after `ms`. */
async function scrapeUntil(s: Stack, done: (m: Exposition) => boolean, ms = 10_000): Promise<Exposition> {
  const until = Date.now() + ms;
  for (;;) {
    const m = await scrape(s);
    if (done(m) || Date.now() > until) return m;
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('GET /metrics', () => {
  it('after N succeeded and M failed invokes: executions, cold starts, phase histograms, queue, workers, sandboxes and HTTP requests', async () => {
    stack = await startStack({ workers: 2, capacity: 2 });
    expect((await stack.request('PUT', '/v1/functions/ok', fn(OK))).status).toBe(201);
    expect((await stack.request('PUT', '/v1/functions/boom', fn(BOOM, { maxRetries: 0 }))).status).toBe(201);
    const N = 5;
    const M = 3;
    for (let i = 0; i < N; i++) expect((await stack.request('POST', '/v1/functions/ok/invoke?mode=sync', { i })).status).toBe(200);
    for (let i = 0; i < M; i++) expect((await stack.request('POST', '/v1/functions/boom/invoke?mode=sync', { i })).status).toBe(502);
    const records = [
      ...(await stack.request('GET', '/v1/executions?function=ok')).body.executions,
      ...(await stack.request('GET', '/v1/executions?function=boom')).body.executions,
    ] as { function: string; coldStart: boolean | null }[];
    expect(records).toHaveLength(N + M);
    const cold = (name: string) => records.filter((r) => r.function === name && r.coldStart === true).length;
    expect(cold('ok')).toBeGreaterThanOrEqual(1);

    // Once both workers have sent a heartbeat after the runs, nothing is busy.
    const m = await scrapeUntil(
      stack,
      (x) => x.value('taskforge_sandboxes', { state: 'busy' }) === 0 && x.value('taskforge_sandboxes', { state: 'idle' }) >= 1,
    );
    expect(m.value('taskforge_scheduler_up')).toBe(1);
    expect(m.types.get('taskforge_executions_total')).toBe('counter');
    expect(m.value('taskforge_executions_total', { function: 'ok', status: 'succeeded' })).toBe(N);
    expect(m.value('taskforge_executions_total', { function: 'boom', status: 'failed' })).toBe(M);
    expect(m.sum('taskforge_executions_total')).toBe(N + M);
    expect(m.value('taskforge_cold_starts_total', { function: 'ok' })).toBe(cold('ok'));
    expect(m.value('taskforge_cold_starts_total', { function: 'boom' })).toBe(cold('boom'));
    for (const phase of ['queued', 'init', 'run']) {
      expect(m.value('taskforge_execution_duration_seconds_count', { function: 'ok', phase })).toBe(N);
      expect(m.value('taskforge_execution_duration_seconds_count', { function: 'boom', phase })).toBe(M);
      expect(m.value('taskforge_execution_duration_seconds_bucket', { function: 'ok', phase, le: '+Inf' })).toBe(N);
    }
    expect(m.value('taskforge_queue_depth')).toBe(0);
    expect(m.value('taskforge_workers', { status: 'ready' })).toBe(2);
    expect(m.value('taskforge_workers', { status: 'lost' })).toBe(0);
    // Every sandbox is one of the three states, and no worker holds more than --max-sandboxes (16).
    const sandboxes = m.sum('taskforge_sandboxes');
    expect(sandboxes).toBeGreaterThanOrEqual(1);
    expect(sandboxes).toBeLessThanOrEqual(2 * 16);
    // The invokes, by route pattern: the names in the URLs are not labels.
    expect(m.value('taskforge_http_requests_total', { route: INVOKE_ROUTE, method: 'POST', status: '200' })).toBe(N);
    expect(m.value('taskforge_http_requests_total', { route: INVOKE_ROUTE, method: 'POST', status: '502' })).toBe(M);
    expect(m.value('taskforge_http_request_duration_seconds_count', { route: INVOKE_ROUTE, method: 'POST' })).toBe(N + M);
    expect(m.samples.some((x) => x.labels.route?.includes('/ok/'))).toBe(false);
    // The gateway's Node process metrics.
    expect(m.types.get('process_resident_memory_bytes')).toBe('gauge');
  });

  it('needs a key; with the scheduler gone it answers taskforge_scheduler_up 0 when no key has to be checked (--no-auth)', async () => {
    stack = await startStack();
    expect((await fetch(`${stack.url}/metrics`)).status).toBe(401);
    // A gateway without keys (`--no-auth`, loopback) next to the stack's, on the same scheduler.
    extra = await startGateway({
      port: 0,
      host: '127.0.0.1',
      scheduler: stack.scheduler.address,
      logger: silentLogger,
      noAuth: true,
      client: { controlToken: readTokenFile(stack.scheduler.tokenFiles.control) },
    });
    const url = `http://127.0.0.1:${extra.port}`;
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    expect((await scrape(stack, url, null)).value('taskforge_scheduler_up')).toBe(1);
    await stack.scheduler.close();
    const m = await scrape(stack, url, null);
    expect(m.value('taskforge_scheduler_up')).toBe(0);
    expect(m.types.has('taskforge_executions_total')).toBe(false);
    expect(m.value('taskforge_http_requests_total', { route: '/healthz', method: 'GET', status: '200' })).toBe(1);
    expect(m.types.has('process_cpu_user_seconds_total')).toBe(true);
    // With keys on, a key cannot be checked without the scheduler: 503, like every keyed route.
    const keyed = await fetch(`${stack.url}/metrics`, { headers: { authorization: `Bearer ${stack.adminKey}` } });
    expect(keyed.status).toBe(503);
  });
});
