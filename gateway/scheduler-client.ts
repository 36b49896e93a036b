/**
 * The ControlClient over gRPC: the gateway's only connection to the scheduler.
 *
 * Calls go through a plain grpc-js `Client` with the generated ControlService method
 * definitions (path + serialisers), which is what the generated client constructor would
 * wrap; this keeps every call typed. Records arrive as JSON text (see control.proto) and are
 * parsed here, once.
 *
 * Every call has a deadline, so a hung scheduler can never hold an HTTP request forever, and
 * every rejection is a TaskForgeError made by fromGrpcError: this module never lets a raw gRPC
 * error (or its message text) escape to the routes.
 */
import { Client, connectivityState, type ChannelOptions, type ServiceError } from '@grpc/grpc-js';
import { isKeyScope, type ApiKeyInfo, type CreatedApiKey } from '../common/api-keys.js';
import { TaskForgeError } from '../common/errors.js';
import { authMetadata, clientTransport, isAuthRefusal, type TlsIdentity } from '../common/grpc-auth.js';
import type { Logger } from '../common/logger.js';
import { fromGrpcError } from '../common/grpc-errors.js';
import { OptionsError } from '../common/options-error.js';
import type { WorkflowDefinition, WorkflowRunView } from '../common/workflows.js';
import {
  EXECUTION_STATUSES,
  LIMITS,
  type Execution,
  type ExecutionStatus,
  type ExecutionLogs,
  type FunctionInfo,
  type PoolInfo,
  type Stats,
  type WorkerInfo,
} from '../common/records.js';
import { ControlServiceService, type ExecutionEvent, type JsonReply, type LogEvent, type WatchRequest } from '../proto/gen/taskforge/v1/control.js';
import type { ControlClient, ExecutionText, InvokeArgs, ListExecutionsArgs, PublishResult } from './control-client.js';
import { ControlSession } from './control-session.js';
import { CLIENT_CHANNEL_OPTIONS } from '../common/grpc-options.js';

export interface GrpcControlClientOptions {
  /** ms deadline of a call that does not wait for an execution. */
  callTimeoutMs?: number;
  /** ms added to a call's own wait (sync invoke, long-poll) to form its deadline. */
  waitSlackMs?: number;
  /** Extra or overriding grpc-js channel options. */
  channelOptions?: ChannelOptions;
  /** The scheduler's control token (`<data-dir>/control.token`), sent on every call and stream. */
  controlToken?: string;
  /** mTLS identity for the scheduler connection; plaintext when absent. */
  tls?: TlsIdentity;
  /** Where a refused control token is reported (one error line per streak of refusals). */
  logger?: Logger;
}

export const GRPC_CONTROL_CLIENT_DEFAULTS = Object.freeze({
  /** ms: a unary call the scheduler answers from memory or one durable write. */
  callTimeoutMs: 10_000,
  /** ms: on top of a wait, for the scheduler to notice the end and answer. */
  waitSlackMs: 10_000,
});

/**
 * Keepalive finds a dead scheduler (or a dropped NAT mapping) within ~15 s even when idle;
 * short reconnect backoff means a restarted scheduler is used again within seconds instead of
 * grpc-js's default of up to two minutes. Records up to 16 MiB (a 500-execution page, a
 * function with 5 MiB of code) fit in one message.
 */
export const CONTROL_CHANNEL_OPTIONS: ChannelOptions = Object.freeze({
  ...CLIENT_CHANNEL_OPTIONS,
  'grpc.initial_reconnect_backoff_ms': 200,
  'grpc.max_reconnect_backoff_ms': 2_000,
});

type Methods = typeof ControlServiceService;
type UnaryName = { [K in keyof Methods]: Methods[K]['responseStream'] extends false ? K : never }[keyof Methods];
type Req<K extends UnaryName> = Parameters<Methods[K]['requestSerialize']>[0];
type Res<K extends UnaryName> = ReturnType<Methods[K]['responseDeserialize']>;

function positive(name: string, v: number): number {
  if (!Number.isFinite(v) || v <= 0) throw new OptionsError(name, `control client option ${name} must be a positive number, got ${String(v)}`);
  return v;
}

/** A reply the scheduler sent but we cannot read is a bug on one side: INTERNAL, not a retry. */
function parseJson<T>(reply: JsonReply | { json?: string }, what: string): T {
  try {
    return JSON.parse(reply.json ?? '') as T;
  } catch (err) {
    throw new TaskForgeError('INTERNAL', `unreadable ${what} reply from the scheduler`, {}, { cause: err });
  }
}

/** Checks what the gateway routes on; the record text itself is passed through unparsed. */
function executionText(id: string, status: string, fn: string, json: string, what: string): ExecutionText {
  if (!id || !fn || !(EXECUTION_STATUSES as readonly string[]).includes(status) || !json.startsWith('{')) {
    throw new TaskForgeError('INTERNAL', `unreadable ${what} reply from the scheduler`);
  }
  return { id, status: status as ExecutionStatus, function: fn, json };
}

export function createGrpcControlClient(address: string, opts: GrpcControlClientOptions = {}): ControlClient {
  const callTimeoutMs = positive('callTimeoutMs', opts.callTimeoutMs ?? GRPC_CONTROL_CLIENT_DEFAULTS.callTimeoutMs);
  const waitSlackMs = positive('waitSlackMs', opts.waitSlackMs ?? GRPC_CONTROL_CLIENT_DEFAULTS.waitSlackMs);
  const transport = clientTransport(address, opts.tls);
  const client = new Client(address, transport.credentials, { ...CONTROL_CHANNEL_OPTIONS, ...transport.options, ...opts.channelOptions });
  const metadata = () => authMetadata(opts.controlToken);
  // The gateway keeps serving (503 for anything that needs the scheduler, /readyz not ready) and
  // tries again on every call, so a fixed token file or a restarted scheduler is picked up at once.
  let refused = false;
  const observe = (err: unknown): void => {
    if (!isAuthRefusal(err)) return;
    if (!refused) {
      opts.logger?.error(
        { reason: 'unauthenticated', code: (err as ServiceError).code },
        "the scheduler refused the control token (check --control-token-file / TASKFORGE_CONTROL_TOKEN against the scheduler's <data-dir>/control.token)",
      );
    }
    refused = true;
  };
  const answered = (): void => {
    if (refused) opts.logger?.info({}, 'the scheduler accepts the control token again');
    refused = false;
  };
  const session = new ControlSession(client, { metadata, observe, answered });

  function call<K extends UnaryName>(method: K, request: Req<K>, timeoutMs: number = callTimeoutMs): Promise<Res<K>> {
    const def = ControlServiceService[method] as unknown as {
      path: string;
      requestSerialize: (v: Req<K>) => Buffer;
      responseDeserialize: (b: Buffer) => Res<K>;
    };
    return new Promise((resolve, reject) => {
      client.makeUnaryRequest(
        def.path,
        def.requestSerialize,
        def.responseDeserialize,
        request,
        metadata(),
        { deadline: Date.now() + timeoutMs },
        (err: ServiceError | null, value?: Res<K>) => {
          if (err) {
            observe(err);
            reject(fromGrpcError(err));
          } else if (value === undefined) reject(new TaskForgeError('INTERNAL', `empty ${method} reply from the scheduler`));
          else {
            answered();
            resolve(value);
          }
        },
      );
    });
  }

  /**
   * A server stream with no deadline (it lasts as long as the watcher). `end` runs once: with an
   * error when the stream failed, null when the scheduler ended it; never after close().
   */
  function serverStream<K extends 'watchEvents' | 'followLogs'>(
    method: K,
    request: Parameters<Methods[K]['requestSerialize']>[0],
    on: { data(v: ReturnType<Methods[K]['responseDeserialize']>): void; end(err: TaskForgeError | null): void },
  ): { close(): void } {
    const def = ControlServiceService[method] as unknown as {
      path: string;
      requestSerialize: (v: typeof request) => Buffer;
      responseDeserialize: (b: Buffer) => ReturnType<Methods[K]['responseDeserialize']>;
    };
    let closed = false;
    let done = false;
    const finish = (err: TaskForgeError | null): void => {
      if (done || closed) return;
      done = true;
      on.end(err);
    };
    const stream = client.makeServerStreamRequest(def.path, def.requestSerialize, def.responseDeserialize, request, metadata(), {});
    stream.on('data', (v: ReturnType<Methods[K]['responseDeserialize']>) => {
      if (!closed) on.data(v);
    });
    stream.on('error', (err: ServiceError) => {
      observe(err);
      finish(fromGrpcError(err));
    });
    stream.on('end', () => finish(null));
    return {
      close() {
        if (closed) return;
        closed = true;
        stream.cancel();
      },
    };
  }

  /** Sync invoke with wait 0 waits for the scheduler's default, which is at most 300 s. */
  const invokeDeadline = (args: InvokeArgs): number =>
    args.mode === 'sync' ? (args.waitMs > 0 ? args.waitMs : LIMITS.maxSyncWaitMs) + waitSlackMs : callTimeoutMs;

  return {
    async putFunction(name, spec, createOnly) {
      const res = await call('putFunction', { name, specJson: JSON.stringify(spec), createOnly });
      return { function: parseJson<FunctionInfo>({ json: res.functionJson }, 'putFunction'), created: res.created };
    },
    async getFunction(name, includeCode, version) {
      return parseJson<FunctionInfo>(await call('getFunction', { name, includeCode, version: version ?? 0 }), 'getFunction');
    },
    async listFunctions() {
      return parseJson<{ functions: FunctionInfo[] }>(await call('listFunctions', {}), 'listFunctions').functions;
    },
    async listVersions(name) {
      return parseJson<{ versions: FunctionInfo[] }>(await call('listVersions', { name }), 'listVersions').versions;
    },
    async deleteFunction(name) {
      await call('deleteFunction', { name });
    },
    async invoke(args) {
      const request = {
        function: args.function,
        version: args.version,
        inputJson: args.inputJson,
        mode: args.mode,
        idempotencyKey: args.idempotencyKey ?? '',
        waitMs: args.waitMs,
        delayMs: args.delayMs ?? 0,
        at: args.at ?? '',
        priority: args.priority ?? '',
      };
      const r = await session.request({ $case: 'invoke', value: request }, invokeDeadline(args));
      if (r.$case !== 'invoke') throw new TaskForgeError('INTERNAL', 'mismatched invoke reply from the scheduler');
      const res = r.value;
      return {
        execution: executionText(res.executionId, res.status, args.function, res.executionJson, 'invoke'),
        terminal: res.terminal,
        created: res.created,
      };
    },
    async invokeBatch(args) {
      const res = await call('invokeBatch', {
        function: args.function,
        version: args.version,
        inputJson: args.inputJsons,
        idempotencyKey: args.idempotencyKey ?? '',
        delayMs: args.delayMs ?? 0,
        at: args.at ?? '',
        priority: args.priority ?? '',
      });
      return { executionIds: res.executionIds, created: res.created };
    },
    async getExecution(id, waitMs) {
      const deadline = waitMs > 0 ? waitMs + waitSlackMs : callTimeoutMs;
      const r = await session.request({ $case: 'getExecution', value: { id, waitMs } }, deadline);
      if (r.$case !== 'execution') throw new TaskForgeError('INTERNAL', 'mismatched getExecution reply from the scheduler');
      return executionText(r.value.executionId, r.value.status, r.value.function, r.value.executionJson, 'getExecution');
    },
    async listExecutions(args: ListExecutionsArgs) {
      const page = parseJson<{ executions: Execution[]; nextCursor?: string | null }>(
        await call('listExecutions', {
          function: args.function ?? '',
          status: args.status ?? '',
          limit: args.limit,
          cursor: args.cursor ?? '',
          functions: args.functions ? [...args.functions] : [],
          deadLetters: args.deadLetters ?? false,
        }),
        'listExecutions',
      );
      return { executions: page.executions, nextCursor: page.nextCursor ?? null };
    },
    async getLogs(id) {
      return parseJson<ExecutionLogs>(await call('getLogs', { id }), 'getLogs');
    },
    async listDeliveries(id) {
      const reply = await call('listDeliveries', { id });
      parseJson<{ deliveries: unknown[] }>(reply, 'listDeliveries');
      return reply.json;
    },
    async cancelExecution(id) {
      return parseJson<Execution>(await call('cancelExecution', { id }), 'cancelExecution');
    },
    async retryExecution(id) {
      return parseJson<Execution>(await call('retryExecution', { id }), 'retryExecution');
    },
    async publish(args) {
      return parseJson<PublishResult>(await call('publish', { topic: args.topic, bodyJson: args.bodyJson, cloudEvent: args.cloudEvent }), 'publish');
    },
    async listWorkers() {
      return parseJson<{ workers: WorkerInfo[] }>(await call('listWorkers', {}), 'listWorkers').workers;
    },
    async listPools() {
      return parseJson<{ pools: PoolInfo[] }>(await call('listPools', {}), 'listPools').pools;
    },
    async scaleWorkers(pool, workers) {
      return parseJson<PoolInfo>(await call('scaleWorkers', { pool, workers }), 'scaleWorkers');
    },
    async stats() {
      return parseJson<Stats>(await call('stats', {}), 'stats');
    },
    async authenticate(key) {
      const r = await call('authenticate', { key });
      if (!r.ok) return null;
      if (!r.keyId || r.scopes.length === 0 || !r.scopes.every(isKeyScope))
        throw new TaskForgeError('INTERNAL', 'unreadable authenticate reply from the scheduler');
      return { id: r.keyId, name: r.name, scopes: r.scopes, functions: r.restrictFunctions ? r.functions : null };
    },
    async verifySignature(args) {
      const r = await call('verifySignature', { ...args, headers: Object.entries(args.headers).map(([name, value]) => ({ name, value })) });
      if (r.refusal === 'signature' || r.refusal === 'no_signing_secret' || r.refusal === 'expired') return { refused: r.refusal };
      const k = r.key;
      if (r.refusal !== '' || !k?.ok || !k.keyId || k.scopes.length === 0 || !k.scopes.every(isKeyScope))
        throw new TaskForgeError('INTERNAL', 'unreadable verifySignature reply from the scheduler');
      return { principal: { id: k.keyId, name: k.name, scopes: k.scopes, functions: k.restrictFunctions ? k.functions : null } };
    },
    async createKey(args) {
      const request = {
        name: args.name,
        scopes: [...args.scopes],
        restrictFunctions: args.functions !== null,
        functions: args.functions ? [...args.functions] : [],
      };
      return parseJson<CreatedApiKey>(await call('createKey', request), 'createKey');
    },
    async listKeys() {
      return parseJson<{ keys: ApiKeyInfo[] }>(await call('listKeys', {}), 'listKeys').keys;
    },
    async deleteKey(id) {
      await call('deleteKey', { id });
    },
    async putWorkflow(name, spec) {
      return parseJson<{ workflow: WorkflowDefinition; created: boolean }>(await call('putWorkflow', { name, specJson: JSON.stringify(spec) }), 'putWorkflow');
    },
    async getWorkflow(name) {
      return parseJson<WorkflowDefinition>(await call('getWorkflow', { name }), 'getWorkflow');
    },
    async listWorkflows() {
      return parseJson<{ workflows: WorkflowDefinition[] }>(await call('listWorkflows', {}), 'listWorkflows').workflows;
    },
    async deleteWorkflow(name) {
      await call('deleteWorkflow', { name });
    },
    async startWorkflowRun(name, inputJson, idempotencyKey) {
      const request = { name, inputJson, idempotencyKey: idempotencyKey ?? '' };
      return parseJson<{ run: WorkflowRunView; created: boolean }>(await call('startWorkflowRun', request), 'startWorkflowRun');
    },
    async getWorkflowRun(id) {
      return parseJson<WorkflowRunView>(await call('getWorkflowRun', { id }), 'getWorkflowRun');
    },
    async listWorkflowRuns(args) {
      const request = { workflow: args.workflow ?? '', limit: args.limit, cursor: args.cursor ?? '', functions: [...(args.functions ?? [])] };
      return parseJson<{ runs: WorkflowRunView[]; nextCursor: string | null }>(await call('listWorkflowRuns', request), 'listWorkflowRuns');
    },
    async cancelWorkflowRun(id) {
      return parseJson<WorkflowRunView>(await call('cancelWorkflowRun', { id }), 'cancelWorkflowRun');
    },
    connect(timeoutMs) {
      return channelState(client, timeoutMs);
    },
    async ping(timeoutMs) {
      await call('ping', {}, timeoutMs);
    },
    watchEvents(args, on) {
      const request: WatchRequest = {
        function: args.function ?? '',
        executionId: args.executionId ?? '',
        afterSeq: args.afterSeq,
        functions: args.functions ? [...args.functions] : [],
      };
      return serverStream('watchEvents', request, {
        data: (e: ExecutionEvent) =>
          e.reset ? on.reset() : on.change({ seq: e.seq, executionId: e.executionId, function: e.function, status: e.status, json: e.executionJson }),
        end: (err) => on.end(err),
      });
    },
    followLogs(id, on) {
      let ended = false;
      return serverStream(
        'followLogs',
        { id },
        {
          data: (m: LogEvent) => {
            if (m.event?.$case === 'lineJson') on.line(m.event.value);
            else if (m.event?.$case === 'endJson') {
              ended = true;
              on.end(m.event.value);
            }
          },
          end: (err) => {
            if (ended) return;
            on.error(err ?? new TaskForgeError('SCHEDULER_UNAVAILABLE', 'the scheduler ended the log stream before the execution ended'));
          },
        },
      );
    },
    async metrics(timeoutMs) {
      return (await call('metrics', {}, timeoutMs)).text;
    },
    close() {
      session.close();
      client.close();
    },
  };
}

/**
 * Starts a connection when there is none and waits for its outcome: READY, or TRANSIENT_FAILURE
 * (the attempt was refused or reset; a call made now would fail without leaving this process).
 */
function channelState(client: Client, timeoutMs: number): Promise<'ready' | 'refused' | 'timeout'> {
  const channel = client.getChannel();
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve) => {
    const check = (): void => {
      let state: connectivityState;
      try {
        state = channel.getConnectivityState(true);
      } catch {
        resolve('refused'); // closed
        return;
      }
      if (state === connectivityState.READY) return resolve('ready');
      if (state === connectivityState.TRANSIENT_FAILURE || state === connectivityState.SHUTDOWN) return resolve('refused');
      channel.watchConnectivityState(state, deadline, (err) => (err ? resolve('timeout') : check()));
    };
    check();
  });
}
