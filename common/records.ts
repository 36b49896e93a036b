/**
 * The records of the HTTP contract (docs/API.md), shared by the scheduler (which stores them
 * in exactly this shape) and the gateway (which returns them). Changing a field here changes
 * the public API: record it in docs/API.md.
 */

export const EXECUTION_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'timed_out', 'cancelled'] as const;
export type ExecutionStatus = (typeof EXECUTION_STATUSES)[number];
export const TERMINAL_STATUSES: ReadonlySet<ExecutionStatus> = new Set(['succeeded', 'failed', 'timed_out', 'cancelled']);
export const isTerminal = (s: ExecutionStatus): boolean => TERMINAL_STATUSES.has(s);

export type ExecutionErrorCode =
  | 'FUNCTION_ERROR'
  | 'TIMEOUT'
  | 'OUT_OF_MEMORY'
  | 'SANDBOX_CRASH'
  /** The sandbox broke the worker's IPC protocol (oversized or malformed frames) and was killed. */
  | 'SANDBOX_PROTOCOL'
  | 'WORKER_LOST'
  | 'CANCELLED'
  | 'EXPIRED'
  | 'FUNCTION_DELETED';

export interface ExecutionError {
  code: ExecutionErrorCode;
  message: string;
  name?: string;
  stack?: string;
  /**
   * FUNCTION_ERROR only: the thrown error's `code` and its own enumerable fields (not name,
   * message, stack), as JSON; absent when it has none. At most LIMITS.errorDetailsBytes of JSON:
   * larger is replaced by `{ code, truncated: true }`.
   */
  details?: Record<string, unknown>;
}

export type InvokeMode = 'async' | 'sync';

/** Dispatch priority of a queued execution, highest first (docs/QUEUEING.md). */
export const PRIORITIES = ['critical', 'high', 'normal', 'low'] as const;
export type Priority = (typeof PRIORITIES)[number];
export const DEFAULT_PRIORITY: Priority = 'normal';

export interface Placement {
  workerId: string;
  load: number;
  warm: boolean;
  candidates: number;
}

export interface Timings {
  queuedMs: number;
  initMs: number;
  runMs: number;
  /**
   * CPU time the sandbox used for the run, as the worker measured it (ms); null when the attempt
   * never started running (refused, sandbox failed to start). Older records lack the field.
   */
  cpuMs?: number | null;
}

/** One attempt of an execution: where it ran and how it ended. */
export interface AttemptRecord {
  attempt: number;
  workerId: string;
  startedAt: string;
  finishedAt: string | null;
  errorCode: ExecutionErrorCode | null;
}

export interface Execution {
  id: string;
  function: string;
  version: number;
  status: ExecutionStatus;
  mode: InvokeMode;
  input: unknown;
  output: unknown;
  error: ExecutionError | null;
  attempt: number;
  maxAttempts: number;
  workerId: string | null;
  coldStart: boolean | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  durationMs: number | null;
  timings: Timings | null;
  placement: Placement | null;
  idempotencyKey: string | null;
  /** Epoch ms before which a retry is not dispatched (async backoff); null when ready. */
  retryAt?: number | null;
  attempts?: AttemptRecord[];
  /**
   * Attempts that killed their sandbox or their worker (SANDBOX_CRASH, SANDBOX_PROTOCOL,
   * OUT_OF_MEMORY, or the worker lost while it ran). At POISON_CRASHES the execution is failed,
   * not retried (scheduler/execution/retry-policy.ts). Absent means 0.
   */
  crashes?: number;
  /**
   * A delayed invoke: not dispatched before this time (ISO). Its queue expiry (maxQueueMs)
   * counts from here. Absent or null: ready when accepted.
   */
  scheduledFor?: string | null;
  /** Dispatch priority; absent in records written before priorities (read as 'normal'). */
  priority?: Priority;
  /** Internal: the lease token of the current attempt. Never returned by the API. */
  lease?: string | null;
  /** Answered from the function's result cache (cacheTtlMs) without running; absent means false. */
  cached?: boolean;
  /** What started it: null for an invoke. Records written before triggers existed lack it (null). */
  trigger?: ExecutionTrigger | null;
}

/** FunctionSpec `circuitBreaker` (scheduler/circuit-breaker.ts). */
export interface CircuitBreakerSpec {
  /** Failed attempts within windowMs that open the circuit. */
  failureThreshold: number;
  windowMs: number;
  /** How long it stays open before one probe may run. */
  cooldownMs: number;
}

export type CircuitState = 'closed' | 'open' | 'half_open';

/** FunctionInfo `circuit`: the breaker's state now (null without a breaker). */
export interface CircuitInfo {
  state: CircuitState;
  /** Failed attempts counted in the current window (closed). */
  failures: number;
  openedAt: string | null;
  /** When an open circuit lets its probe run. */
  retryAt: string | null;
  /** Times it opened since the scheduler started. */
  opens: number;
}

/**
 * What started an execution (docs/TOPICS.md, docs/CRON.md, DEAD-LETTERS.md, DESTINATIONS.md,
 * WORKFLOWS.md); null or absent: a direct invoke. A union by `type`.
 */
export type ExecutionTrigger =
  /** One subscriber's share of an event published to a topic. */
  | { type: 'topic'; topic: string; eventId: string }
  /** A cron tick: the scheduled time (ISO) it runs for; a catch-up run names the latest missed tick. */
  | { type: 'cron'; tick: string }
  /** A retry of a finished execution (POST /v1/executions/{id}/retry): the same input and version. */
  | { type: 'retry'; of: string }
  /** A function destination: it was started with the end of another execution (docs/DESTINATIONS.md). */
  | { type: 'destination'; of: string }
  /** A step of a workflow run (docs/WORKFLOWS.md). */
  | { type: 'workflow'; runId: string; step: string };

/** A topic subscription: every event published to `topic` whose top-level fields equal `filter`'s. */
export interface TopicTriggerSpec {
  type: 'topic';
  topic: string;
  filter?: Record<string, unknown>;
}

/** A schedule: 5 fields (minute …) or 6 (second first), read in `timezone` (IANA, default UTC). */
export interface CronTriggerSpec {
  type: 'cron';
  schedule: string;
  timezone?: string;
  /** The execution's input (null when absent). */
  input?: unknown;
}

export type TriggerSpec = TopicTriggerSpec | CronTriggerSpec;

/** A trigger as FunctionInfo shows it: a cron trigger says when it fires next (absent on old versions). */
export type TriggerInfo = TopicTriggerSpec | (CronTriggerSpec & { nextAt?: string | null });

/** Where an execution's end is sent (FunctionSpec onSuccess / onFailure, docs/DESTINATIONS.md). */
export type Destination = { function: string } | { url: string };

export interface FunctionSpec {
  code: string;
  handler: string;
  runtime: 'nodejs';
  timeoutMs: number;
  memoryMb: number;
  maxRetries: number;
  concurrency: number;
  /** A queued execution older than this (from createdAt) fails with EXPIRED and never runs. */
  maxQueueMs: number;
  env: Record<string, string>;
  description: string;
  /** Opt-in circuit breaker; absent or null: none. */
  circuitBreaker?: CircuitBreakerSpec | null;
  /** Opt-in result cache, ms an output is reused for the same version and input; absent or 0: off. */
  cacheTtlMs?: number;
  /** Topic subscriptions and cron schedules (at most LIMITS.triggers); absent means none. */
  triggers?: TriggerSpec[];
  /** Sent an execution of this function that ends succeeded. Absent or null: none. */
  onSuccess?: Destination | null;
  /** Sent an execution that ends failed or timed_out after its last attempt, or expired. */
  onFailure?: Destination | null;
}

/** FunctionSpec without code, plus identity and metadata: what the API returns. */
export interface FunctionInfo extends Omit<FunctionSpec, 'code' | 'triggers'> {
  triggers?: TriggerInfo[];
  name: string;
  version: number;
  codeSha256: string;
  codeBytes: number;
  createdAt: string;
  updatedAt: string;
  code?: string;
  /** The circuit breaker's state now, when the function has one (computed when read, not stored). */
  circuit?: CircuitInfo | null;
  /**
   * The key of webhook signatures (taskforge-signature), made with the first version that has a
   * url destination and kept by later versions. Shown only to admin and deploy keys.
   */
  webhookSecret?: string;
}

/** One stored, immutable version of a function (FunctionInfo with its code). */
export interface FunctionVersion extends FunctionInfo {
  code: string;
  /**
   * How the code is evaluated, decided by the registration's code check and sent to workers with
   * the code, so no worker parses it again. Absent in versions stored before it was kept.
   */
  format?: 'esm' | 'cjs';
}

export interface LogLine {
  ts: string;
  stream: 'stdout' | 'stderr';
  message: string;
  /** The attempt that wrote it (absent in records written before lines carried it). */
  attempt?: number;
}

export interface ExecutionLogs {
  executionId: string;
  /** The first lines and the last lines, in order; `dropped` lines between them were not kept. */
  lines: LogLine[];
  truncated: boolean;
  /** Lines not kept between the head and the tail (absent or 0 when none). */
  dropped?: number;
}

export type WorkerStatus = 'ready' | 'draining' | 'lost';

/** How a worker isolates functions, as it reported in its Hello (anything unknown counts as insecure). */
export const SANDBOX_LEVELS = ['namespaces', 'insecure'] as const;
export type SandboxLevel = (typeof SANDBOX_LEVELS)[number];

export interface WorkerInfo {
  id: string;
  name: string;
  status: WorkerStatus;
  capacity: number;
  inFlight: number;
  sandbox: SandboxLevel;
  warm: string[];
  connectedAt: string;
  lastHeartbeatAt: string | null;
  completed: number;
}

/** A pool supervisor connected to the scheduler (`taskforge pool`, docs/SCALING.md). */
export interface PoolInfo {
  name: string;
  host: string;
  /** Workers running now. */
  current: number;
  /** Workers the pool converges on. */
  target: number;
  min: number;
  max: number;
  autoscale: boolean;
  workerCapacity: number;
  connectedAt: string;
}

export interface Stats {
  executions: Record<ExecutionStatus, number>;
  queueDepth: number;
  workers: Record<WorkerStatus, number>;
}

export const FUNCTION_DEFAULTS = {
  handler: 'default',
  runtime: 'nodejs',
  timeoutMs: 30_000,
  memoryMb: 128,
  maxRetries: 2,
  concurrency: 0,
  maxQueueMs: 3_600_000,
  env: {},
  description: '',
} as const;

export const LIMITS = {
  /** Bytes of an invoke body. */
  inputBytes: 1024 * 1024,
  /** Bytes of function code. */
  codeBytes: 5 * 1024 * 1024,
  /** Bytes of a handler's JSON-encoded return value. */
  outputBytes: 1024 * 1024,
  /** Log lines kept per execution. */
  logLines: 1000,
  /** Bytes of log text kept per execution. */
  logBytes: 256 * 1024,
  /** Characters of one log line. */
  logLineChars: 8 * 1024,
  /** Bytes of an execution error's details as JSON (the thrown error's code and own fields). */
  errorDetailsBytes: 16 * 1024,
  /** Bytes of a function's env (keys and values). */
  envBytes: 4 * 1024,
  envKeys: 64,
  maxWaitMs: 30_000,
  maxSyncWaitMs: 300_000,
  listLimit: 500,
  /** How far ahead a delayed invoke may be scheduled (31 days). */
  maxDelayMs: 31 * 24 * 60 * 60 * 1000,
  /** Events in one invoke-batch request. */
  batchEvents: 1000,
  /** Triggers per function. */
  triggers: 16,
  /** Bytes of a published event (it becomes every subscriber's input, so the invoke bound). */
  eventBytes: 1024 * 1024,
  /** Bytes of a topic filter or a cron trigger's input, as JSON. */
  triggerJsonBytes: 16 * 1024,
} as const;

/** Epoch ms from which a queued execution's maxQueueMs counts: its scheduled time, else its creation. */
export const queueStartMs = (e: Pick<Execution, 'createdAt' | 'scheduledFor'>): number => Date.parse(e.scheduledFor ?? e.createdAt);
