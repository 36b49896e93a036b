/**
 * What workers report about attempts — Started, Log, Result — and the ways an attempt ends
 * without one (its watchdog fired, its worker was lost), turned into events for transition.ts.
 * A report counts only while its lease is the record's current one and the worker still holds
 * it; anything else is stale and dropped. Whether a failed or lost attempt is tried again is
 * decided there (retry-policy.ts), never here.
 */
import { REASON } from '../../common/logger.js';
import { LIMITS, type Execution } from '../../common/records.js';
import type { LogChunk, Result, Started } from '../../proto/gen/taskforge/v1/worker.js';
import type { ExecutionState } from '../execution/state.js';
import type { AttemptOutcome } from '../circuit-breaker.js';
import type { AttemptReport } from '../execution/transition.js';
import type { RegisteredWorker, WorkerRegistry } from '../worker-registry.js';
import type { RunningCounts } from './running-counts.js';

const iso = (ms: number): string => new Date(ms).toISOString();

/**
 * `timings.cpuMs` from a Result: what the worker measured (0 = under 1 ms), or null for a failure
 * that took no time and no CPU — a run that never started (refused, or its sandbox failed to
 * start), where 0 would claim a measurement nobody made.
 */
export function reportedCpuMs(msg: Pick<Result, 'ok' | 'durationMs' | 'cpuMs'>): number | null {
  return !msg.ok && msg.durationMs === 0 && msg.cpuMs === 0 ? null : msg.cpuMs;
}

/** A Result message as the transition reads it. */
export function attemptReport(msg: Result): AttemptReport {
  let output: unknown = null;
  if (msg.ok && msg.outputJson) {
    try {
      output = JSON.parse(msg.outputJson);
    } catch {
      output = null;
    }
  }
  return {
    ok: msg.ok,
    output,
    error: msg.error
      ? { code: msg.error.code, message: msg.error.message, name: msg.error.name, stack: msg.error.stack, ...errorDetails(msg.error.detailsJson) }
      : null,
    durationMs: msg.durationMs,
    initMs: msg.initMs,
    cpuMs: reportedCpuMs(msg),
    coldStart: msg.coldStart,
    startedAtMs: msg.startedAtMs,
    finishedAtMs: msg.finishedAtMs,
  };
}

/** details_json as a record: a JSON object within LIMITS.errorDetailsBytes, else nothing. */
export function errorDetails(json: string): { details?: Record<string, unknown> } {
  if (!json || Buffer.byteLength(json) > LIMITS.errorDetailsBytes) return {};
  try {
    const value: unknown = JSON.parse(json);
    if (typeof value === 'object' && value !== null && !Array.isArray(value) && Object.keys(value).length > 0)
      return { details: value as Record<string, unknown> };
  } catch {
    // a worker that sends broken JSON loses the details, never the result
  }
  return {};
}

export class AttemptResults {
  constructor(
    private readonly state: ExecutionState,
    private readonly registry: WorkerRegistry,
    private readonly running: RunningCounts,
    private readonly schedulePump: () => void,
    /** Told how each attempt ended, after its transition (circuit breakers, the result cache). */
    private readonly attemptEnded: (rec: Execution, outcome: AttemptOutcome) => void = () => {},
  ) {}

  onStarted(worker: RegisteredWorker, msg: Started): void {
    const rec = this.current(worker, msg.executionId, msg.lease, 'started');
    if (rec) this.state.apply(rec, { type: 'started', nowMs: this.state.now(), startedAtMs: msg.startedAtMs, coldStart: msg.coldStart });
  }

  onLog(worker: RegisteredWorker, msg: LogChunk): void {
    const rec = this.state.index.get(msg.executionId);
    if (!rec || rec.lease !== msg.lease || worker.assigned.get(msg.executionId) !== msg.lease) return;
    const attempt = rec.attempt;
    this.state.logs.append(
      msg.executionId,
      msg.lines.map((l) => ({ ts: iso(l.tsMs), stream: l.stream === 'stderr' ? 'stderr' : 'stdout', message: l.message, attempt })),
      msg.truncated,
      msg.dropped,
    );
  }

  onResult(worker: RegisteredWorker, msg: Result): void {
    // The slot frees whether or not the record still wants the result (e.g. it was cancelled).
    const held = worker.assigned.get(msg.executionId) === msg.lease;
    const rec = held ? this.current(worker, msg.executionId, msg.lease, 'result') : undefined;
    if (held) this.release(worker, msg.executionId);
    else this.state.log.info({ executionId: msg.executionId, workerId: worker.id, reason: REASON.staleLease }, 'result dropped');
    if (rec) {
      const queuedMs = this.state.liveState(rec.id).queuedMs;
      this.state.apply(rec, { type: 'result', nowMs: this.state.now(), report: attemptReport(msg), queuedMs, jitter: this.state.random() });
      // Refused or given up by the worker: not the function's doing.
      const neutral = !msg.ok && (msg.error?.code === 'WORKER_LOST' || msg.error?.code === 'CANCELLED');
      this.attemptEnded(rec, msg.ok ? 'success' : neutral ? 'neutral' : 'failure');
    }
    this.schedulePump();
  }

  /** The watchdog of `lease` fired: the worker is told to kill the attempt, which counts as lost. */
  watchdogFired(executionId: string, lease: string): void {
    const rec = this.state.index.get(executionId);
    if (!rec || rec.lease !== lease || rec.status !== 'running') return;
    const worker = rec.workerId ? this.registry.get(rec.workerId) : undefined;
    if (worker && worker.assigned.get(executionId) === lease) {
      worker.connection.send({ msg: { $case: 'cancel', value: { executionId, lease, reason: 'watchdog' } } });
      this.release(worker, executionId);
    }
    this.lose(rec, 'no result from the worker within the timeout', false);
    this.schedulePump();
  }

  /** Every attempt still assigned to a lost worker is lost. */
  workerLost(worker: RegisteredWorker): void {
    for (const [executionId, lease] of [...worker.assigned]) {
      this.release(worker, executionId);
      worker.completed -= 1;
      const rec = this.state.index.get(executionId);
      if (rec && rec.lease === lease) this.lose(rec, `worker ${worker.id} was lost`, true);
    }
    this.schedulePump();
  }

  /** The running attempt of `rec` ended with no result. `workerDied` counts towards the poison-pill limit. */
  lose(rec: Execution, message: string, workerDied: boolean): void {
    this.state.apply(rec, { type: 'lost', nowMs: this.state.now(), message, workerDied, jitter: this.state.random() });
    this.attemptEnded(rec, 'neutral');
  }

  /** The current, running execution this report is about, or undefined (stale: dropped). */
  private current(worker: RegisteredWorker, executionId: string, lease: string, what: string): Execution | undefined {
    const rec = this.state.index.get(executionId);
    if (rec && rec.status === 'running' && rec.lease === lease && worker.assigned.get(executionId) === lease) return rec;
    this.state.log.info({ executionId, workerId: worker.id, reason: REASON.staleLease }, `${what} dropped`);
    return undefined;
  }

  private release(worker: RegisteredWorker, executionId: string): void {
    worker.unassign(executionId);
    worker.completed += 1;
    const rec = this.state.index.get(executionId);
    if (rec) this.running.add(rec.function, -1);
    this.state.timers.clearWatchdog(executionId);
  }
}
