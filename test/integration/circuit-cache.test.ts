/**
 * The circuit breaker and the result cache on a real stack (scheduler, gateway, worker, sandbox):
 * what a user sees through the API and /metrics.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fn, startStack, type Stack } from '../helpers/stack.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ workers: 1 });
});
afterAll(async () => {
  await stack?.close();
});

describe('result cache', () => {
  // Counts its own runs: a cached answer carries the count of the run it came from.
  const COUNTING = 'let runs = 0;\nexport default async (e) => ({ runs: ++runs, e });';

  it('answers the same version and input from the cache without running, and runs anything else', async () => {
    expect((await stack.request('PUT', '/v1/functions/cached', fn(COUNTING, { cacheTtlMs: 60_000 }))).status).toBe(201);
    const first = await stack.request('POST', '/v1/functions/cached/invoke?mode=sync', { a: 1 });
    expect(first.body).toMatchObject({ status: 'succeeded', output: { runs: 1 } });
    expect(first.body.cached).toBeUndefined();

    const again = await stack.request('POST', '/v1/functions/cached/invoke?mode=sync', { a: 1 });
    expect(again.body).toMatchObject({ status: 'succeeded', cached: true, output: { runs: 1, e: { a: 1 } }, workerId: null, durationMs: 0 });
    expect(again.body.id).not.toBe(first.body.id);

    const other = await stack.request('POST', '/v1/functions/cached/invoke?mode=sync', { a: 2 });
    expect(other.body).toMatchObject({ output: { runs: 2 } });
    expect(other.body.cached).toBeUndefined();

    // An async invoke is answered from the cache too, and durable like any 202.
    const accepted = await stack.request('POST', '/v1/functions/cached/invoke', { a: 1 });
    expect(accepted.status).toBe(202);
    const rec = await stack.request('GET', `/v1/executions/${accepted.body.executionId}`);
    expect(rec.body).toMatchObject({ status: 'succeeded', cached: true, output: { runs: 1 } });

    const metrics = await stack.request('GET', '/metrics');
    expect(String(metrics.body)).toMatch(/taskforge_result_cache_hits_total\{function="cached"\} 2/);
  });

  it('is per version: a new version runs again', async () => {
    await stack.request('PUT', '/v1/functions/versioned', fn(COUNTING, { cacheTtlMs: 60_000 }));
    await stack.request('POST', '/v1/functions/versioned/invoke?mode=sync', { a: 1 });
    await stack.request('PUT', '/v1/functions/versioned', fn(`${COUNTING}\n// v2`, { cacheTtlMs: 60_000 }));
    const v2 = await stack.request('POST', '/v1/functions/versioned/invoke?mode=sync', { a: 1 });
    expect(v2.body).toMatchObject({ version: 2, output: { runs: 1 } });
    expect(v2.body.cached).toBeUndefined();
  });

  it('refuses a TTL out of bounds', async () => {
    const r = await stack.request('PUT', '/v1/functions/bad-ttl', fn(COUNTING, { cacheTtlMs: -1 }));
    expect(r.status).toBe(400);
    expect(r.body.error).toMatchObject({ code: 'VALIDATION_ERROR' });
  });
});

describe('circuit breaker', () => {
  const FLAKY = "export default async (e) => { if (e.fail) throw new Error('downstream is down'); return 'ok'; };";
  const breaker = { failureThreshold: 2, windowMs: 60_000, cooldownMs: 1_000 };

  it('opens after the threshold: sync invokes fail fast with 503, async ones wait; the probe after the cooldown closes it', async () => {
    await stack.request('PUT', '/v1/functions/flaky', fn(FLAKY, { maxRetries: 0, circuitBreaker: breaker }));
    expect((await stack.request('GET', '/v1/functions/flaky')).body.circuit).toMatchObject({ state: 'closed', failures: 0 });
    for (let i = 0; i < 2; i++) {
      expect((await stack.request('POST', '/v1/functions/flaky/invoke?mode=sync', { fail: true })).body.status).toBe('failed');
    }
    const open = (await stack.request('GET', '/v1/functions/flaky')).body.circuit;
    expect(open).toMatchObject({ state: 'open', opens: 1 });

    const refused = await stack.request('POST', '/v1/functions/flaky/invoke?mode=sync', { fail: false });
    expect(refused.status).toBe(503);
    expect(refused.body.error).toMatchObject({ code: 'CIRCUIT_OPEN', details: { reason: 'circuit_open', function: 'flaky' } });
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);

    const accepted = await stack.request('POST', '/v1/functions/flaky/invoke', { fail: false });
    expect(accepted.status).toBe(202);
    expect((await stack.request('GET', `/v1/executions/${accepted.body.executionId}`)).body.status).toBe('queued');

    // It waits for the cooldown, then runs as the probe, and its success closes the circuit.
    const probe = await stack.request('GET', `/v1/executions/${accepted.body.executionId}?waitMs=10000`);
    expect(probe.body).toMatchObject({ status: 'succeeded', output: 'ok' });
    expect(Date.parse(probe.body.startedAt)).toBeGreaterThanOrEqual(Date.parse(open.retryAt));
    expect((await stack.request('GET', '/v1/functions/flaky')).body.circuit).toMatchObject({ state: 'closed', opens: 1 });

    const metrics = String((await stack.request('GET', '/metrics')).body);
    expect(metrics).toContain('taskforge_circuit_state{function="flaky",state="closed"} 1');
    expect(metrics).toContain('taskforge_circuit_state{function="flaky",state="open"} 0');
  });

  it('shows no circuit for a function without a breaker, and refuses bad settings', async () => {
    await stack.request('PUT', '/v1/functions/plain', fn(FLAKY));
    expect((await stack.request('GET', '/v1/functions/plain')).body.circuit).toBeUndefined();
    const bad = await stack.request('PUT', '/v1/functions/bad-breaker', fn(FLAKY, { circuitBreaker: { failureThreshold: 0 } }));
    expect(bad.status).toBe(400);
    const unknown = await stack.request('PUT', '/v1/functions/bad-breaker', fn(FLAKY, { circuitBreaker: { threshold: 3 } }));
    expect(unknown.status).toBe(400);
  });
});
