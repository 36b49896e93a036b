/**
 * The sandbox interface the worker agent sees. A pool of runtime processes behind
 * create / run / dispose; the agent never touches a child process itself.
 */
import type { ExecutionErrorCode, LogLine } from '../../common/records.js';

/** One immutable function version, as the scheduler sent it. */
export interface SandboxFunction {
  name: string;
  version: number;
  handler: string;
  timeoutMs: number;
  memoryMb: number;
  env: Record<string, string>;
  codeSha256: string;
  code: string;
  /** As the scheduler's code check decided; absent: the pool parses the code to know. */
  format?: 'esm' | 'cjs';
}

export interface RunRequest {
  executionId: string;
  fn: SandboxFunction;
  /** JSON text of the event. */
  inputJson: string;
  attempt: number;
  /** Epoch ms at which the invocation times out (TIMEOUT). */
  deadlineMs: number;
  /** Aborting kills the runtime process; the outcome is CANCELLED (or the reason's code). */
  signal?: AbortSignal;
  /** Called with captured console output as it arrives (already capped). */
  /** `dropped`: lines left out between the head of the output and these (the latest lines). */
  onLog?: (lines: LogLine[], truncated: boolean, dropped: number) => void;
  /** Called once the code is loaded and the handler is about to run. */
  onStarted?: (info: { coldStart: boolean; initMs: number; startedAtMs: number }) => void;
}

export interface RunError {
  code: ExecutionErrorCode;
  message: string;
  name?: string;
  stack?: string;
  /** FUNCTION_ERROR: the thrown error's code and own enumerable fields, a JSON object (capped). */
  detailsJson?: string;
}

export type RunOutcome = {
  coldStart: boolean;
  initMs: number;
  durationMs: number;
  startedAtMs: number;
  finishedAtMs: number;
  logsTruncated: boolean;
  /** CPU time (user + system) the runtime process spent on this run, when it could be read. */
  cpuMs?: number;
} & ({ ok: true; outputJson: string } | { ok: false; error: RunError });

/** Why a run was aborted: the value to pass to AbortController.abort(). */
export type AbortReason = 'cancel' | 'shutdown';

export interface SandboxPoolStats {
  /** Runtime processes alive (busy, warm idle and prewarmed). */
  processes: number;
  busy: number;
  /** Not leased, with a function loaded. */
  idle: number;
  /** Not leased, started with no function yet (the prewarmed reserve). */
  prewarmed: number;
  /** "name@version" of every warm process (busy or idle). */
  warm: string[];
  /** RSS of the runtime processes, bytes (best effort). */
  rssBytes: number;
}

/**
 * How a pool's runtime processes are isolated: `namespaces` — the OS boundary (bubblewrap: own
 * PID, network, mount and IPC namespaces, an unprivileged uid) plus Node's permission model;
 * `insecure` — the permission model only (the worker was told `--insecure-sandbox`).
 */
export type SandboxLevel = 'namespaces' | 'insecure';

export interface SandboxPool {
  readonly level: SandboxLevel;
  start(): Promise<void>;
  run(req: RunRequest): Promise<RunOutcome>;
  stats(): SandboxPoolStats;
  /** Kills every runtime process. Idempotent. */
  close(): Promise<void>;
}
