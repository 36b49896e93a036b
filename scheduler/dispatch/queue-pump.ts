/**
 * Moves queued executions onto workers and turns worker reports into state changes.
 *
 * - pump(): dispatches queued executions while some worker has a free slot, honouring each
 *   function's cluster-wide `concurrency`. It runs on a microtask after anything that may free
 *   or add work (invoke, result, worker join, retry due) — never on a polling timer.
 * - Every Execute carries a fresh lease; Started / Log / Result with any other lease are dropped.
 * - Whether a failed or lost attempt is tried again is decided by retry-policy.ts (decideRetry),
 *   never here: this module only reports how the attempt ended and applies the answer.
 */
import { nanoid } from 'nanoid';
import type { Logger } from 'pino';
import { hopTrace } from '../common/hop-trace.js';
import type { HeldExecution, LogChunk, Result, Started } from '../proto/gen/taskforge/v1/worker.js';
import { REASON } from '../common/logger.js';
import { FUNCTION_DEFAULTS, type Execution, type ExecutionError, type ExecutionErrorCode, type Placement } from '../common/records.js';
import type { ExecutionState } from './execution-state.js';
import type { FunctionRegistry } from './function-registry.js';
import { pickWorker } from './placement.js';
import { decideRetry, poisonMessage, type RetryPolicy } from './retry-policy.js';
import type { RegisteredWorker, WorkerRegistry } from './worker-registry.js';

export interface DispatcherOptions {
  retryPolicy: RetryPolicy;
  /** A running attempt with no result this long after its deadline is treated as lost. */
  watchdogSlackMs: number;
  /** After a restart, how long executions that were running wait for their worker to re-adopt them. */
  adoptGraceMs: number;
  random?: () => number;
}

const iso = (ms: number): string => new Date(ms).toISOString();

/**
 * `timings.cpuMs` from a Result: what the worker measured (0 = under 1 ms), or null for a failure
 * that took no time and no CPU — a run that never started (refused, or its sandbox failed to
 * start), where 0 would claim a measurement nobody made.
 */
export function reportedCpuMs(msg: Pick<Result, 'ok' | 'durationMs' | 'cpuMs'>): number | null {
  return !msg.ok && msg.durationMs === 0 && msg.cpuMs === 0 ? null : msg.cpuMs;
}

export class Dispatcher {
  private readonly runningByFn = new Map<string, number>();
  /** Executions found running at start, waiting for their worker to reconnect: id → lease. */
  private readonly orphans = new Map<string, string>();
  private orphanTimer: NodeJS.Timeout | null = null;
  private pumpScheduled = false;
  private readonly log: Logger;
  private readonly random: () => number;

  constructor(
    private readonly state: ExecutionState,
    private readonly functions: FunctionRegistry,
    private readonly registry: WorkerRegistry,
    private readonly opts: DispatcherOptions,
  ) {
    this.log = state.log;
    this.random = opts.random ?? Math.random;
  }

  /** Re-queues or waits for what the store held at start. */
  recover(executions: Iterable<Execution>): void {
    for (const rec of executions) {
      if (rec.status === 'queued') {
        const s = this.state.liveState(rec.id);
        s.queuedSince = Date.parse(rec.createdAt);
        this.armExpiry(rec);
        if (rec.retryAt && rec.retryAt > this.state.now()) this.scheduleRetry(rec, rec.retryAt - this.state.now());
        else this.state.pending.set(rec.id, true);
      } else if (rec.status === 'running') {
        this.state.liveState(rec.id);
        this.orphans.set(rec.id, rec.lease ?? '');
        this.bump(rec.function, 1);
      }
    }
    if (this.orphans.size > 0) {
      this.orphanTimer = setTimeout(() => this.expireOrphans(), this.opts.adoptGraceMs);
      this.orphanTimer.unref();
    }
    this.schedulePump();
  }

  runningCount(fn: string): number {
    return this.runningByFn.get(fn) ?? 0;
  }

  enqueue(rec: Execution): void {
    this.state.liveState(rec.id).queuedSince = this.state.now();
    this.armExpiry(rec);
    this.state.pending.set(rec.id, true);
    this.schedulePump();
  }

  /** A queued execution older than its function's maxQueueMs (from createdAt) fails EXPIRED. */
  private armExpiry(rec: Execution): void {
    const s = this.state.liveState(rec.id);
    if (s.expiry) return;
    const maxQueueMs = this.functions.anyVersion(rec.function, rec.version)?.maxQueueMs ?? FUNCTION_DEFAULTS.maxQueueMs;
    const delay = Date.parse(rec.createdAt) + maxQueueMs - this.state.now();
    s.expiry = setTimeout(() => {
      s.expiry = null;
      if (rec.status !== 'queued') return;
      this.state.pending.delete(rec.id);
      this.log.warn({ executionId: rec.id, maxQueueMs, reason: REASON.expired }, 'expired before it could run');
      this.state.commit(rec, 'failed', {
        error: { code: 'EXPIRED', message: `still queued after maxQueueMs (${maxQueueMs} ms)` },
        finishedAt: iso(this.state.now()),
        lease: null,
        retryAt: null,
      });
    }, Math.max(0, delay));
    s.expiry.unref();
  }

  schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    queueMicrotask(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  pump(): void {
    if (this.state.pending.size === 0) return;
    const workers = this.registry.live();
    if (workers.length === 0) return;
    for (const id of this.state.pending.keys()) {
      const rec = this.state.index.get(id);
      if (!rec || rec.status !== 'queued') {
        this.state.pending.delete(id);
        continue;
      }
      const latest = this.functions.live(rec.function);
      const limit = latest ? latest.versions[latest.versions.length - 1]!.concurrency : 0;
      if (limit > 0 && this.runningCount(rec.function) >= limit) continue;
      const decision = pickWorker(workers, `${rec.function}@${rec.version}`, this.random);
      if (!decision) break;
      this.state.pending.delete(id);
      this.dispatch(rec, decision.worker, decision.placement);
    }
  }

  private dispatch(rec: Execution, worker: RegisteredWorker, placement: Placement): void {
    const fn = this.functions.anyVersion(rec.function, rec.version);
    if (!fn) {
      this.state.commit(rec, 'failed', {
        error: { code: 'FUNCTION_DELETED', message: `function '${rec.function}' version ${rec.version} no longer exists` },
        finishedAt: iso(this.state.now()),
      });
      return;
    }
    const now = this.state.now();
    const lease = nanoid(16);
    const s = this.state.liveState(rec.id);
    s.queuedMs += Math.max(0, now - s.queuedSince);
    if (s.expiry) {
      clearTimeout(s.expiry);
      s.expiry = null;
    }
    const key = `${fn.name}@${fn.version}`;
    const attempts = rec.attempts ?? [];
    attempts.push({ attempt: rec.attempt, workerId: worker.id, startedAt: iso(now), finishedAt: null, errorCode: null });
    this.state.commit(rec, 'running', { lease, workerId: worker.id, placement, startedAt: iso(now), retryAt: null, attempts });
    worker.assigned.set(rec.id, lease);
    worker.warm.add(key);
    this.bump(rec.function, 1);
    const sendCode = !worker.codeSent.has(key);
    worker.codeSent.add(key);
    s.watchdog = setTimeout(() => this.watchdogFired(rec.id, lease), fn.timeoutMs + this.opts.watchdogSlackMs);
    s.watchdog.unref();
    this.log.debug({ executionId: rec.id, workerId: worker.id, attempt: rec.attempt }, 'dispatched');
    hopTrace.mark('S2 scheduler execute write');
    worker.connection.send({
      msg: {
        $case: 'execute',
        value: {
          executionId: rec.id,
          lease,
          function: {
            name: fn.name,
            version: fn.version,
            handler: fn.handler,
            timeoutMs: fn.timeoutMs,
            memoryMb: fn.memoryMb,
            env: fn.env,
            codeSha256: fn.codeSha256,
            code: sendCode ? fn.code : '',
          },
          inputJson: JSON.stringify(rec.input ?? null),
          attempt: rec.attempt,
          deadlineMs: now + fn.timeoutMs,
        },
      },
    });
  }

  /** The current, running execution this report is about, or undefined (stale: dropped). */
  private current(worker: RegisteredWorker, executionId: string, lease: string, what: string): Execution | undefined {
    const rec = this.state.index.get(executionId);
    if (rec && rec.status === 'running' && rec.lease === lease && worker.assigned.get(executionId) === lease) return rec;
    this.log.info({ executionId, workerId: worker.id, reason: REASON.staleLease }, `${what} dropped`);
    return undefined;
  }

  onStarted(worker: RegisteredWorker, msg: Started): void {
    const rec = this.current(worker, msg.executionId, msg.lease, 'started');
    if (!rec) return;
    rec.startedAt = iso(msg.startedAtMs || this.state.now());
    rec.coldStart = msg.coldStart;
    this.state.store.putExecution(rec);
  }

  onLog(worker: RegisteredWorker, msg: LogChunk): void {
    const rec = this.state.index.get(msg.executionId);
    if (!rec || rec.lease !== msg.lease || worker.assigned.get(msg.executionId) !== msg.lease) return;
    this.state.logs.append(
      msg.executionId,
      msg.lines.map((l) => ({ ts: iso(l.tsMs), stream: l.stream === 'stderr' ? 'stderr' : 'stdout', message: l.message })),
      msg.truncated,
    );
  }

  onResult(worker: RegisteredWorker, msg: Result): void {
    // The slot frees whether or not the record still wants the result (e.g. it was cancelled).
    const held = worker.assigned.get(msg.executionId) === msg.lease;
    const rec = held ? this.current(worker, msg.executionId, msg.lease, 'result') : undefined;
    if (held) this.release(worker, msg.executionId);
    else this.log.info({ executionId: msg.executionId, workerId: worker.id, reason: REASON.staleLease }, 'result dropped');
    if (rec) this.applyResult(rec, msg);
    this.schedulePump();
  }

  private applyResult(rec: Execution, msg: Result): void {
    const now = this.state.now();
    const s = this.state.liveState(rec.id);
    const finishedAt = iso(msg.finishedAtMs || now);
    const code = (msg.ok ? null : (msg.error?.code ?? 'SANDBOX_CRASH')) as ExecutionErrorCode | null;
    this.closeAttempt(rec, finishedAt, code);
    const common = {
      durationMs: msg.durationMs,
      coldStart: msg.coldStart,
      startedAt: msg.startedAtMs ? iso(msg.startedAtMs) : rec.startedAt,
      timings: { queuedMs: s.queuedMs, initMs: msg.initMs, runMs: msg.durationMs, cpuMs: reportedCpuMs(msg) },
    };
    if (msg.ok) {
      let output: unknown = null;
      try {
        output = msg.outputJson ? JSON.parse(msg.outputJson) : null;
      } catch {
        output = null;
      }
      this.state.commit(rec, 'succeeded', { ...common, output, finishedAt, lease: null });
      return;
    }
    const error: ExecutionError = {
      code: code!,
      message: msg.error?.message ?? 'unknown error',
      ...(msg.error?.name ? { name: msg.error.name } : {}),
      ...(msg.error?.stack ? { stack: msg.error.stack } : {}),
    };
    if (code === 'WORKER_LOST' || code === 'CANCELLED') {
      // The worker refused or gave up this attempt (capacity, drain, shutdown): not the function's fault.
      this.lostAttempt(rec, error.message);
      return;
    }
    const decision = decideRetry(rec, { code: code! }, this.opts.retryPolicy, this.random);
    const crashes = decision.crashes > 0 ? { crashes: decision.crashes } : {};
    if (decision.retry) {
      const delay = decision.delayMs;
      this.log.info({ executionId: rec.id, attempt: rec.attempt, delayMs: delay, code, reason: REASON.retry }, 'retry scheduled');
      this.state.commit(rec, 'queued', { ...common, ...crashes, attempt: rec.attempt + 1, lease: null, workerId: null, retryAt: now + delay });
      this.scheduleRetry(rec, delay);
      return;
    }
    if (decision.poison) {
      error.message = poisonMessage(error.message, decision.crashes);
      this.log.warn({ executionId: rec.id, attempt: rec.attempt, code, crashes: decision.crashes, reason: REASON.poisonPill }, 'poison pill: not retried');
    }
    this.state.commit(rec, code === 'TIMEOUT' ? 'timed_out' : 'failed', { ...common, ...crashes, error, finishedAt, lease: null });
  }

  private scheduleRetry(rec: Execution, delayMs: number): void {
    const s = this.state.liveState(rec.id);
    if (s.retryTimer) clearTimeout(s.retryTimer);
    this.armExpiry(rec);
    s.retryTimer = setTimeout(() => {
      s.retryTimer = null;
      if (rec.status === 'queued') this.enqueue(rec);
    }, delayMs);
    s.retryTimer.unref();
  }

  /**
   * An attempt that ended through no fault of the function. `workerDied`: its worker's stream died
   * while it ran, which counts towards the poison-pill limit (a refusal or a watchdog does not).
   */
  private lostAttempt(rec: Execution, message: string, workerDied = false): void {
    if (rec.status !== 'running') return;
    const now = this.state.now();
    this.closeAttempt(rec, iso(now), 'WORKER_LOST');
    const decision = decideRetry(rec, { code: 'WORKER_LOST', workerDied }, this.opts.retryPolicy, this.random);
    const crashes = decision.crashes > 0 ? { crashes: decision.crashes } : {};
    if (decision.retry) {
      this.log.warn({ executionId: rec.id, workerId: rec.workerId, attempt: rec.attempt, reason: REASON.workerLost }, 'attempt lost, re-queued');
      this.state.commit(rec, 'queued', { ...crashes, attempt: rec.attempt + 1, lease: null, workerId: null, retryAt: null });
      this.enqueue(rec);
      return;
    }
    if (decision.poison) {
      this.log.warn({ executionId: rec.id, workerId: rec.workerId, attempt: rec.attempt, crashes: decision.crashes, reason: REASON.poisonPill }, 'poison pill: not retried');
    }
    const text = decision.poison ? poisonMessage(message, decision.crashes) : message;
    this.state.commit(rec, 'failed', { ...crashes, error: { code: 'WORKER_LOST', message: text }, finishedAt: iso(now), lease: null });
  }

  private closeAttempt(rec: Execution, finishedAt: string, code: ExecutionErrorCode | null): void {
    const last = rec.attempts?.[rec.attempts.length - 1];
    if (last && last.finishedAt === null) {
      last.finishedAt = finishedAt;
      last.errorCode = code;
    }
  }

  private release(worker: RegisteredWorker, executionId: string): void {
    worker.assigned.delete(executionId);
    worker.completed += 1;
    const rec = this.state.index.get(executionId);
    if (rec) this.bump(rec.function, -1);
    const s = this.state.live.get(executionId);
    if (s?.watchdog) {
      clearTimeout(s.watchdog);
      s.watchdog = null;
    }
  }

  private bump(fn: string, delta: number): void {
    const n = (this.runningByFn.get(fn) ?? 0) + delta;
    if (n <= 0) this.runningByFn.delete(fn);
    else this.runningByFn.set(fn, n);
  }

  private watchdogFired(executionId: string, lease: string): void {
    const rec = this.state.index.get(executionId);
    if (!rec || rec.lease !== lease || rec.status !== 'running') return;
    const worker = rec.workerId ? this.registry.get(rec.workerId) : undefined;
    if (worker && worker.assigned.get(executionId) === lease) {
      worker.connection.send({ msg: { $case: 'cancel', value: { executionId, lease, reason: 'watchdog' } } });
      this.release(worker, executionId);
    }
    this.lostAttempt(rec, 'no result from the worker within the timeout');
    this.schedulePump();
  }

  /** Asks the worker running `rec` to kill it. The slot frees when its result arrives. */
  cancelRunning(rec: Execution): void {
    const worker = rec.workerId ? this.registry.get(rec.workerId) : undefined;
    if (worker && rec.lease && worker.assigned.get(rec.id) === rec.lease) {
      worker.connection.send({ msg: { $case: 'cancel', value: { executionId: rec.id, lease: rec.lease, reason: 'cancel' } } });
    }
    if (this.orphans.delete(rec.id)) this.bump(rec.function, -1);
  }

  /**
   * A (re)connecting worker announced the executions it still runs. Those whose lease is current
   * and that wait for their worker after a scheduler restart are adopted; the rest are returned
   * to be killed. (An earlier stream of the same worker is always lost by now — the registry
   * refuses a second live one — and its attempts were re-queued when it was, so their leases
   * are no longer current.)
   */
  adopt(worker: RegisteredWorker, held: HeldExecution[]): string[] {
    const kill: string[] = [];
    for (const h of held) {
      const rec = this.state.index.get(h.executionId);
      if (rec && rec.status === 'running' && rec.lease === h.lease && this.orphans.get(h.executionId) === h.lease) {
        worker.assigned.set(h.executionId, h.lease);
        this.orphans.delete(h.executionId);
        if (rec.workerId !== worker.id) rec.workerId = worker.id;
        this.log.info({ executionId: h.executionId, workerId: worker.id }, 'adopted');
      } else {
        kill.push(h.executionId);
      }
    }
    this.schedulePump();
    return kill;
  }

  /** Every attempt still assigned to a lost worker is lost. */
  workerLost(worker: RegisteredWorker): void {
    for (const [executionId, lease] of [...worker.assigned]) {
      this.release(worker, executionId);
      worker.completed -= 1;
      const rec = this.state.index.get(executionId);
      if (rec && rec.lease === lease) this.lostAttempt(rec, `worker ${worker.id} was lost`, true);
    }
    this.schedulePump();
  }

  private expireOrphans(): void {
    this.orphanTimer = null;
    for (const [executionId, lease] of [...this.orphans]) {
      this.orphans.delete(executionId);
      const rec = this.state.index.get(executionId);
      if (!rec) continue;
      this.bump(rec.function, -1);
      if (rec.lease === lease) this.lostAttempt(rec, 'its worker did not come back after a scheduler restart');
    }
    this.schedulePump();
  }

  close(): void {
    if (this.orphanTimer) clearTimeout(this.orphanTimer);
    for (const s of this.state.live.values()) {
      if (s.retryTimer) clearTimeout(s.retryTimer);
      if (s.watchdog) clearTimeout(s.watchdog);
      if (s.expiry) clearTimeout(s.expiry);
    }
  }
}
