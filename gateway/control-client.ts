/**
 * What the gateway needs from the scheduler. The gRPC implementation lives in
 * scheduler-client.ts; route tests use a fake of this interface.
 * Every method rejects with a TaskForgeError (SCHEDULER_UNAVAILABLE when unreachable).
 */
import type { ApiKeyInfo, CreatedApiKey, Principal } from '../common/api-keys.js';
import type { TaskForgeError } from '../common/errors.js';
import type { SignatureRefusal, SignedRequest } from '../common/sigv4.js';
import type { Execution, ExecutionLogs, ExecutionStatus, FunctionInfo, PoolInfo, Stats, WorkerInfo } from '../common/records.js';
import type { WorkflowDefinition, WorkflowRunView } from '../common/workflows.js';

export interface ListWorkflowRunsArgs {
  workflow?: string;
  limit: number;
  cursor?: string;
  /** Only runs whose steps all call these functions (the caller's key is limited to them). */
  functions?: readonly string[];
}

/**
 * An execution record as the scheduler serialised it: the fields the gateway routes on are read
 * out, the record itself is passed to the client as the same text, never parsed and re-encoded.
 */
export interface ExecutionText {
  id: string;
  status: ExecutionStatus;
  /** The execution's function (a key limited to some functions may read only theirs). */
  function: string;
  json: string;
}

export const toExecutionText = (e: Execution): ExecutionText => ({ id: e.id, status: e.status, function: e.function, json: JSON.stringify(e) });

export interface InvokeArgs {
  function: string;
  /** 0 = latest. */
  version: number;
  inputJson: string;
  mode: 'async' | 'sync';
  idempotencyKey: string | null;
  /** sync only: ms to wait for a terminal state; 0 = default (function timeout + 5 s, ≤ 300 s). */
  waitMs: number;
  /** A delayed invoke: ms from now, or an ISO time (not both). */
  delayMs?: number;
  at?: string;
  /** critical | high | normal | low; absent = normal. */
  priority?: string;
}

export interface InvokeBatchArgs {
  function: string;
  /** 0 = latest. */
  version: number;
  /** Each event's JSON text, in order. */
  inputJsons: string[];
  idempotencyKey: string | null;
  delayMs?: number;
  at?: string;
  priority?: string;
}

export interface PublishArgs {
  topic: string;
  /** The event as the client sent it. */
  bodyJson: string;
  /** A structured-mode CloudEvent (application/cloudevents+json). */
  cloudEvent: boolean;
}

export interface PublishResult {
  eventId: string;
  executions: Array<{ function: string; executionId: string }>;
}

export interface ListExecutionsArgs {
  function?: string;
  status?: string;
  limit: number;
  cursor?: string;
  /** Only executions of these functions (the caller's key is limited to them). */
  functions?: readonly string[];
  /** Only dead letters (failed or timed out async executions not retried). */
  deadLetters?: boolean;
}

export interface NewKeyArgs {
  name: string;
  scopes: readonly string[];
  /** null: every function. */
  functions: readonly string[] | null;
}

/** `no_signing_secret`: the key was made before keys could sign; `signature`: no such key or a wrong one. */
export type SignatureCheck = { principal: Principal } | { refused: SignatureRefusal };

export interface WatchArgs {
  function?: string;
  executionId?: string;
  /** Resume after this sequence number (the SSE Last-Event-ID); 0 = live only. */
  afterSeq: number;
  /** Only these functions (the caller's key is limited to them). */
  functions?: readonly string[];
}

/** One execution state change from the scheduler's event stream. */
export interface WatchedChange {
  seq: number;
  executionId: string;
  function: string;
  status: string;
  /** The Execution without input and output, as JSON text. */
  json: string;
}

export interface WatchHandlers {
  change(c: WatchedChange): void;
  /** The resume point is older than the scheduler keeps: changes were missed. */
  reset(): void;
  /** The stream ended: the scheduler went away (err) or closed it. Not called after close(). */
  end(err: TaskForgeError | null): void;
}

export interface FollowHandlers {
  /** A log line as JSON text: { ts, stream, message, attempt }. */
  line(json: string): void;
  /** The final Execution as JSON text; nothing follows. */
  end(executionJson: string): void;
  /** Not called after close(). */
  error(err: TaskForgeError): void;
}

/** A stream the caller may stop. */
export interface StreamHandle {
  close(): void;
}

export interface ControlClient {
  putFunction(name: string, spec: Record<string, unknown>, createOnly: boolean): Promise<{ function: FunctionInfo; created: boolean }>;
  /** `version`: that version (absent: the latest). */
  getFunction(name: string, includeCode: boolean, version?: number): Promise<FunctionInfo>;
  listFunctions(): Promise<FunctionInfo[]>;
  listVersions(name: string): Promise<FunctionInfo[]>;
  deleteFunction(name: string): Promise<void>;
  invoke(args: InvokeArgs): Promise<{ execution: ExecutionText; terminal: boolean; created: boolean }>;
  /** Ids in the order of the events; created false when the idempotency key matched an earlier batch. */
  invokeBatch(args: InvokeBatchArgs): Promise<{ executionIds: string[]; created: boolean }>;
  getExecution(id: string, waitMs: number): Promise<ExecutionText>;
  listExecutions(args: ListExecutionsArgs): Promise<{ executions: Execution[]; nextCursor: string | null }>;
  getLogs(id: string): Promise<ExecutionLogs>;
  cancelExecution(id: string): Promise<Execution>;
  /** A new execution of a finished one's version with its input, durable when it resolves. */
  retryExecution(id: string): Promise<Execution>;
  /** One execution per subscribed function, all durable before it resolves. */
  publish(args: PublishArgs): Promise<PublishResult>;
  /** `{ deliveries }` of an execution as JSON text, returned as it is (docs/DESTINATIONS.md). */
  listDeliveries(id: string): Promise<string>;
  listWorkers(): Promise<WorkerInfo[]>;
  /** The pool supervisors connected to the scheduler. */
  listPools(): Promise<PoolInfo[]>;
  /** Relayed to the pool (`pool` empty: the only one); resolves with its new state. */
  scaleWorkers(pool: string, workers: number): Promise<PoolInfo>;
  stats(): Promise<Stats>;
  /** The principal of a current key; null for anything else (never which part was wrong). */
  authenticate(key: string): Promise<Principal | null>;
  /** Checks a SigV4 signature with the scheduler; never cached (a signature is per request). */
  verifySignature(args: SignedRequest): Promise<SignatureCheck>;
  createKey(args: NewKeyArgs): Promise<CreatedApiKey>;
  listKeys(): Promise<ApiKeyInfo[]>;
  putWorkflow(name: string, spec: unknown): Promise<{ workflow: WorkflowDefinition; created: boolean }>;
  getWorkflow(name: string): Promise<WorkflowDefinition>;
  listWorkflows(): Promise<WorkflowDefinition[]>;
  deleteWorkflow(name: string): Promise<void>;
  /** Resolves once the run and its first steps' executions are durable. */
  /** `created: false`: the idempotency key named an earlier run, which comes back. */
  startWorkflowRun(name: string, inputJson: string, idempotencyKey: string | null): Promise<{ run: WorkflowRunView; created: boolean }>;
  getWorkflowRun(id: string): Promise<WorkflowRunView>;
  listWorkflowRuns(args: ListWorkflowRunsArgs): Promise<{ runs: WorkflowRunView[]; nextCursor: string | null }>;
  cancelWorkflowRun(id: string): Promise<WorkflowRunView>;
  deleteKey(id: string): Promise<void>;
  /** Execution state changes as they happen (after `afterSeq`'s buffered ones). */
  watchEvents(args: WatchArgs, on: WatchHandlers): StreamHandle;
  /** An execution's log lines so far and as they come, then its final record. */
  followLogs(id: string, on: FollowHandlers): StreamHandle;
  /** Resolves when the scheduler answers. */
  ping(timeoutMs: number): Promise<void>;
  /**
   * Whether a connection to the scheduler is up or can be made: `ready` (up now, or once made),
   * `refused` (an attempt failed: nothing sent on it can have reached the scheduler), `timeout`.
   * Absent in fakes, which are always ready.
   */
  connect?(timeoutMs: number): Promise<'ready' | 'refused' | 'timeout'>;
  /** The scheduler's metrics in Prometheus text format (for /metrics). */
  metrics(timeoutMs: number): Promise<string>;
  close(): void;
}
