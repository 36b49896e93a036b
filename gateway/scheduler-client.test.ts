import { afterEach, describe, expect, it } from 'vitest';
import { createServer, type AddressInfo, type Server as NetServer } from 'node:net';
import { Server, ServerCredentials, type ServerDuplexStream, type ServerUnaryCall, type sendUnaryData } from '@grpc/grpc-js';
import { TaskForgeError, functionNotFound } from '../common/errors.js';
import { toGrpcError } from '../common/grpc-errors.js';
import {
  ControlServiceService,
  type AuthenticateRequest,
  type ControlServiceServer,
  type CreateKeyRequest,
  type InvokeBatchRequest,
  InvokeRequest,
  type ListExecutionsRequest,
  type ListWorkflowRunsRequest,
  type PutFunctionRequest,
  type PutWorkflowRequest,
  type SessionRequest,
  type SessionResponse,
} from '../proto/gen/taskforge/v1/control.js';
import { toExecutionText, type ControlClient } from './control-client.js';
import { createGrpcControlClient } from './scheduler-client.js';
import { sampleExecution, sampleFunction, samplePool, sampleRun, sampleWorker, sampleWorkflow } from './testing/fake-control-client.js';

/**
 * An address where no scheduler answers: a TCP server on port 0 that resets every connection (as
 * a closed port does), held for the test so no other server can take the port meanwhile.
 */
let dead: NetServer | undefined;
async function deadAddress(): Promise<string> {
  dead = createServer((socket) => socket.resetAndDestroy());
  await new Promise<void>((resolve) => dead!.listen(0, '127.0.0.1', resolve));
  return `127.0.0.1:${(dead.address() as AddressInfo).port}`;
}

const json = (value: unknown) => ({ json: JSON.stringify(value) });
const reply =
  <Req, Res>(fn: (req: Req, call: ServerUnaryCall<Req, Res>) => Res) =>
  (call: ServerUnaryCall<Req, Res>, cb: sendUnaryData<Res>) => {
    try {
      cb(null, fn(call.request, call));
    } catch (err) {
      cb(toGrpcError(err));
    }
  };

let server: Server | undefined;
let client: ControlClient | undefined;
const seen: Record<string, unknown> = {};

async function startStub(overrides: Partial<ControlServiceServer> = {}): Promise<string> {
  const impl: ControlServiceServer = {
    putFunction: reply((req: PutFunctionRequest) => {
      seen.putFunction = req;
      return { functionJson: JSON.stringify(sampleFunction(req.name)), created: true };
    }),
    getFunction: reply((req) => {
      if (req.name === 'ghost') throw functionNotFound(req.name);
      return json(sampleFunction(req.name, 1, req.includeCode ? { code: 'x' } : {}));
    }),
    listFunctions: reply(() => json({ functions: [sampleFunction('a')] })),
    listVersions: reply((req) => json({ versions: [sampleFunction(req.name, 2), sampleFunction(req.name, 1)] })),
    deleteFunction: reply(() => ({})),
    publish: reply((req) => json({ eventId: 'evt_1', executions: req.topic === 'none' ? [] : [{ function: 'a', executionId: 'ex_1' }] })),
    invoke: reply((req: InvokeRequest, call) => {
      seen.invoke = req;
      seen.invokeDeadline = call.getDeadline();
      const execution = sampleExecution({ input: JSON.parse(req.inputJson) });
      return { executionId: execution.id, status: execution.status, executionJson: JSON.stringify(execution), terminal: false, created: true };
    }),
    invokeBatch: reply((req: InvokeBatchRequest) => {
      seen.invokeBatch = req;
      return { executionIds: req.inputJson.map((_, i) => `ex_${i}`), created: true };
    }),
    getExecution: reply((req) => ({
      executionId: req.id,
      status: 'queued',
      executionJson: JSON.stringify(sampleExecution({ id: req.id })),
      function: 'hello',
    })),
    listExecutions: reply((req: ListExecutionsRequest) => {
      seen.listExecutions = req;
      return json({ executions: [], nextCursor: null });
    }),
    getLogs: reply((req) => json({ executionId: req.id, lines: [], truncated: false })),
    listDeliveries: reply((req) => json({ deliveries: [{ executionId: req.id }] })),
    cancelExecution: reply(() => {
      throw new TaskForgeError('EXECUTION_FINISHED', 'already finished', { status: 'succeeded' });
    }),
    retryExecution: reply(() => {
      throw new TaskForgeError('EXECUTION_NOT_FINISHED', 'still running', { status: 'running' });
    }),
    listWorkers: reply(() => json({ workers: [sampleWorker()] })),
    listPools: reply(() => json({ pools: [samplePool()] })),
    scaleWorkers: reply((req) => {
      if (req.pool === 'ghost') throw new TaskForgeError('POOL_NOT_FOUND', "no pool named 'ghost' is connected", { reason: 'not_found' });
      return json({ ...samplePool(), name: req.pool, target: req.workers });
    }),
    stats: reply(() => ({ json: 'not json' })),
    ping: reply(() => ({})),
    verifySignature: reply(() => ({ key: undefined, refusal: 'signature' })),
    authenticate: reply((req: AuthenticateRequest) => {
      if (req.key === 'limited') return { ok: true, keyId: 'k2', name: 'ci', scopes: ['invoke'], restrictFunctions: true, functions: ['a'] };
      if (req.key === 'admin') return { ok: true, keyId: 'k1', name: 'admin', scopes: ['admin'], restrictFunctions: false, functions: [] };
      if (req.key === 'garbled') return { ok: true, keyId: 'k3', name: 'x', scopes: ['root'], restrictFunctions: false, functions: [] };
      return { ok: false, keyId: '', name: '', scopes: [], restrictFunctions: false, functions: [] };
    }),
    createKey: reply((req: CreateKeyRequest) => {
      seen.createKey = req;
      return json({
        id: 'AbCdEf123456',
        name: req.name,
        scopes: req.scopes,
        functions: req.restrictFunctions ? req.functions : null,
        createdAt: 't',
        key: 'tfk_x',
      });
    }),
    listKeys: reply(() => json({ keys: [] })),
    deleteKey: reply((req) => {
      if (req.id === 'gone') throw new TaskForgeError('NOT_FOUND', "key 'gone' does not exist");
      return {};
    }),
    watchEvents: (call) => call.end(),
    followLogs: (call) => call.end(),
    metrics: reply(() => ({ text: '' })),
    putWorkflow: reply((req: PutWorkflowRequest) => {
      seen.putWorkflow = req;
      return json({ workflow: sampleWorkflow(req.name), created: true });
    }),
    getWorkflow: reply((req) => json(sampleWorkflow(req.name))),
    listWorkflows: reply(() => json({ workflows: [sampleWorkflow('flow')] })),
    deleteWorkflow: reply(() => ({})),
    startWorkflowRun: reply((req) => {
      seen.startWorkflowRun = req;
      return json({ run: sampleRun({ workflow: req.name, input: JSON.parse(req.inputJson) }), created: true });
    }),
    getWorkflowRun: reply((req) => json(sampleRun({ id: req.id }))),
    listWorkflowRuns: reply((req: ListWorkflowRunsRequest) => {
      seen.listWorkflowRuns = req;
      return json({ runs: [], nextCursor: null });
    }),
    cancelWorkflowRun: reply((req) => json(sampleRun({ id: req.id, status: 'cancelled' }))),
    session: (call: ServerDuplexStream<SessionRequest, SessionResponse>) => {
      seen.sessions = ((seen.sessions as number | undefined) ?? 0) + 1;
      call.on('data', (req: SessionRequest) => {
        const c = req.call;
        if (c?.$case === 'invoke') {
          seen.invoke = c.value;
          if (c.value.function === 'silent') return; // never answered: the client's deadline must fire
          if (c.value.function === 'ghost') {
            call.write({
              requestId: req.requestId,
              result: { $case: 'error', value: { code: 'FUNCTION_NOT_FOUND', message: 'nope', detailsJson: '{"name":"ghost"}' } },
            });
            return;
          }
          if (c.value.function === 'garbled') {
            call.write({
              requestId: req.requestId,
              result: { $case: 'invoke', value: { executionJson: '{}', terminal: false, created: true, executionId: 'ex_1', status: 'exploded' } },
            });
            return;
          }
          if (c.value.function === 'hangup') {
            call.end(); // the scheduler closes the session with this request unanswered
            return;
          }
          const e = sampleExecution({ input: JSON.parse(c.value.inputJson) });
          const executionJson = JSON.stringify(e);
          // answer slow requests later, so responses arrive out of request order
          const delay = c.value.waitMs === 123 ? 50 : 0;
          setTimeout(
            () =>
              call.write({
                requestId: req.requestId,
                result: { $case: 'invoke', value: { executionJson, terminal: false, created: true, executionId: e.id, status: e.status } },
              }),
            delay,
          );
        } else if (c?.$case === 'getExecution') {
          const e = sampleExecution({ id: c.value.id });
          call.write({
            requestId: req.requestId,
            result: { $case: 'execution', value: { executionId: e.id, status: e.status, executionJson: JSON.stringify(e), function: e.function } },
          });
        }
      });
      call.on('end', () => call.end());
    },
    ...overrides,
  };
  server = new Server();
  server.addService(ControlServiceService, impl);
  const port = await new Promise<number>((resolve, reject) =>
    server!.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return `127.0.0.1:${port}`;
}

afterEach(async () => {
  for (const k of Object.keys(seen)) delete seen[k];
  client?.close();
  client = undefined;
  if (server) await new Promise<void>((resolve) => server!.tryShutdown(() => resolve()));
  server = undefined;
  if (dead) await new Promise<void>((resolve) => dead!.close(() => resolve()));
  dead = undefined;
});

describe('createGrpcControlClient', () => {
  it('rejects with SCHEDULER_UNAVAILABLE when nothing at the address answers', async () => {
    client = createGrpcControlClient(await deadAddress(), { callTimeoutMs: 500 });
    const started = Date.now();
    const err = await client.ping(500).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TaskForgeError);
    expect((err as TaskForgeError).code).toBe('SCHEDULER_UNAVAILABLE');
    expect(Date.now() - started).toBeLessThan(5_000);
    await expect(client.listFunctions()).rejects.toMatchObject({ code: 'SCHEDULER_UNAVAILABLE', statusCode: 503 });
  });

  it('parses every JSON reply into its record', async () => {
    client = createGrpcControlClient(await startStub());
    await expect(client.ping(1000)).resolves.toBeUndefined();
    expect(await client.getFunction('hello', true)).toEqual(sampleFunction('hello', 1, { code: 'x' }));
    expect(await client.listFunctions()).toEqual([sampleFunction('a')]);
    expect(await client.listVersions('hello')).toEqual([sampleFunction('hello', 2), sampleFunction('hello', 1)]);
    await expect(client.deleteFunction('hello')).resolves.toBeUndefined();
    expect(await client.getExecution('ex_1', 0)).toEqual(toExecutionText(sampleExecution({ id: 'ex_1' })));
    expect(await client.getLogs('ex_1')).toEqual({ executionId: 'ex_1', lines: [], truncated: false });
    expect(await client.listWorkers()).toEqual([sampleWorker()]);
    expect(await client.listPools()).toEqual([samplePool()]);
    expect(await client.scaleWorkers('p1', 3)).toMatchObject({ name: 'p1', target: 3 });
    await expect(client.scaleWorkers('ghost', 3)).rejects.toMatchObject({ code: 'POOL_NOT_FOUND' });
    expect(await client.listExecutions({ limit: 5 })).toEqual({ executions: [], nextCursor: null });
    expect(seen.listExecutions).toEqual({ function: '', status: '', limit: 5, cursor: '', functions: [], deadLetters: false });
    await client.listExecutions({ limit: 5, functions: ['a', 'b'] });
    expect(seen.listExecutions).toMatchObject({ functions: ['a', 'b'] });
    await client.listExecutions({ limit: 5, deadLetters: true });
    expect(seen.listExecutions).toMatchObject({ deadLetters: true });
  });

  it('key calls: authenticate answers a principal or null, never an error; keys are created, listed, deleted', async () => {
    client = createGrpcControlClient(await startStub());
    expect(await client.authenticate('admin')).toEqual({ id: 'k1', name: 'admin', scopes: ['admin'], functions: null });
    expect(await client.authenticate('limited')).toEqual({ id: 'k2', name: 'ci', scopes: ['invoke'], functions: ['a'] });
    expect(await client.authenticate('nope')).toBeNull();
    await expect(client.authenticate('garbled')).rejects.toMatchObject({ code: 'INTERNAL' });
    expect(await client.createKey({ name: 'ci', scopes: ['deploy'], functions: null })).toMatchObject({ id: 'AbCdEf123456', functions: null, key: 'tfk_x' });
    expect(seen.createKey).toEqual({ name: 'ci', scopes: ['deploy'], restrictFunctions: false, functions: [] });
    await client.createKey({ name: 'ci', scopes: ['invoke'], functions: ['a'] });
    expect(seen.createKey).toEqual({ name: 'ci', scopes: ['invoke'], restrictFunctions: true, functions: ['a'] });
    expect(await client.listKeys()).toEqual([]);
    await expect(client.deleteKey('AbCdEf123456')).resolves.toBeUndefined();
    await expect(client.deleteKey('gone')).rejects.toMatchObject({ code: 'NOT_FOUND', statusCode: 404 });
  });

  it('workflow calls: the definition and the run input travel as JSON text, the answers are parsed', async () => {
    client = createGrpcControlClient(await startStub());
    expect(await client.putWorkflow('flow', { steps: [{ id: 'a', function: 'hello' }] })).toEqual({ workflow: sampleWorkflow('flow'), created: true });
    expect(seen.putWorkflow).toEqual({ name: 'flow', specJson: '{"steps":[{"id":"a","function":"hello"}]}' });
    expect(await client.getWorkflow('flow')).toEqual(sampleWorkflow('flow'));
    expect(await client.listWorkflows()).toEqual([sampleWorkflow('flow')]);
    await expect(client.deleteWorkflow('flow')).resolves.toBeUndefined();
    expect(await client.startWorkflowRun('flow', '{"n":1}', null)).toEqual({ run: sampleRun({ workflow: 'flow', input: { n: 1 } }), created: true });
    expect(seen.startWorkflowRun).toEqual({ name: 'flow', inputJson: '{"n":1}', idempotencyKey: '' });
    await client.startWorkflowRun('flow', '1', 'k-1');
    expect(seen.startWorkflowRun).toMatchObject({ idempotencyKey: 'k-1' });
    expect(await client.getWorkflowRun('wr_1')).toEqual(sampleRun({ id: 'wr_1' }));
    expect(await client.cancelWorkflowRun('wr_1')).toEqual(sampleRun({ id: 'wr_1', status: 'cancelled' }));
    expect(await client.listWorkflowRuns({ limit: 5 })).toEqual({ runs: [], nextCursor: null });
    expect(seen.listWorkflowRuns).toEqual({ workflow: '', limit: 5, cursor: '', functions: [] });
    await client.listWorkflowRuns({ workflow: 'flow', limit: 5, cursor: 'c', functions: ['a'] });
    expect(seen.listWorkflowRuns).toEqual({ workflow: 'flow', limit: 5, cursor: 'c', functions: ['a'] });
  });

  it('sends the spec as JSON text and returns { function, created }', async () => {
    client = createGrpcControlClient(await startStub());
    const res = await client.putFunction('hello', { code: 'x', timeoutMs: 100 }, true);
    expect(res).toEqual({ function: sampleFunction('hello'), created: true });
    expect(seen.putFunction).toEqual({ name: 'hello', specJson: '{"code":"x","timeoutMs":100}', createOnly: true });
  });

  it('invoke maps its arguments (null key → empty) and travels over the session stream', async () => {
    client = createGrpcControlClient(await startStub(), { waitSlackMs: 10_000 });
    const res = await client.invoke({ function: 'hello', version: 2, inputJson: '{"a":1}', mode: 'sync', idempotencyKey: null, waitMs: 20_000 });
    expect(res).toEqual({ execution: toExecutionText(sampleExecution({ input: { a: 1 } })), terminal: false, created: true });
    expect(seen.invoke).toEqual({
      function: 'hello',
      version: 2,
      inputJson: '{"a":1}',
      mode: 'sync',
      idempotencyKey: '',
      waitMs: 20_000,
      delayMs: 0,
      at: '',
      priority: '',
    });
  });

  it('invoke carries a delay and a priority; invokeBatch sends every event in order', async () => {
    client = createGrpcControlClient(await startStub());
    await client.invoke({ function: 'hello', version: 0, inputJson: '1', mode: 'async', idempotencyKey: null, waitMs: 0, delayMs: 5_000, priority: 'high' });
    expect(seen.invoke).toMatchObject({ delayMs: 5_000, at: '', priority: 'high' });
    const res = await client.invokeBatch({ function: 'hello', version: 0, inputJsons: ['1', '2'], idempotencyKey: 'k', at: '2030-01-01T00:00:00Z' });
    expect(res).toEqual({ executionIds: ['ex_0', 'ex_1'], created: true });
    expect(seen.invokeBatch).toEqual({
      function: 'hello',
      version: 0,
      inputJson: ['1', '2'],
      idempotencyKey: 'k',
      delayMs: 0,
      at: '2030-01-01T00:00:00Z',
      priority: '',
    });
  });

  it('multiplexes many requests over one session; answers out of order reach the right caller', async () => {
    client = createGrpcControlClient(await startStub());
    const slow = client.invoke({ function: 'hello', version: 0, inputJson: '{"n":"slow"}', mode: 'async', idempotencyKey: null, waitMs: 123 });
    const fast = await Promise.all(
      [1, 2, 3].map((n) => client!.invoke({ function: 'hello', version: 0, inputJson: JSON.stringify({ n }), mode: 'async', idempotencyKey: null, waitMs: 0 })),
    );
    expect(fast.map((r) => (JSON.parse(r.execution.json).input as { n: number }).n)).toEqual([1, 2, 3]);
    expect((JSON.parse((await slow).execution.json).input as { n: string }).n).toBe('slow');
    expect(await client.getExecution('ex_9', 0)).toEqual(toExecutionText(sampleExecution({ id: 'ex_9' })));
    expect(seen.sessions).toBe(1);
  });

  it('a session error carries the scheduler error code and details', async () => {
    client = createGrpcControlClient(await startStub());
    await expect(client.invoke({ function: 'ghost', version: 0, inputJson: 'null', mode: 'async', idempotencyKey: null, waitMs: 0 })).rejects.toMatchObject({
      code: 'FUNCTION_NOT_FOUND',
      details: { name: 'ghost' },
    });
  });

  it('a request the scheduler never answers fails at its own deadline with SCHEDULER_UNAVAILABLE', async () => {
    client = createGrpcControlClient(await startStub(), { callTimeoutMs: 100 });
    await expect(client.invoke({ function: 'silent', version: 0, inputJson: 'null', mode: 'async', idempotencyKey: null, waitMs: 0 })).rejects.toMatchObject({
      code: 'SCHEDULER_UNAVAILABLE',
    });
  });

  it('a session that breaks fails its waiting requests with SCHEDULER_UNAVAILABLE, and the next request opens a new one', async () => {
    client = createGrpcControlClient(await startStub());
    await expect(client.invoke({ function: 'hangup', version: 0, inputJson: 'null', mode: 'async', idempotencyKey: null, waitMs: 0 })).rejects.toMatchObject({
      code: 'SCHEDULER_UNAVAILABLE',
    });
    const ok = await client.invoke({ function: 'hello', version: 0, inputJson: '{"again":true}', mode: 'async', idempotencyKey: null, waitMs: 0 });
    expect(JSON.parse(ok.execution.json).input).toEqual({ again: true });
    expect(seen.sessions).toBe(2);
  });

  it('a TaskForgeError raised by the scheduler arrives with its code, message and details', async () => {
    client = createGrpcControlClient(await startStub());
    await expect(client.getFunction('ghost', false)).rejects.toMatchObject({
      code: 'FUNCTION_NOT_FOUND',
      message: "function 'ghost' does not exist",
      details: { name: 'ghost' },
    });
    await expect(client.cancelExecution('ex_1')).rejects.toMatchObject({ code: 'EXECUTION_FINISHED', statusCode: 409, details: { status: 'succeeded' } });
    await expect(client.retryExecution('ex_1')).rejects.toMatchObject({ code: 'EXECUTION_NOT_FINISHED', statusCode: 409, details: { status: 'running' } });
  });

  it('an unreadable reply is INTERNAL', async () => {
    client = createGrpcControlClient(await startStub());
    await expect(client.stats()).rejects.toMatchObject({ code: 'INTERNAL' });
    await expect(client.invoke({ function: 'garbled', version: 0, inputJson: 'null', mode: 'async', idempotencyKey: null, waitMs: 0 })).rejects.toMatchObject({
      code: 'INTERNAL',
    });
  });

  it('a scheduler slower than the deadline is SCHEDULER_UNAVAILABLE', async () => {
    client = createGrpcControlClient(await startStub({ listWorkers: (_call, cb) => void setTimeout(() => cb(null, json({ workers: [] })), 1_000) }), {
      callTimeoutMs: 100,
    });
    await expect(client.listWorkers()).rejects.toMatchObject({ code: 'SCHEDULER_UNAVAILABLE' });
  });
});
