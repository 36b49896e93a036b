/**
 * The API's records as the dashboard reads them (docs/API.md). The dashboard is its own island: it
 * keeps its own copy of the shapes it shows instead of importing the server's modules.
 */
export type ExecutionStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'timed_out' | 'cancelled';
export const EXECUTION_STATUSES: readonly ExecutionStatus[] = ['queued', 'running', 'succeeded', 'failed', 'timed_out', 'cancelled'];
export const TERMINAL: ReadonlySet<string> = new Set(['succeeded', 'failed', 'timed_out', 'cancelled']);

export interface FunctionInfo {
  name: string;
  version: number;
  handler: string;
  runtime: string;
  timeoutMs: number;
  memoryMb: number;
  maxRetries: number;
  concurrency: number;
  maxQueueMs?: number;
  env: Record<string, string | null>;
  description: string;
  codeSha256: string;
  codeBytes: number;
  createdAt: string;
  updatedAt: string;
  code?: string;
  /** Topic subscriptions and cron schedules (docs/TOPICS.md, docs/CRON.md); `nextAt` on cron ones of the latest version. */
  triggers?: FunctionTrigger[];
  /** Its settings (docs/CIRCUIT-BREAKER.md); null or absent: no breaker. */
  circuitBreaker?: { failureThreshold?: number; windowMs?: number; cooldownMs?: number } | null;
  /** Its state now, on `GET /v1/functions/{name}`. */
  circuit?: Circuit | null;
  /** 0 or absent: outputs are not reused (docs/RESULT-CACHE.md). */
  cacheTtlMs?: number;
}

export type FunctionTrigger =
  | { type: 'topic'; topic: string; filter?: unknown }
  | { type: 'cron'; schedule: string; timezone?: string; input?: unknown; nextAt?: string | null }
  | { type: string; [k: string]: unknown };

export interface Circuit {
  state: 'closed' | 'open' | 'half_open';
  failures: number;
  openedAt: string | null;
  retryAt: string | null;
  opens: number;
}

/** What started an execution other than an HTTP invoke (null: an invoke). More types may come. */
export type ExecutionTrigger =
  { type: 'topic'; topic: string; eventId: string } | { type: 'cron'; tick: string } | { type: 'retry'; of: string } | { type: string; [k: string]: unknown };

export interface ExecutionError {
  code: string;
  message: string;
  name?: string;
  stack?: string;
  details?: unknown;
}

export interface Timings {
  queuedMs: number | null;
  initMs: number | null;
  runMs: number | null;
  cpuMs?: number | null;
}

export interface Placement {
  workerId: string;
  load: number;
  warm: boolean;
  candidates: number;
}

export interface Execution {
  id: string;
  function: string;
  version: number;
  status: ExecutionStatus;
  mode: string;
  input?: unknown;
  output?: unknown;
  error: ExecutionError | null;
  attempt: number;
  maxAttempts: number;
  workerId: string | null;
  coldStart: boolean | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  durationMs: number | null;
  timings?: Timings | null;
  placement?: Placement | null;
  idempotencyKey?: string | null;
  crashes?: number;
  trigger?: ExecutionTrigger | null;
  scheduledFor?: string | null;
  /** `critical` | `high` | `normal` | `low` (docs/QUEUEING.md). */
  priority?: string | null;
  cached?: boolean;
}

export interface LogLine {
  ts: string;
  stream: 'stdout' | 'stderr';
  message: string;
  attempt?: number;
}

export interface WorkerInfo {
  id: string;
  name: string;
  status: 'ready' | 'draining' | 'lost';
  capacity: number;
  inFlight: number;
  sandbox: string;
  warm: string[];
  connectedAt: string;
  lastHeartbeatAt: string;
  completed: number;
}

export interface Stats {
  executions: Record<ExecutionStatus, number>;
  queueDepth: number;
  workers: { ready: number; draining: number; lost: number };
}
