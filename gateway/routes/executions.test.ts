import { afterEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { TaskForgeError, executionNotFound } from '../../common/errors.js';
import { buildTestApp, createFakeControlClient, sampleExecution, type FakeControlClient } from '../testing/fake-control-client.js';

let app: FastifyInstance;
let control: FakeControlClient;

function build(overrides: Parameters<typeof createFakeControlClient>[0] = {}): void {
  ({ app, control } = buildTestApp(overrides));
}

afterEach(async () => {
  await app?.close();
});

const err = (res: { json(): unknown }) => (res.json() as { error: { code: string; details: { errors?: { field: string; reason: string }[] } } }).error;

describe('GET /v1/executions/:id', () => {
  it('returns the Execution; waitMs defaults to 0 and is forwarded', async () => {
    build();
    const res = await app.inject({ method: 'GET', url: '/v1/executions/ex_abc' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual(sampleExecution({ id: 'ex_abc' }));
    await app.inject({ method: 'GET', url: '/v1/executions/ex_abc?waitMs=30000' });
    expect(control.callsTo('getExecution')).toEqual([
      ['ex_abc', 0],
      ['ex_abc', 30000],
    ]);
  });

  it('waitMs over 30000 is VALIDATION_ERROR', async () => {
    build();
    const res = await app.inject({ method: 'GET', url: '/v1/executions/ex_abc?waitMs=30001' });
    expect(res.statusCode).toBe(400);
    expect(err(res).details.errors?.[0]?.field).toBe('query.waitMs');
    expect(control.calls).toHaveLength(0);
  });

  it('an id outside ^[A-Za-z0-9_-]{1,64}$ is 400 INVALID_NAME on every execution route', async () => {
    build();
    const bad = ['ex.abc', 'ex%20abc', '..%2F..%2Fetc', 'x'.repeat(65)];
    for (const id of bad) {
      for (const [method, suffix] of [
        ['GET', ''],
        ['GET', '/logs'],
        ['POST', '/cancel'],
      ] as const) {
        const res = await app.inject({ method, url: `/v1/executions/${id}${suffix}` });
        expect(res.statusCode, `${method} ${id}${suffix}`).toBe(400);
        expect(err(res).code).toBe('INVALID_NAME');
      }
    }
    expect(control.calls).toHaveLength(0);
  });

  it('EXECUTION_NOT_FOUND passes through as 404', async () => {
    build({ getExecution: async (id) => Promise.reject(executionNotFound(id)) });
    const res = await app.inject({ method: 'GET', url: '/v1/executions/ex_missing' });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({
      error: { code: 'EXECUTION_NOT_FOUND', message: "execution 'ex_missing' does not exist", details: { reason: 'not_found', id: 'ex_missing' } },
    });
  });
});

describe('GET /v1/executions', () => {
  it('defaults limit to 50 and passes filters and cursor through', async () => {
    build({ listExecutions: async () => ({ executions: [sampleExecution()], nextCursor: 'c2' }) });
    const a = await app.inject({ method: 'GET', url: '/v1/executions' });
    expect(a.statusCode).toBe(200);
    expect(a.json()).toEqual({ executions: [sampleExecution()], nextCursor: 'c2' });
    await app.inject({ method: 'GET', url: '/v1/executions?function=hello&status=failed&limit=500&cursor=abc' });
    expect(control.callsTo('listExecutions')).toEqual([[{ limit: 50 }], [{ function: 'hello', status: 'failed', limit: 500, cursor: 'abc' }]]);
  });

  it('nextCursor is null at the end', async () => {
    build();
    expect((await app.inject({ method: 'GET', url: '/v1/executions' })).json()).toMatchObject({ nextCursor: null });
  });

  const bad: [string, string][] = [
    ['limit=0', 'query.limit'],
    ['limit=501', 'query.limit'],
    ['limit=ten', 'query.limit'],
    ['status=done', 'query.status'],
    ['cursor=', 'query.cursor'],
    ['sort=asc', 'query.sort'],
  ];
  for (const [qs, field] of bad) {
    it(`?${qs} is VALIDATION_ERROR on ${field}`, async () => {
      build();
      const res = await app.inject({ method: 'GET', url: `/v1/executions?${qs}` });
      expect(res.statusCode).toBe(400);
      expect(err(res).code).toBe('VALIDATION_ERROR');
      expect(err(res).details.errors?.map((e) => e.field)).toEqual([field]);
    });
  }

  it('an invalid function filter is INVALID_NAME', async () => {
    build();
    const res = await app.inject({ method: 'GET', url: '/v1/executions?function=Not_A_Name' });
    expect(res.statusCode).toBe(400);
    expect(err(res).code).toBe('INVALID_NAME');
    expect(control.calls).toHaveLength(0);
  });
});

describe('logs and cancel', () => {
  it('GET /v1/executions/:id/logs returns the logs record', async () => {
    build();
    const res = await app.inject({ method: 'GET', url: '/v1/executions/ex_1/logs' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ executionId: 'ex_1', lines: [{ ts: '2024-01-01T00:00:00.000Z', stream: 'stdout', message: 'hi' }], truncated: false });
  });

  it('POST /v1/executions/:id/cancel: 200 with the cancelled Execution, with or without a {} body', async () => {
    build();
    const a = await app.inject({ method: 'POST', url: '/v1/executions/ex_1/cancel' });
    expect(a.statusCode).toBe(200);
    expect(a.json()).toEqual(sampleExecution({ id: 'ex_1', status: 'cancelled' }));
    const b = await app.inject({ method: 'POST', url: '/v1/executions/ex_1/cancel', payload: {} });
    expect(b.statusCode).toBe(200);
    expect(control.callsTo('cancelExecution')).toEqual([['ex_1'], ['ex_1']]);
  });

  it('a cancel body with any field is 400 VALIDATION_ERROR naming it, and cancels nothing', async () => {
    build();
    const res = await app.inject({ method: 'POST', url: '/v1/executions/ex_1/cancel', payload: { reason: 'x' } });
    expect(res.statusCode).toBe(400);
    expect(err(res).code).toBe('VALIDATION_ERROR');
    expect(JSON.stringify(err(res).details)).toContain('body.reason');
    for (const payload of ['[]', '"x"', '1']) {
      const other = await app.inject({ method: 'POST', url: '/v1/executions/ex_1/cancel', headers: { 'content-type': 'application/json' }, payload });
      expect(other.statusCode, payload).toBe(400);
    }
    expect(control.callsTo('cancelExecution')).toEqual([]);
  });

  it('EXECUTION_FINISHED from the client is 409', async () => {
    build({
      cancelExecution: async (id) => Promise.reject(new TaskForgeError('EXECUTION_FINISHED', `execution '${id}' already finished`, { status: 'succeeded' })),
    });
    const res = await app.inject({ method: 'POST', url: '/v1/executions/ex_1/cancel' });
    expect(res.statusCode).toBe(409);
    expect(res.json()).toEqual({
      error: { code: 'EXECUTION_FINISHED', message: "execution 'ex_1' already finished", details: { reason: 'finished', status: 'succeeded' } },
    });
  });
});
