/**
 * An in-memory ControlClient for the gateway's HTTP-layer unit tests. It records every call
 * (so a test can prove what did, or did not, reach the scheduler) and answers with canned
 * records unless a test overrides a method. It has no scheduler logic and must never be used
 * outside tests.
 */
import type { ApiKeyInfo, KeyScope, Principal } from '../../common/api-keys.js';
import type { PoolInfo, Stats, WorkerInfo } from '../../common/records.js';
import type { WorkflowDefinition, WorkflowRunView } from '../../common/workflows.js';
import type { FastifyInstance } from 'fastify';
import { buildApp, type GatewayAppOptions } from '../app.js';
import { toExecutionText, type ControlClient } from '../control-client.js';
import { T0, sampleExecution, sampleFunction } from '../../common/testing/records.js';

export { sampleExecution, sampleFunction };

export interface RecordedCall {
  method: keyof ControlClient;
  args: unknown[];
}

export type FakeControlClient = ControlClient & { calls: RecordedCall[]; callsTo(method: keyof ControlClient): unknown[][] };

/** A well-formed key (`tfk_<id>_<secret>`) for tests; `tag` is padded into a 12-character id. */
export const testKey = (tag: string): string => `tfk_${tag.padEnd(12, '0').slice(0, 12)}_${'s'.repeat(40)}`;

/** A principal, as the scheduler would answer for a key. */
export const testPrincipal = (id: string, scopes: KeyScope[], functions: string[] | null = null): Principal => ({ id, name: `${id} key`, scopes, functions });

/**
 * An authenticate() that knows exactly these keys (key text → principal), like the scheduler
 * would answer; anything else is not a key.
 */
export const knownKeys =
  (keys: Record<string, Principal>): ControlClient['authenticate'] =>
  async (key) =>
    Object.prototype.hasOwnProperty.call(keys, key) ? keys[key]! : null;

export const sampleKey = (over: Partial<ApiKeyInfo> = {}): ApiKeyInfo => ({
  id: 'AbCdEf123456',
  name: 'ci',
  scopes: ['deploy'],
  functions: null,
  createdAt: T0,
  ...over,
});

export const samplePool = (): PoolInfo => ({
  name: 'pool',
  host: 'host-1',
  current: 2,
  target: 2,
  min: 0,
  max: 8,
  autoscale: false,
  workerCapacity: 4,
  connectedAt: T0,
});

export const sampleWorker = (): WorkerInfo => ({
  id: 'w_1',
  name: 'worker-1',
  status: 'ready',
  capacity: 4,
  inFlight: 1,
  sandbox: 'namespaces',
  warm: ['hello@1'],
  connectedAt: T0,
  lastHeartbeatAt: T0,
  completed: 7,
});

export const sampleWorkflow = (name: string, fn = 'hello'): WorkflowDefinition => ({
  name,
  steps: [{ id: 'a', function: fn, needs: [] }],
  version: 1,
  createdAt: T0,
  updatedAt: T0,
});

export const sampleRun = (over: Partial<WorkflowRunView> = {}): WorkflowRunView => ({
  id: 'wr_AAAAAAAAAAAAAAAAAAAA',
  workflow: 'flow',
  workflowVersion: 1,
  status: 'running',
  steps: { a: { status: 'queued', executionId: 'ex_1', function: 'hello' } },
  failedStep: null,
  createdAt: T0,
  finishedAt: null,
  input: null,
  output: null,
  ...over,
});

export const sampleStats = (): Stats => ({
  executions: { queued: 1, running: 2, succeeded: 3, failed: 4, timed_out: 5, cancelled: 6 },
  queueDepth: 1,
  workers: { ready: 1, draining: 0, lost: 0 },
});

export function createFakeControlClient(overrides: Partial<ControlClient> = {}): FakeControlClient {
  const defaults: ControlClient = {
    putFunction: async (name) => ({ function: sampleFunction(name), created: true }),
    getFunction: async (name) => sampleFunction(name),
    listFunctions: async () => [sampleFunction('a'), sampleFunction('b')],
    listVersions: async (name) => [sampleFunction(name, 2), sampleFunction(name, 1)],
    deleteFunction: async () => undefined,
    invoke: async (args) => ({
      execution: toExecutionText(sampleExecution({ function: args.function, mode: args.mode, idempotencyKey: args.idempotencyKey })),
      terminal: false,
      created: true,
    }),
    invokeBatch: async (args) => ({ executionIds: args.inputJsons.map((_, i) => `ex_batch${String(i).padStart(15, '0')}`), created: true }),
    getExecution: async (id) => toExecutionText(sampleExecution({ id })),
    listExecutions: async () => ({ executions: [sampleExecution()], nextCursor: null }),
    getLogs: async (id) => ({ executionId: id, lines: [{ ts: T0, stream: 'stdout', message: 'hi' }], truncated: false }),
    cancelExecution: async (id) => sampleExecution({ id, status: 'cancelled' }),
    retryExecution: async (id) => sampleExecution({ id: `${id}_retry`, status: 'queued', trigger: { type: 'retry', of: id } }),
    publish: async () => ({ eventId: 'evt_1', executions: [{ function: 'a', executionId: 'ex_1' }] }),
    listDeliveries: async () => JSON.stringify({ deliveries: [] }),
    listWorkers: async () => [sampleWorker()],
    listPools: async () => [samplePool()],
    scaleWorkers: async (pool, workers) => ({ ...samplePool(), name: pool || 'pool', target: workers }),
    stats: async () => sampleStats(),
    authenticate: async () => null,
    verifySignature: async () => ({ refused: 'signature' }),
    createKey: async (args) => ({
      ...sampleKey({ name: args.name, scopes: args.scopes as KeyScope[], functions: args.functions && [...args.functions] }),
      key: testKey('AbCdEf123456'),
    }),
    listKeys: async () => [sampleKey()],
    deleteKey: async () => undefined,
    putWorkflow: async (name) => ({ workflow: sampleWorkflow(name), created: true }),
    getWorkflow: async (name) => sampleWorkflow(name),
    listWorkflows: async () => [sampleWorkflow('flow')],
    deleteWorkflow: async () => undefined,
    startWorkflowRun: async (name) => ({ run: sampleRun({ workflow: name }), created: true }),
    getWorkflowRun: async (id) => sampleRun({ id }),
    listWorkflowRuns: async () => ({ runs: [sampleRun()], nextCursor: null }),
    cancelWorkflowRun: async (id) => sampleRun({ id, status: 'cancelled' }),
    ping: async () => undefined,
    connect: async () => 'ready' as const,
    // A stream that says nothing until closed.
    watchEvents: () => ({ close: () => undefined }),
    followLogs: () => ({ close: () => undefined }),
    metrics: async () => '',
    close: () => undefined,
  };
  const calls: RecordedCall[] = [];
  const fake = {} as Record<string, unknown>;
  for (const method of Object.keys(defaults) as (keyof ControlClient)[]) {
    const impl = (overrides[method] ?? defaults[method]) as (...args: unknown[]) => unknown;
    fake[method] = (...args: unknown[]) => {
      calls.push({ method, args });
      return impl(...args);
    };
  }
  return Object.assign(fake as unknown as ControlClient, {
    calls,
    callsTo: (method: keyof ControlClient) => calls.filter((c) => c.method === method).map((c) => c.args),
  });
}

/**
 * A gateway app over a fresh fake client, for route tests (close the app after each test). Auth
 * is off unless `app` says otherwise: these tests are about the routes; auth.test.ts and
 * routes/keys.test.ts test the real hook.
 */
export function buildTestApp(
  overrides: Partial<ControlClient> = {},
  app: Omit<GatewayAppOptions, 'control'> = { auth: 'off' },
): { app: FastifyInstance; control: FakeControlClient } {
  const control = createFakeControlClient(overrides);
  return { app: buildApp({ ...app, control }), control };
}
