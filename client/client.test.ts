import { describe, expect, it } from 'vitest';
import { TaskForgeApiError, TaskForgeClient } from './index.js';

type Seen = { method: string; url: string; headers: Record<string, string>; body: string | undefined };

/** A fetch that answers from a script and records what it was sent. */
function scripted(answers: Array<Response | Error>) {
  const seen: Seen[] = [];
  const fetch = (async (url: string, init: RequestInit) => {
    seen.push({ method: init.method ?? 'GET', url, headers: init.headers as Record<string, string>, body: init.body as string | undefined });
    const next = answers.shift() ?? new Error('no more answers');
    if (next instanceof Error) throw next;
    return next;
  }) as unknown as typeof globalThis.fetch;
  return { fetch, seen };
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });
const apiError = (status: number, code: string, message = 'no', details: Record<string, unknown> = {}) => json(status, { error: { code, message, details } });
const refused = () => Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } });
const unavailable = () => apiError(503, 'SCHEDULER_UNAVAILABLE', 'the scheduler is unreachable');
const exec = { id: 'ex_1', function: 'f', version: 1, status: 'succeeded', output: 1 };

const client = (f: ReturnType<typeof scripted>) =>
  new TaskForgeClient({ url: 'http://gw.test:8080/', apiKey: 'tfk_k', fetch: f.fetch, retry: { retries: 2, baseDelayMs: 1, maxDelayMs: 2 } });

describe('TaskForgeClient', () => {
  it('sends the key, JSON bodies and query parameters, and reads the answer', async () => {
    const f = scripted([json(200, exec)]);
    await expect(client(f).invoke('f', { a: 1 }, { mode: 'sync', version: 2, waitMs: 500, idempotencyKey: 'k' })).resolves.toEqual(exec);
    expect(f.seen[0]).toMatchObject({
      method: 'POST',
      url: 'http://gw.test:8080/v1/functions/f/invoke?mode=sync&version=2&waitMs=500',
      headers: { authorization: 'Bearer tfk_k', 'content-type': 'application/json', 'idempotency-key': 'k' },
      body: '{"a":1}',
    });
  });

  it('invoke sends a delay (ms or a time) and a priority; invokeBatch sends the events in order', async () => {
    const accepted = { executionId: 'ex_1', status: 'queued', statusUrl: '/v1/executions/ex_1' };
    const batch = { executions: [{ executionId: 'ex_1', statusUrl: '/v1/executions/ex_1' }] };
    const f = scripted([json(202, accepted), json(202, accepted), json(202, batch)]);
    await client(f).invoke('f', 1, { delayMs: 5000, priority: 'high' });
    await client(f).invoke('f', 1, { at: new Date('2030-01-01T00:00:00Z') });
    await expect(client(f).invokeBatch('f', [1, undefined, { a: 2 }], { priority: 'low', idempotencyKey: 'b1' })).resolves.toEqual(batch);
    expect(f.seen.map((s) => s.url)).toEqual([
      'http://gw.test:8080/v1/functions/f/invoke?mode=async&delayMs=5000&priority=high',
      'http://gw.test:8080/v1/functions/f/invoke?mode=async&at=2030-01-01T00%3A00%3A00.000Z',
      'http://gw.test:8080/v1/functions/f/invoke-batch?priority=low',
    ]);
    expect(f.seen[2]).toMatchObject({ method: 'POST', body: '{"events":[1,null,{"a":2}]}', headers: { 'idempotency-key': 'b1' } });
  });

  it('turns the API error shape into TaskForgeApiError with status, code, message and details', async () => {
    const f = scripted([apiError(404, 'FUNCTION_NOT_FOUND', "function 'x' does not exist", { name: 'x' })]);
    const err = await client(f)
      .getFunction('x')
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TaskForgeApiError);
    expect(err).toMatchObject({ status: 404, code: 'FUNCTION_NOT_FOUND', message: "function 'x' does not exist", details: { name: 'x' } });
  });

  it('an answer without the error shape is BAD_RESPONSE; no answer is NETWORK_ERROR with status 0', async () => {
    const f = scripted([new Response('<html>bad gateway</html>', { status: 502 }), refused(), refused(), refused()]);
    await expect(client(f).stats()).rejects.toMatchObject({ status: 502, code: 'BAD_RESPONSE' });
    await expect(client(f).stats()).rejects.toMatchObject({ status: 0, code: 'NETWORK_ERROR', message: expect.stringMatching(/ECONNREFUSED/) });
  });

  it('a sync invoke that failed or timed out answers its Execution (502/504 are not errors)', async () => {
    const failed = { ...exec, status: 'failed', error: { code: 'FUNCTION_ERROR', message: 'boom' } };
    const f = scripted([json(502, failed), json(504, { ...exec, status: 'timed_out' }), json(502, { error: { code: 'INTERNAL', message: 'x', details: {} } })]);
    await expect(client(f).invoke('f', null, { mode: 'sync' })).resolves.toEqual(failed);
    await expect(client(f).invoke('f', null, { mode: 'sync' })).resolves.toMatchObject({ status: 'timed_out' });
    await expect(client(f).invoke('f', null, { mode: 'sync' })).rejects.toMatchObject({ code: 'INTERNAL', status: 502 });
  });

  it('putFunction says whether a version was created (201) or the spec was unchanged (200)', async () => {
    const info = { name: 'f', version: 3 };
    const f = scripted([json(201, info), json(200, info)]);
    await expect(client(f).putFunction('f', { code: 'export default () => 1' })).resolves.toEqual({ function: info, created: true });
    await expect(client(f).putFunction('f', { code: 'export default () => 1' })).resolves.toEqual({ function: info, created: false });
  });

  describe('retries', () => {
    it('a GET is retried on no answer and on 503, and then succeeds', async () => {
      const f = scripted([refused(), unavailable(), json(200, { workers: [] })]);
      await expect(client(f).listWorkers()).resolves.toEqual({ workers: [] });
      expect(f.seen).toHaveLength(3);
    });

    it('a GET gives up after the configured retries with the last error', async () => {
      const f = scripted([unavailable(), unavailable(), unavailable(), json(200, {})]);
      await expect(client(f).getExecution('ex_1', { waitMs: 1000 })).rejects.toMatchObject({ status: 503, code: 'SCHEDULER_UNAVAILABLE' });
      expect(f.seen).toHaveLength(3);
    });

    it.each([
      ['404', () => apiError(404, 'EXECUTION_NOT_FOUND')],
      ['429', () => apiError(429, 'RATE_LIMITED', 'slow down', {})],
      ['500', () => apiError(500, 'INTERNAL')],
    ])('a GET is not retried on %s', async (_, answer) => {
      const f = scripted([answer(), json(200, exec)]);
      await expect(client(f).getExecution('ex_1')).rejects.toBeInstanceOf(TaskForgeApiError);
      expect(f.seen).toHaveLength(1);
    });

    it('an invoke with an idempotency key is retried, with the same key each time', async () => {
      const f = scripted([refused(), unavailable(), json(202, { executionId: 'ex_1', status: 'queued', statusUrl: '/v1/executions/ex_1' })]);
      await expect(client(f).invoke('f', { a: 1 }, { idempotencyKey: 'order-7' })).resolves.toMatchObject({ executionId: 'ex_1' });
      expect(f.seen.map((s) => s.headers['idempotency-key'])).toEqual(['order-7', 'order-7', 'order-7']);
    });

    it.each([
      ['a plain invoke', (c: TaskForgeClient) => c.invoke('f', {})],
      ['a plain sync invoke', (c: TaskForgeClient) => c.invoke('f', {}, { mode: 'sync' })],
      ['a cancel', (c: TaskForgeClient) => c.cancelExecution('ex_1')],
      ['a function delete', (c: TaskForgeClient) => c.deleteFunction('f')],
      ['a deploy', (c: TaskForgeClient) => c.putFunction('f', { code: 'x' })],
      ['a create', (c: TaskForgeClient) => c.createFunction({ name: 'f', code: 'x' })],
      ['a key create', (c: TaskForgeClient) => c.createKey({ name: 'k', scopes: ['read'] })],
      ['a key delete', (c: TaskForgeClient) => c.deleteKey('abcdefghijkl')],
    ])('%s is never retried, on no answer or on 503', async (_, call) => {
      for (const failure of [refused, unavailable]) {
        const f = scripted([failure(), json(200, exec)]);
        await expect(call(client(f))).rejects.toBeInstanceOf(TaskForgeApiError);
        expect(f.seen).toHaveLength(1);
      }
    });

    it('retry: false sends every request once', async () => {
      const f = scripted([unavailable(), json(200, {})]);
      const c = new TaskForgeClient({ url: 'http://gw.test', fetch: f.fetch, retry: false });
      await expect(c.stats()).rejects.toMatchObject({ status: 503 });
      expect(f.seen).toHaveLength(1);
    });
  });
});
