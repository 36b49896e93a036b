import { afterEach, describe, expect, it } from 'vitest';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { TaskForgeError } from '../../common/errors.js';
import { buildApp } from '../app.js';
import type { ControlClient } from '../control-client.js';
import {
  createFakeControlClient,
  knownKeys,
  sampleRun,
  sampleWorkflow,
  testKey,
  testPrincipal,
  type FakeControlClient,
} from '../testing/fake-control-client.js';

const ADMIN = testKey('admin');
const DEPLOY = testKey('deploy');
const INVOKE = testKey('invoke');
const READ = testKey('read');
/** An invoke+deploy key limited to function `hello`. */
const LIMITED = testKey('limited');

let app: FastifyInstance;
let control: FakeControlClient;

function build(overrides: Partial<ControlClient> = {}): void {
  control = createFakeControlClient({
    authenticate: knownKeys({
      [ADMIN]: testPrincipal('admin0000000', ['admin']),
      [DEPLOY]: testPrincipal('deploy000000', ['deploy']),
      [INVOKE]: testPrincipal('invoke000000', ['invoke']),
      [READ]: testPrincipal('read00000000', ['read']),
      [LIMITED]: testPrincipal('limited00000', ['invoke', 'deploy'], ['hello']),
    }),
    ...overrides,
  });
  app = buildApp({ control });
}

afterEach(async () => {
  await app?.close();
});

const as = (key: string, req: InjectOptions) => app.inject({ ...req, headers: { ...req.headers, authorization: `Bearer ${key}` } });
type ErrorJson = { error: { code: string; details: Record<string, unknown> & { errors?: { field: string; reason: string }[] } } };
const err = (res: { json(): unknown }) => (res.json() as ErrorJson).error;
const STEPS = { steps: [{ id: 'a', function: 'hello' }] };

describe('workflow routes', () => {
  it('PUT answers 201 for a new workflow and 200 for a replaced one, with the definition', async () => {
    build();
    const created = await as(DEPLOY, { method: 'PUT', url: '/v1/workflows/flow', payload: STEPS });
    expect(created.statusCode).toBe(201);
    expect(created.json()).toEqual(sampleWorkflow('flow'));
    expect(control.callsTo('putWorkflow')).toEqual([['flow', STEPS]]);
    build({ putWorkflow: async (name) => ({ workflow: sampleWorkflow(name), created: false }) });
    expect((await as(DEPLOY, { method: 'PUT', url: '/v1/workflows/flow', payload: STEPS })).statusCode).toBe(200);
  });

  it('the scheduler’s VALIDATION_ERROR (a cycle, an unknown step or function) passes through as 400', async () => {
    build({
      putWorkflow: async () =>
        Promise.reject(new TaskForgeError('VALIDATION_ERROR', 'cycle', { field: 'body.steps[0].needs', reason: 'cycle', step: 'a', cycle: ['a', 'b'] })),
    });
    const res = await as(ADMIN, { method: 'PUT', url: '/v1/workflows/flow', payload: STEPS });
    expect(res.statusCode).toBe(400);
    expect(err(res)).toMatchObject({ code: 'VALIDATION_ERROR', details: { field: 'body.steps[0].needs', reason: 'cycle', cycle: ['a', 'b'] } });
  });

  it('a malformed body or name never reaches the scheduler', async () => {
    build();
    const noSteps = await as(ADMIN, { method: 'PUT', url: '/v1/workflows/flow', payload: { steps: [] } });
    expect(noSteps.statusCode).toBe(400);
    const extra = await as(ADMIN, { method: 'PUT', url: '/v1/workflows/flow', payload: { steps: [{ id: 'a', function: 'hello', when: 1 }] } });
    expect(extra.statusCode).toBe(400);
    const name = await as(ADMIN, { method: 'PUT', url: '/v1/workflows/Not_A_Name', payload: STEPS });
    expect(err(name)).toMatchObject({ code: 'INVALID_NAME', details: { field: 'params.workflow' } });
    expect(err(await as(ADMIN, { method: 'GET', url: '/v1/workflow-runs?workflow=BAD' }))).toMatchObject({ code: 'INVALID_NAME' });
    expect(err(await as(ADMIN, { method: 'GET', url: '/v1/workflow-runs/bad.id' }))).toMatchObject({ code: 'INVALID_NAME' });
    expect(control.calls.filter((c) => c.method !== 'authenticate')).toEqual([]);
  });

  it('scopes: deploy defines, invoke runs and cancels, read reads; each refuses the rest with 403', async () => {
    build();
    expect((await as(INVOKE, { method: 'PUT', url: '/v1/workflows/flow', payload: STEPS })).statusCode).toBe(403);
    expect((await as(READ, { method: 'DELETE', url: '/v1/workflows/flow' })).statusCode).toBe(403);
    expect((await as(DEPLOY, { method: 'POST', url: '/v1/workflows/flow/runs', payload: {} })).statusCode).toBe(403);
    expect((await as(READ, { method: 'POST', url: '/v1/workflow-runs/wr_1/cancel' })).statusCode).toBe(403);
    const run = await as(INVOKE, { method: 'POST', url: '/v1/workflows/flow/runs', payload: { n: 1 } });
    expect(run.statusCode).toBe(202);
    expect(run.json()).toEqual({ runId: sampleRun().id, status: 'running', statusUrl: `/v1/workflow-runs/${sampleRun().id}` });
    expect(run.headers.location).toBe(`/v1/workflow-runs/${sampleRun().id}`);
    expect(control.callsTo('startWorkflowRun')).toEqual([['flow', '{"n":1}', null]]);
    expect((await as(INVOKE, { method: 'POST', url: '/v1/workflow-runs/wr_1/cancel' })).json()).toMatchObject({ status: 'cancelled' });
    for (const url of ['/v1/workflows', '/v1/workflows/flow', '/v1/workflow-runs', '/v1/workflow-runs/wr_1']) {
      expect((await as(READ, { method: 'GET', url })).statusCode, url).toBe(200);
    }
    expect((await as(DEPLOY, { method: 'DELETE', url: '/v1/workflows/flow' })).statusCode).toBe(204);
  });

  it('an empty run body is a null input', async () => {
    build();
    expect((await as(ADMIN, { method: 'POST', url: '/v1/workflows/flow/runs' })).statusCode).toBe(202);
    expect(control.callsTo('startWorkflowRun')).toEqual([['flow', 'null', null]]);
  });

  it('an idempotency-key is passed on; a replayed run says so', async () => {
    build({ startWorkflowRun: async (name) => ({ run: sampleRun({ workflow: name }), created: false }) });
    const res = await as(ADMIN, { method: 'POST', url: '/v1/workflows/flow/runs', payload: {}, headers: { 'idempotency-key': 'k-1' } });
    expect(res.statusCode).toBe(202);
    expect(res.headers['idempotent-replayed']).toBe('true');
    expect(control.callsTo('startWorkflowRun')).toEqual([['flow', '{}', 'k-1']]);
    const long = await as(ADMIN, { method: 'POST', url: '/v1/workflows/flow/runs', payload: {}, headers: { 'idempotency-key': 'k'.repeat(129) } });
    expect(long.statusCode).toBe(400);
  });

  it('a key limited to some functions touches only workflows whose steps all call them', async () => {
    build({
      getWorkflow: async (name) => sampleWorkflow(name, name === 'mine' ? 'hello' : 'other'),
      listWorkflows: async () => [sampleWorkflow('mine', 'hello'), sampleWorkflow('theirs', 'other')],
      getWorkflowRun: async (id) => sampleRun({ id, steps: { a: { status: 'queued', executionId: 'ex_1', function: id === 'wr_mine' ? 'hello' : 'other' } } }),
    });
    const outside = await as(LIMITED, {
      method: 'PUT',
      url: '/v1/workflows/mine',
      payload: {
        steps: [
          { id: 'a', function: 'hello' },
          { id: 'b', function: 'other' },
        ],
      },
    });
    expect(outside.statusCode).toBe(403);
    expect(err(outside).details).toMatchObject({ reason: 'function', field: 'body.steps[1].function' });
    const replace = await as(LIMITED, { method: 'PUT', url: '/v1/workflows/theirs', payload: STEPS });
    expect(err(replace).details).toMatchObject({ reason: 'function', field: 'params.workflow' });
    expect((await as(LIMITED, { method: 'PUT', url: '/v1/workflows/mine', payload: STEPS })).statusCode).toBe(201);
    expect((await as(LIMITED, { method: 'GET', url: '/v1/workflows' })).json()).toEqual({ workflows: [sampleWorkflow('mine', 'hello')] });
    expect(err(await as(LIMITED, { method: 'GET', url: '/v1/workflows/theirs' }))).toMatchObject({ code: 'NOT_FOUND' });
    expect(err(await as(LIMITED, { method: 'POST', url: '/v1/workflows/theirs/runs', payload: {} }))).toMatchObject({ code: 'NOT_FOUND' });
    expect(err(await as(LIMITED, { method: 'DELETE', url: '/v1/workflows/theirs' }))).toMatchObject({ code: 'NOT_FOUND' });
    expect((await as(LIMITED, { method: 'POST', url: '/v1/workflows/mine/runs', payload: {} })).statusCode).toBe(202);
    expect(err(await as(LIMITED, { method: 'GET', url: '/v1/workflow-runs/wr_theirs' }))).toMatchObject({ code: 'NOT_FOUND' });
    expect(err(await as(LIMITED, { method: 'POST', url: '/v1/workflow-runs/wr_theirs/cancel' }))).toMatchObject({ code: 'NOT_FOUND' });
    expect((await as(LIMITED, { method: 'GET', url: '/v1/workflow-runs/wr_mine' })).statusCode).toBe(200);
    expect(control.callsTo('cancelWorkflowRun')).toEqual([]);
    expect(control.callsTo('deleteWorkflow')).toEqual([]);
    await as(LIMITED, { method: 'GET', url: '/v1/workflow-runs?workflow=mine&limit=5' });
    expect(control.callsTo('listWorkflowRuns')).toEqual([[{ workflow: 'mine', limit: 5, functions: ['hello'] }]]);
  });
});
