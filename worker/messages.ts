/**
 * The only place the worker touches the generated proto shapes: builds WorkerMessages from the
 * sandbox's plain types and turns an Execute into a RunRequest. Generated code is never edited;
 * nothing here does I/O.
 */
import type { LogLine as RecordLogLine } from '../common/records.js';
import type { Execute, FunctionCode, Heartbeat, HeldExecution, LogLine as WireLogLine, Result, WorkerMessage } from '../proto/gen/taskforge/v1/worker.js';
import type { RunError, RunOutcome, SandboxFunction } from './sandbox/types.js';

/** Error codes the agent itself puts in a Result (the sandbox reports the rest). */
export const AGENT_ERROR = {
  workerLost: 'WORKER_LOST',
  sandboxCrash: 'SANDBOX_CRASH',
} as const;

/** Key of the per-stream code cache and of warm sandboxes. */
export const versionKey = (name: string, version: number): string => `${name}@${version}`;

export function helloMessage(h: {
  workerId: string;
  name: string;
  capacity: number;
  held: HeldExecution[];
  agentVersion: string;
  sandboxLevel: string;
}): WorkerMessage {
  return { msg: { $case: 'hello', value: { ...h, runtimes: ['nodejs'] } } };
}

export function heartbeatMessage(hb: Heartbeat): WorkerMessage {
  return { msg: { $case: 'heartbeat', value: hb } };
}

export function startedMessage(executionId: string, lease: string, info: { coldStart: boolean; initMs: number; startedAtMs: number }): WorkerMessage {
  return {
    msg: {
      $case: 'started',
      value: { executionId, lease, coldStart: info.coldStart, initMs: uint(info.initMs), startedAtMs: Math.round(info.startedAtMs) },
    },
  };
}

export function logChunkMessage(executionId: string, lease: string, lines: RecordLogLine[], truncated: boolean, dropped = 0): WorkerMessage {
  const wire: WireLogLine[] = lines.map((l) => ({ tsMs: toEpochMs(l.ts), stream: l.stream, message: l.message }));
  return { msg: { $case: 'log', value: { executionId, lease, lines: wire, truncated, dropped } } };
}

export function resultMessage(executionId: string, lease: string, outcome: RunOutcome): WorkerMessage {
  const base: Result = {
    executionId,
    lease,
    ok: outcome.ok,
    outputJson: '',
    error: undefined,
    durationMs: uint(outcome.durationMs),
    initMs: uint(outcome.initMs),
    coldStart: outcome.coldStart,
    startedAtMs: Math.round(outcome.startedAtMs),
    finishedAtMs: Math.round(outcome.finishedAtMs),
    cpuMs: uint(outcome.cpuMs ?? 0),
  };
  if (outcome.ok) base.outputJson = outcome.outputJson;
  else base.error = wireError(outcome.error);
  return { msg: { $case: 'result', value: base } };
}

/** The outcome of a run that never got to run its handler: no timings. */
export function failureOutcome(error: RunError, nowMs = Date.now()): RunOutcome {
  return { ok: false, error, coldStart: false, initMs: 0, durationMs: 0, startedAtMs: nowMs, finishedAtMs: nowMs, logsTruncated: false };
}

/** A Result for an execution the worker refused or could not run. */
export function failureResult(executionId: string, lease: string, error: RunError, nowMs = Date.now()): WorkerMessage {
  return resultMessage(executionId, lease, failureOutcome(error, nowMs));
}

/** The sandbox's view of an Execute's function, with the code the stream cache resolved. */
export function toSandboxFunction(fn: FunctionCode, code: string): SandboxFunction {
  return {
    name: fn.name,
    version: fn.version,
    handler: fn.handler,
    timeoutMs: fn.timeoutMs,
    memoryMb: fn.memoryMb,
    env: { ...fn.env },
    codeSha256: fn.codeSha256,
    code,
    ...(fn.format === 'esm' || fn.format === 'cjs' ? { format: fn.format } : {}),
  };
}

/** Short description of an Execute for logs, without input or code. */
export function describeExecute(ex: Execute): { executionId: string; lease: string; fn: string; attempt: number } {
  return { executionId: ex.executionId, lease: ex.lease, fn: ex.function ? versionKey(ex.function.name, ex.function.version) : '?', attempt: ex.attempt };
}

function wireError(e: RunError): Result['error'] {
  return { code: e.code, message: e.message, name: e.name ?? '', stack: e.stack ?? '', detailsJson: e.detailsJson ?? '' };
}

function toEpochMs(ts: string): number {
  const ms = Date.parse(ts);
  return Number.isFinite(ms) ? ms : Date.now();
}

/** uint32 fields must not carry negatives or fractions. */
function uint(n: number): number {
  return Number.isFinite(n) && n > 0 ? Math.min(Math.round(n), 0xffffffff) : 0;
}
