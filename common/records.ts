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

/**
 * What started an execution (docs/API.md "Triggers"); null or absent: a direct invoke. Other kinds
 * of triggers join this union.
 */
export type ExecutionTrigger = { type: 'workflow'; runId: string; step: string };

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
  trigger?: ExecutionTrigger | null;
  /** Epoch ms before which a retry is not dispatched (async backoff); null when ready. */
  retryAt?: number | null;
  attempts?: AttemptRecord[];
  /**
   * Attempts that killed their sandbox or their worker (SANDBOX_CRASH, SANDBOX_PROTOCOL,
   * OUT_OF_MEMORY, or the worker lost while it ran). At POISON_CRASHES the execution is failed,
   * not retried (scheduler/execution/retry-policy.ts). Absent means 0.
   */
  crashes?: number;
  /** Internal: the lease token of the current attempt. Never returned by the API. */
  lease?: string | null;
}

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
}

/** FunctionSpec without code, plus identity and metadata: what the API returns. */
export interface FunctionInfo extends Omit<FunctionSpec, 'code'> {
  name: string;
  version: number;
  codeSha256: string;
  codeBytes: number;
  createdAt: string;
  updatedAt: string;
  code?: string;
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
} as const;
