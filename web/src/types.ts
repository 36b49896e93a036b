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
}

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
