/**
 * The client's types, taken from the records the scheduler stores (common/records.ts,
 * common/api-keys.ts) and the TypeBox schemas the gateway validates requests with
 * (gateway/schemas.ts): a field added there reaches the client without being re-declared here.
 * Type imports only: nothing of the gateway is loaded at run time.
 */
import type { Static } from '@sinclair/typebox';
import type { ApiKeyInfo, CreatedApiKey } from '../common/api-keys.js';
import type {
  Execution,
  ExecutionLogs,
  ExecutionStatus,
  ExecutionTrigger,
  FunctionInfo,
  LogLine,
  PoolInfo,
  Stats,
  TriggerInfo,
  TriggerSpec,
  WorkerInfo,
} from '../common/records.js';
import type { WorkflowDefinition, WorkflowRunView } from '../common/workflows.js';
import type { CreateFunctionBody, CreateKeyBody, FunctionSpecBody, InvokeQuery, ListExecutionsQuery, ListRunsQuery, WorkflowBody } from '../gateway/schemas.js';

export type { WorkflowDefinition, WorkflowRunView };
/** Body of `PUT /v1/workflows/{name}`. */
export type WorkflowInput = Static<typeof WorkflowBody>;
/** Query of `GET /v1/workflow-runs`. */
export type ListRunsFilter = Static<typeof ListRunsQuery>;
export interface WorkflowList {
  workflows: WorkflowDefinition[];
}
export interface WorkflowRunPage {
  runs: WorkflowRunView[];
  nextCursor: string | null;
}
export interface RunAccepted {
  runId: string;
  status: WorkflowRunView['status'];
  statusUrl: string;
}

export type {
  ApiKeyInfo,
  CreatedApiKey,
  Execution,
  ExecutionLogs,
  ExecutionStatus,
  ExecutionTrigger,
  FunctionInfo,
  LogLine,
  PoolInfo,
  Stats,
  TriggerInfo,
  TriggerSpec,
  WorkerInfo,
};

/** `202` of `POST /v1/topics/{topic}/events`. */
export interface PublishAccepted {
  eventId: string;
  /** One per subscribed function whose filter matched; empty when none. */
  executions: Array<{ function: string; executionId: string }>;
}

/** Body of `PUT /v1/functions/{name}`. */
export type FunctionSpecInput = Static<typeof FunctionSpecBody>;
/** Body of `POST /v1/functions` (create only). */
export type CreateFunctionInput = Static<typeof CreateFunctionBody>;
/** Body of `POST /v1/keys`. */
export type CreateKeyInput = Static<typeof CreateKeyBody>;
/** Query of `GET /v1/executions`. */
export type ListExecutionsFilter = Static<typeof ListExecutionsQuery>;

/** What the API returns of an execution: never the internal lease. */
export type ExecutionRecord = Omit<Execution, 'lease'>;
/** An execution as lists and live views carry it: without input and output. */
export type ExecutionSummary = Omit<ExecutionRecord, 'input' | 'output'>;

export interface FunctionList {
  functions: FunctionInfo[];
}
export interface VersionList {
  versions: FunctionInfo[];
}
export interface ExecutionPage {
  executions: ExecutionSummary[];
  nextCursor: string | null;
}
/** GET /v1/dead-letters: failed or timed out async executions not yet retried, newest first. */
export interface DeadLetterPage {
  deadLetters: ExecutionRecord[];
  nextCursor: string | null;
}

export interface DeadLetterFilter {
  function?: string;
  limit?: number;
  cursor?: string;
}

export interface WorkerList {
  workers: WorkerInfo[];
}
export interface PoolList {
  pools: PoolInfo[];
}
/** Body of `POST /v1/workers/scale`. */
export interface ScaleWorkersInput {
  workers: number;
  /** Default: the only pool connected. */
  pool?: string;
}
export interface KeyList {
  keys: ApiKeyInfo[];
}

/** `202` of an async invoke. */
export interface InvokeAccepted {
  executionId: string;
  status: ExecutionStatus;
  statusUrl: string;
}

export type InvokeMode = NonNullable<Static<typeof InvokeQuery>['mode']>;

export interface InvokeOptions {
  /** `async` (the API's default) answers at once with the id; `sync` waits for the end. */
  mode?: InvokeMode;
  /** Run that version instead of the latest. */
  version?: Static<typeof InvokeQuery>['version'];
  /** sync only: how long the gateway waits before answering `202` with the unfinished record. */
  waitMs?: Static<typeof InvokeQuery>['waitMs'];
  /** The same key for the same function within 24 h returns the first execution. Makes the invoke safe to retry. */
  idempotencyKey?: string;
  /** Delayed invoke (async only): run this many ms from now (≤ 31 days). Not with `at`. */
  delayMs?: Static<typeof InvokeQuery>['delayMs'];
  /** Delayed invoke (async only): run at this time (≤ 31 days ahead; a past time is now). Not with `delayMs`. */
  at?: string | Date;
  /** critical | high | normal (default) | low: higher runs first; waiting work ages. */
  priority?: Static<typeof InvokeQuery>['priority'];
  signal?: AbortSignal;
}

/** Options of a batch invoke: async, the delay and priority apply to every event. */
export type InvokeBatchOptions = Omit<InvokeOptions, 'mode' | 'waitMs'>;

/** `202` of a batch invoke: one entry per event, in the order of the events. */
export interface InvokeBatchAccepted {
  executions: Array<{ executionId: string; statusUrl: string }>;
}

export interface HealthStatus {
  status: string;
}

/** One item of `events()`. */
export type LiveEvent =
  | { type: 'execution'; id: string | null; execution: ExecutionSummary }
  /** The server no longer held every change after the id we resumed from: some were missed. */
  | { type: 'reset'; id: string | null; data: unknown };

/** One item of `followLogs()`: lines while it runs, then the final record. */
export type LogEvent = { type: 'log'; line: LogLine } | { type: 'end'; execution: ExecutionRecord };
