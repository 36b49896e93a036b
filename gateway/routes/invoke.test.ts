import { afterEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { TaskForgeError, functionNotFound } from '../../common/errors.js';
import type { ExecutionStatus } from '../../common/records.js';
import type { InvokeArgs } from '../control-client.js';
import { toExecutionText } from '../control-client.js';
import { buildTestApp, createFakeControlClient, sampleExecution, type FakeControlClient } from '../testing/fake-control-client.js';

let app: FastifyInstance;
let control: FakeControlClient;

function build(overrides: Parameters<typeof createFakeControlClient>[0] = {}): void {
  ({ app, control } = buildTestApp(overrides));
}

afterEach(async () => {
  await app?.close();
});

const URL_ = '/v1/functions/hello/invoke';
const ID = 'ex_V1StGXR8Z5jdHi6BmyTq';
const err = (res: { json(): unknown }) => (res.json() as { error: { code: string; details: { errors?: { field: string }[] } } }).error;
const invokeArgs = (): InvokeArgs => control.callsTo('invoke')[0]![0] as InvokeArgs;

/** A client whose sync invoke ends in `status`. */
const endingIn = (status: ExecutionStatus) => ({
  invoke: async (args: InvokeArgs) => ({
    execution: toExecutionText(sampleExecution({ mode: args.mode, status })),
    terminal: !['queued', 'running'].includes(status),
    created: true,
  }),
});

describe('POST /v1/functions/:name/invoke — async', () => {
  it('202 with executionId, status, statusUrl and a location header', async () => {
    build();
    const res = await app.inject({ method: 'POST', url: URL_, payload: { n: 1 } });
    expect(res.statusCode).toBe(202);
    expect(res.headers.location).toBe(`/v1/executions/${ID}`);
    expect(res.json()).toEqual({ executionId: ID, status: 'queued', statusUrl: `/v1/executions/${ID}` });
    expect(invokeArgs()).toEqual({ function: 'hello', version: 0, inputJson: '{"n":1}', mode: 'async', idempotencyKey: null, waitMs: 0 });
  });

  it('forwards the event as the exact JSON text sent', async () => {
    build();
    const text = '{ "b": [1, 2.50, "é"],\n  "a": null }';
    await app.inject({ method: 'POST', url: URL_, headers: { 'content-type': 'application/json; charset=utf-8' }, payload: text });
    expect(invokeArgs().inputJson).toBe(text);
  });

  it('forwards scalar events too', async () => {
    build();
    for (const text of ['"hi"', '42', 'true', '[]']) {
      await app.inject({ method: 'POST', url: URL_, headers: { 'content-type': 'application/json' }, payload: text });
    }
    expect(control.callsTo('invoke').map((a) => (a[0] as InvokeArgs).inputJson)).toEqual(['"hi"', '42', 'true', '[]']);
  });

  it('an empty body is the event null, with or without content-type', async () => {
    build();
    await app.inject({ method: 'POST', url: URL_ });
    await app.inject({ method: 'POST', url: URL_, headers: { 'content-type': 'application/json' }, payload: '' });
    await app.inject({ method: 'POST', url: URL_, headers: { 'content-type': 'application/json' }, payload: '  \n' });
    await app.inject({ method: 'POST', url: URL_, headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': '0' } });
    expect(control.callsTo('invoke').map((a) => (a[0] as InvokeArgs).inputJson)).toEqual(['null', 'null', 'null', 'null']);
  });

  it('bad JSON is 400 VALIDATION_ERROR and does not invoke', async () => {
    build();
    const res = await app.inject({ method: 'POST', url: URL_, headers: { 'content-type': 'application/json' }, payload: '{"a":' });
    expect(res.statusCode).toBe(400);
    expect(err(res).code).toBe('VALIDATION_ERROR');
    expect(control.calls).toHaveLength(0);
  });

  it('an event nested deeper than 512 levels is 400 VALIDATION_ERROR, never a 500, and does not invoke', async () => {
    build();
    const json = { 'content-type': 'application/json' };
    const limit = await app.inject({ method: 'POST', url: URL_, headers: json, payload: '['.repeat(512) + ']'.repeat(512) });
    expect(limit.statusCode).toBe(202);
    for (const payload of ['['.repeat(513) + ']'.repeat(513), '['.repeat(100_000) + ']'.repeat(100_000), '{"a":'.repeat(100_000) + '1' + '}'.repeat(100_000)]) {
      const res = await app.inject({ method: 'POST', url: URL_, headers: json, payload });
      expect(res.statusCode).toBe(400);
      expect(err(res)).toMatchObject({ code: 'VALIDATION_ERROR', details: { errors: [{ field: 'body' }], maxDepth: 512 } });
    }
    expect(control.callsTo('invoke')).toHaveLength(1);
  });

  it('a non-JSON body is 415', async () => {
    build();
    const res = await app.inject({ method: 'POST', url: URL_, headers: { 'content-type': 'text/plain' }, payload: 'hello' });
    expect(res.statusCode).toBe(415);
    expect(err(res).code).toBe('UNSUPPORTED_MEDIA_TYPE');
  });

  it('a body of exactly 1 MiB is accepted, one byte more is 413 PAYLOAD_TOO_LARGE', async () => {
    build();
    const fill = (n: number) => `"${'x'.repeat(n - 2)}"`;
    const ok = await app.inject({ method: 'POST', url: URL_, headers: { 'content-type': 'application/json' }, payload: fill(1024 * 1024) });
    expect(ok.statusCode).toBe(202);
    const big = await app.inject({ method: 'POST', url: URL_, headers: { 'content-type': 'application/json' }, payload: fill(1024 * 1024 + 1) });
    expect(big.statusCode).toBe(413);
    expect(err(big).code).toBe('PAYLOAD_TOO_LARGE');
    expect(control.calls).toHaveLength(1);
  });

  it('version=N is passed as a number; version 0 or text is VALIDATION_ERROR', async () => {
    build();
    await app.inject({ method: 'POST', url: `${URL_}?version=3` });
    expect(invokeArgs().version).toBe(3);
    for (const v of ['0', 'latest', '1.5', '1e3', 'true', '0x10', '-1']) {
      const res = await app.inject({ method: 'POST', url: `${URL_}?version=${v}` });
      expect(res.statusCode).toBe(400);
      expect(err(res).details.errors?.[0]?.field).toBe('query.version');
    }
  });

  it('an unknown mode is VALIDATION_ERROR', async () => {
    build();
    const res = await app.inject({ method: 'POST', url: `${URL_}?mode=fire` });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ error: { details: { errors: [{ field: 'query.mode', reason: 'enum', message: 'must be one of: async, sync' }] } } });
  });

  it('waitMs with mode=async is VALIDATION_ERROR', async () => {
    build();
    const res = await app.inject({ method: 'POST', url: `${URL_}?waitMs=100` });
    expect(res.statusCode).toBe(400);
    expect(err(res).details.errors).toEqual([{ field: 'query.waitMs', reason: 'not_applicable', message: 'applies to mode=sync only' }]);
  });

  it('idempotency-key is forwarded; an idempotent replay returns the original id and current status', async () => {
    build({
      invoke: async (args) => ({
        execution: toExecutionText(sampleExecution({ id: 'ex_original', status: 'running', idempotencyKey: args.idempotencyKey })),
        terminal: false,
        created: false,
      }),
    });
    const res = await app.inject({ method: 'POST', url: URL_, headers: { 'idempotency-key': 'order-42' } });
    expect(invokeArgs().idempotencyKey).toBe('order-42');
    expect(res.statusCode).toBe(202);
    expect(res.json()).toEqual({ executionId: 'ex_original', status: 'running', statusUrl: '/v1/executions/ex_original' });
    expect(res.headers.location).toBe('/v1/executions/ex_original');
    expect(res.headers['idempotent-replayed']).toBe('true');
  });

  it('an idempotency-key that is empty or over 128 characters is VALIDATION_ERROR', async () => {
    build();
    for (const key of ['', 'k'.repeat(129)]) {
      const res = await app.inject({ method: 'POST', url: URL_, headers: { 'idempotency-key': key } });
      expect(res.statusCode).toBe(400);
      expect(err(res).details.errors?.[0]?.field).toBe('headers.idempotency-key');
    }
    const ok = await app.inject({ method: 'POST', url: URL_, headers: { 'idempotency-key': 'k'.repeat(128) } });
    expect(ok.statusCode).toBe(202);
    expect(control.calls).toHaveLength(1);
  });

  it('an invalid function name is INVALID_NAME, checked before the body is read', async () => {
    build();
    const res = await app.inject({ method: 'POST', url: '/v1/functions/NOPE/invoke', headers: { 'content-type': 'application/json' }, payload: '{bad' });
    expect(res.statusCode).toBe(400);
    expect(err(res).code).toBe('INVALID_NAME');
  });

  it('FUNCTION_NOT_FOUND and QUEUE_FULL pass through', async () => {
    build({ invoke: async (args) => Promise.reject(functionNotFound(args.function)) });
    const nf = await app.inject({ method: 'POST', url: URL_ });
    expect(nf.statusCode).toBe(404);
    expect(err(nf).code).toBe('FUNCTION_NOT_FOUND');
    await app.close();
    build({ invoke: async () => Promise.reject(new TaskForgeError('QUEUE_FULL', 'the pending queue is full')) });
    const full = await app.inject({ method: 'POST', url: URL_ });
    expect(full.statusCode).toBe(429);
    expect(full.headers['retry-after']).toBe('1');
  });
});

describe('POST /v1/functions/:name/invoke — sync', () => {
  const cases: [ExecutionStatus, number][] = [
    ['succeeded', 200],
    ['failed', 502],
    ['cancelled', 502],
    ['timed_out', 504],
    ['running', 202],
    ['queued', 202],
  ];
  for (const [status, http] of cases) {
    it(`${status} answers ${http} with the Execution record`, async () => {
      build(endingIn(status));
      const res = await app.inject({ method: 'POST', url: `${URL_}?mode=sync` });
      expect(res.statusCode).toBe(http);
      expect(res.json()).toEqual(sampleExecution({ mode: 'sync', status }));
      if (http === 202) expect(res.headers.location).toBe(`/v1/executions/${ID}`);
      else expect(res.headers.location).toBeUndefined();
    });
  }

  it('waitMs is forwarded; absent means 0 (the scheduler default); over 300000 is rejected', async () => {
    build(endingIn('succeeded'));
    await app.inject({ method: 'POST', url: `${URL_}?mode=sync&waitMs=2500` });
    await app.inject({ method: 'POST', url: `${URL_}?mode=sync` });
    expect(control.callsTo('invoke').map((a) => [(a[0] as InvokeArgs).mode, (a[0] as InvokeArgs).waitMs])).toEqual([
      ['sync', 2500],
      ['sync', 0],
    ]);
    const res = await app.inject({ method: 'POST', url: `${URL_}?mode=sync&waitMs=300001` });
    expect(res.statusCode).toBe(400);
    expect(err(res).details.errors?.[0]?.field).toBe('query.waitMs');
  });
});
