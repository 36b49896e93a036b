/**
 * TaskForgeClient: the whole HTTP API (docs/API.md) as typed methods over the global fetch.
 * Every failure is a TaskForgeApiError; reads and keyed invokes are retried on a missing answer
 * or a 503 (retry.ts), nothing else ever is. A sync invoke's 502/504 are not errors: their body is
 * the finished Execution (failed, timed out), which is what the caller asked for.
 */
import { errorFromAnswer, networkError, parseRetryAfter, TaskForgeApiError } from './errors.js';
import { backoffMs, isRetrySafe, isRetryableStatus, resolveRetryOptions, sleep, type ResolvedRetryOptions, type RetryOptions } from './retry.js';
import { followLogs, liveEvents, type EventsOptions, type StreamRequest } from './streams.js';
import type {
  CreatedApiKey,
  CreateFunctionInput,
  CreateKeyInput,
  DeadLetterFilter,
  DeadLetterPage,
  ExecutionPage,
  ExecutionRecord,
  FunctionInfo,
  FunctionList,
  FunctionSpecInput,
  HealthStatus,
  InvokeAccepted,
  InvokeBatchAccepted,
  InvokeBatchOptions,
  InvokeOptions,
  KeyList,
  ListExecutionsFilter,
  PublishAccepted,
  LiveEvent,
  LogEvent,
  ExecutionLogs,
  Stats,
  VersionList,
  WorkerList,
  PoolInfo,
  PoolList,
  ScaleWorkersInput,
  ListRunsFilter,
  RunAccepted,
  WorkflowDefinition,
  WorkflowInput,
  WorkflowList,
  WorkflowRunPage,
  WorkflowRunView,
} from './types.js';

export const DEFAULT_URL = 'http://127.0.0.1:8080';

export interface ClientOptions {
  /** Gateway base URL. Default http://127.0.0.1:8080. */
  url?: string;
  /** An API key (`tfk_…`); sent as `authorization: Bearer`. None: no header (a `--no-auth` gateway). */
  apiKey?: string;
  /** false: never retry. */
  retry?: RetryOptions | false;
  /** Default: the global fetch. */
  fetch?: typeof fetch;
  /** Added to every request. */
  headers?: Record<string, string>;
}

export interface RequestOptions {
  signal?: AbortSignal;
}

/** A request as the client sends it. `accept` lists the statuses whose body is the answer. */
interface Call {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  headers?: Record<string, string>;
  accept?: readonly number[];
  signal?: AbortSignal | undefined;
}

export interface Answer<T> {
  status: number;
  body: T;
  headers: Headers;
}

const enc = encodeURIComponent;

/** The delay and priority of an invoke, as its query. */
const queueing = (opts: InvokeBatchOptions): Record<string, string | number | undefined> => ({
  delayMs: opts.delayMs,
  at: opts.at instanceof Date ? opts.at.toISOString() : opts.at,
  priority: opts.priority,
});

export class TaskForgeClient {
  readonly url: string;
  private readonly apiKey: string | undefined;
  private readonly retry: ResolvedRetryOptions;
  private readonly fetchImpl: typeof fetch;
  private readonly extraHeaders: Record<string, string>;

  constructor(opts: ClientOptions = {}) {
    this.url = (opts.url ?? DEFAULT_URL).replace(/\/+$/, '');
    try {
      new URL(this.url);
    } catch {
      throw new TypeError(`not a URL: '${this.url}'`);
    }
    this.apiKey = opts.apiKey || undefined;
    this.retry = resolveRetryOptions(opts.retry);
    this.fetchImpl = opts.fetch ?? globalThis.fetch.bind(globalThis);
    this.extraHeaders = { ...opts.headers };
  }

  // ---------- functions ----------

  /** Create or update: `created` is false when the spec was identical to the latest version. */
  async putFunction(name: string, spec: FunctionSpecInput, opts: RequestOptions = {}): Promise<{ function: FunctionInfo; created: boolean }> {
    const a = await this.send<FunctionInfo>({ method: 'PUT', path: `/v1/functions/${enc(name)}`, body: spec, signal: opts.signal });
    return { function: a.body, created: a.status === 201 };
  }

  async createFunction(spec: CreateFunctionInput, opts: RequestOptions = {}): Promise<FunctionInfo> {
    return (await this.send<FunctionInfo>({ method: 'POST', path: '/v1/functions', body: spec, signal: opts.signal })).body;
  }

  async getFunction(name: string, opts: RequestOptions & { includeCode?: boolean } = {}): Promise<FunctionInfo> {
    const query = opts.includeCode ? { include: 'code' } : {};
    return (await this.send<FunctionInfo>({ method: 'GET', path: `/v1/functions/${enc(name)}`, query, signal: opts.signal })).body;
  }

  async listFunctions(opts: RequestOptions = {}): Promise<FunctionList> {
    return (await this.send<FunctionList>({ method: 'GET', path: '/v1/functions', signal: opts.signal })).body;
  }

  async listVersions(name: string, opts: RequestOptions = {}): Promise<VersionList> {
    return (await this.send<VersionList>({ method: 'GET', path: `/v1/functions/${enc(name)}/versions`, signal: opts.signal })).body;
  }

  async deleteFunction(name: string, opts: RequestOptions = {}): Promise<void> {
    await this.send({ method: 'DELETE', path: `/v1/functions/${enc(name)}`, signal: opts.signal });
  }

  // ---------- invocations ----------

  /**
   * `mode: 'sync'` answers the Execution however it ended (succeeded, failed, timed_out), or as it
   * is when `waitMs` ran out (then poll getExecution). Otherwise the API's 202: the execution's id.
   */
  invoke(name: string, input: unknown, opts: InvokeOptions & { mode: 'sync' }): Promise<ExecutionRecord>;
  invoke(name: string, input?: unknown, opts?: InvokeOptions & { mode?: 'async' }): Promise<InvokeAccepted>;
  invoke(name: string, input?: unknown, opts?: InvokeOptions): Promise<ExecutionRecord | InvokeAccepted>;
  async invoke(name: string, input: unknown = null, opts: InvokeOptions = {}): Promise<ExecutionRecord | InvokeAccepted> {
    const mode = opts.mode ?? 'async';
    const a = await this.send<ExecutionRecord | InvokeAccepted>({
      method: 'POST',
      path: `/v1/functions/${enc(name)}/invoke`,
      query: { mode, version: opts.version, waitMs: opts.waitMs, ...queueing(opts) },
      body: input === undefined ? null : input,
      headers: opts.idempotencyKey ? { 'idempotency-key': opts.idempotencyKey } : {},
      accept: mode === 'sync' ? [200, 202, 502, 504] : [202],
      signal: opts.signal,
    });
    return a.body;
  }

  /**
   * Up to 1,000 events, one async execution each, accepted together in one durable commit and
   * queued in this order. An idempotency key covers the whole batch.
   */
  async invokeBatch(name: string, events: unknown[], opts: InvokeBatchOptions = {}): Promise<InvokeBatchAccepted> {
    const a = await this.send<InvokeBatchAccepted>({
      method: 'POST',
      path: `/v1/functions/${enc(name)}/invoke-batch`,
      query: { version: opts.version, ...queueing(opts) },
      body: { events: events.map((e) => (e === undefined ? null : e)) },
      headers: opts.idempotencyKey ? { 'idempotency-key': opts.idempotencyKey } : {},
      accept: [202],
      signal: opts.signal,
    });
    return a.body;
  }

  // ---------- executions ----------

  /** `waitMs` (≤ 30000) long-polls: the answer comes when the execution is terminal, or after waitMs. */
  async getExecution(id: string, opts: RequestOptions & { waitMs?: number } = {}): Promise<ExecutionRecord> {
    return (await this.send<ExecutionRecord>({ method: 'GET', path: `/v1/executions/${enc(id)}`, query: { waitMs: opts.waitMs }, signal: opts.signal })).body;
  }

  async listExecutions(filter: ListExecutionsFilter = {}, opts: RequestOptions = {}): Promise<ExecutionPage> {
    return (await this.send<ExecutionPage>({ method: 'GET', path: '/v1/executions', query: { ...filter }, signal: opts.signal })).body;
  }

  async getLogs(id: string, opts: RequestOptions = {}): Promise<ExecutionLogs> {
    return (await this.send<ExecutionLogs>({ method: 'GET', path: `/v1/executions/${enc(id)}/logs`, signal: opts.signal })).body;
  }

  async cancelExecution(id: string, opts: RequestOptions = {}): Promise<ExecutionRecord> {
    return (await this.send<ExecutionRecord>({ method: 'POST', path: `/v1/executions/${enc(id)}/cancel`, signal: opts.signal })).body;
  }

  /** A new async execution of a finished one: same function version, same input (trigger retry). */
  async retryExecution(id: string, opts: RequestOptions = {}): Promise<InvokeAccepted> {
    return (await this.send<InvokeAccepted>({ method: 'POST', path: `/v1/executions/${enc(id)}/retry`, signal: opts.signal })).body;
  }

  async deadLetters(filter: DeadLetterFilter = {}, opts: RequestOptions = {}): Promise<DeadLetterPage> {
    return (await this.send<DeadLetterPage>({ method: 'GET', path: '/v1/dead-letters', query: { ...filter }, signal: opts.signal })).body;
  }

  /** Log lines as they are written, then the final record (`type: 'end'`), where the iteration ends. */
  followLogs(id: string, opts: RequestOptions = {}): AsyncGenerator<LogEvent> {
    return followLogs(this.streamer(), id, opts.signal);
  }

  /**
   * Every execution change (optionally of one function or one execution) until `signal` aborts or
   * the loop breaks. A dropped connection is resumed with `Last-Event-ID`; when the server no
   * longer holds what was missed, a `reset` item says so.
   */
  events(opts: EventsOptions = {}): AsyncGenerator<LiveEvent> {
    return liveEvents(this.streamer(), opts);
  }

  // ---------- topics ----------

  /**
   * Publishes an event to a topic: one async execution per subscribed function, all durable when
   * this resolves. `cloudEvent`: `event` is a structured-mode CloudEvent, sent as one.
   */
  async publish(topic: string, event: unknown = null, opts: RequestOptions & { cloudEvent?: boolean } = {}): Promise<PublishAccepted> {
    return (
      await this.send<PublishAccepted>({
        method: 'POST',
        path: `/v1/topics/${enc(topic)}/events`,
        body: event,
        ...(opts.cloudEvent && { headers: { 'content-type': 'application/cloudevents+json' } }),
        signal: opts.signal,
      })
    ).body;
  }

  // ---------- workflows (docs/WORKFLOWS.md) ----------

  /** Define or replace: `created` is true for a new workflow. */
  async putWorkflow(name: string, spec: WorkflowInput, opts: RequestOptions = {}): Promise<{ workflow: WorkflowDefinition; created: boolean }> {
    const a = await this.send<WorkflowDefinition>({ method: 'PUT', path: `/v1/workflows/${enc(name)}`, body: spec, signal: opts.signal });
    return { workflow: a.body, created: a.status === 201 };
  }

  async getWorkflow(name: string, opts: RequestOptions = {}): Promise<WorkflowDefinition> {
    return (await this.send<WorkflowDefinition>({ method: 'GET', path: `/v1/workflows/${enc(name)}`, signal: opts.signal })).body;
  }

  async listWorkflows(opts: RequestOptions = {}): Promise<WorkflowList> {
    return (await this.send<WorkflowList>({ method: 'GET', path: '/v1/workflows', signal: opts.signal })).body;
  }

  async deleteWorkflow(name: string, opts: RequestOptions = {}): Promise<void> {
    await this.send({ method: 'DELETE', path: `/v1/workflows/${enc(name)}`, signal: opts.signal });
  }

  /** 202 once the run and its first steps are durable; poll getWorkflowRun for the end. */
  /** With `idempotencyKey`, a retry (after a lost answer) returns the same run: such a start is retried like a read. */
  async startWorkflowRun(name: string, input: unknown = null, opts: RequestOptions & { idempotencyKey?: string } = {}): Promise<RunAccepted> {
    const headers: Record<string, string> = opts.idempotencyKey ? { 'idempotency-key': opts.idempotencyKey } : {};
    return (await this.send<RunAccepted>({ method: 'POST', path: `/v1/workflows/${enc(name)}/runs`, body: input, headers, accept: [202], signal: opts.signal }))
      .body;
  }

  async getWorkflowRun(id: string, opts: RequestOptions = {}): Promise<WorkflowRunView> {
    return (await this.send<WorkflowRunView>({ method: 'GET', path: `/v1/workflow-runs/${enc(id)}`, signal: opts.signal })).body;
  }

  async listWorkflowRuns(filter: ListRunsFilter = {}, opts: RequestOptions = {}): Promise<WorkflowRunPage> {
    return (await this.send<WorkflowRunPage>({ method: 'GET', path: '/v1/workflow-runs', query: { ...filter }, signal: opts.signal })).body;
  }

  async cancelWorkflowRun(id: string, opts: RequestOptions = {}): Promise<WorkflowRunView> {
    return (await this.send<WorkflowRunView>({ method: 'POST', path: `/v1/workflow-runs/${enc(id)}/cancel`, signal: opts.signal })).body;
  }

  // ---------- cluster and keys ----------

  async listWorkers(opts: RequestOptions = {}): Promise<WorkerList> {
    return (await this.send<WorkerList>({ method: 'GET', path: '/v1/workers', signal: opts.signal })).body;
  }

  /** The worker pools (`taskforge pool`) connected to the scheduler. */
  async listPools(opts: RequestOptions = {}): Promise<PoolList> {
    return (await this.send<PoolList>({ method: 'GET', path: '/v1/workers/pools', signal: opts.signal })).body;
  }

  /** Sets a pool's worker count (admin keys); answers the pool's new state. */
  async scaleWorkers(input: ScaleWorkersInput, opts: RequestOptions = {}): Promise<PoolInfo> {
    return (await this.send<PoolInfo>({ method: 'POST', path: '/v1/workers/scale', body: input, signal: opts.signal })).body;
  }

  async stats(opts: RequestOptions = {}): Promise<Stats> {
    return (await this.send<Stats>({ method: 'GET', path: '/v1/stats', signal: opts.signal })).body;
  }

  async createKey(input: CreateKeyInput, opts: RequestOptions = {}): Promise<CreatedApiKey> {
    return (await this.send<CreatedApiKey>({ method: 'POST', path: '/v1/keys', body: input, signal: opts.signal })).body;
  }

  async listKeys(opts: RequestOptions = {}): Promise<KeyList> {
    return (await this.send<KeyList>({ method: 'GET', path: '/v1/keys', signal: opts.signal })).body;
  }

  async deleteKey(id: string, opts: RequestOptions = {}): Promise<void> {
    await this.send({ method: 'DELETE', path: `/v1/keys/${enc(id)}`, signal: opts.signal });
  }

  async healthz(opts: RequestOptions = {}): Promise<HealthStatus> {
    return (await this.send<HealthStatus>({ method: 'GET', path: '/healthz', signal: opts.signal })).body;
  }

  /** Resolves when the gateway reaches the scheduler; a 503 (after the retries) is thrown. */
  async readyz(opts: RequestOptions = {}): Promise<HealthStatus> {
    return (await this.send<HealthStatus>({ method: 'GET', path: '/readyz', signal: opts.signal })).body;
  }

  // ---------- transport ----------

  private headersFor(extra: Record<string, string> = {}): Record<string, string> {
    return { ...this.extraHeaders, ...(this.apiKey && { authorization: `Bearer ${this.apiKey}` }), ...extra };
  }

  private urlFor(path: string, query: Call['query'] = {}): string {
    const u = new URL(this.url + path);
    for (const [k, v] of Object.entries(query)) if (v !== undefined) u.searchParams.set(k, String(v));
    return u.toString();
  }

  /** One logical call: sent, retried when retry.ts allows, its answer parsed or thrown. */
  private async send<T>(call: Call): Promise<Answer<T>> {
    const headers = this.headersFor(call.headers);
    const init: RequestInit = { method: call.method, headers };
    if (call.body !== undefined) {
      init.body = JSON.stringify(call.body);
      headers['content-type'] ??= 'application/json';
    }
    if (call.signal) init.signal = call.signal;
    const url = this.urlFor(call.path, call.query);
    const retries = isRetrySafe(call.method, headers) ? this.retry.retries : 0;
    for (let attempt = 0; ; attempt++) {
      let err: TaskForgeApiError;
      try {
        return await this.once<T>(url, init, call.accept);
      } catch (e) {
        if (!(e instanceof TaskForgeApiError)) throw e;
        err = e;
      }
      if (attempt >= retries || !isRetryableStatus(err.status) || call.signal?.aborted) throw err;
      await sleep(backoffMs(attempt + 1, this.retry, err.retryAfterMs), call.signal);
    }
  }

  private async once<T>(url: string, init: RequestInit, accept: readonly number[] | undefined): Promise<Answer<T>> {
    let res: Response;
    try {
      res = await this.fetchImpl(url, init);
    } catch (err) {
      if (init.signal?.aborted) throw err;
      throw networkError(this.url, err);
    }
    let text: string;
    try {
      text = await res.text();
    } catch (err) {
      if (init.signal?.aborted) throw err;
      throw networkError(this.url, err);
    }
    let body: unknown = undefined;
    if (text !== '') {
      try {
        body = JSON.parse(text);
      } catch {
        body = undefined;
      }
    }
    const ok = accept ? accept.includes(res.status) : res.ok;
    // A 502/504 accepted for a sync invoke is the Execution, not a proxy's page: it has an id.
    const isRecord = accept === undefined || res.status < 300 || (typeof body === 'object' && body !== null && 'id' in body);
    if (ok && isRecord && (body !== undefined || res.status === 204)) return { status: res.status, body: body as T, headers: res.headers };
    throw errorFromAnswer(res.status, body, parseRetryAfter(res.headers.get('retry-after')));
  }

  /** What the SSE readers need: one connection attempt with this client's URL, key and errors. */
  private streamer(): StreamRequest {
    return {
      retry: this.retry,
      open: async (path, query, lastEventId, signal) => {
        const headers = this.headersFor({ accept: 'text/event-stream', ...(lastEventId !== null && { 'last-event-id': lastEventId }) });
        let res: Response;
        try {
          res = await this.fetchImpl(this.urlFor(path, query), { method: 'GET', headers, signal });
        } catch (err) {
          if (signal.aborted) throw err;
          throw networkError(this.url, err);
        }
        const type = res.headers.get('content-type') ?? '';
        if (res.ok && type.startsWith('text/event-stream') && res.body) return res.body;
        const text = await res.text().catch(() => '');
        let body: unknown;
        try {
          body = JSON.parse(text);
        } catch {
          body = undefined;
        }
        if (res.ok) throw new TaskForgeApiError(res.status, 'BAD_RESPONSE', `expected text/event-stream, got '${type || 'nothing'}'`);
        throw errorFromAnswer(res.status, body, parseRetryAfter(res.headers.get('retry-after')));
      },
    };
  }
}

export { TaskForgeApiError };
