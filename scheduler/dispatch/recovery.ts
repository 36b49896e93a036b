/**
 * After a scheduler restart: what the store held that was not finished. Queued executions go
 * back in the queue (or wait out their retry backoff) with their expiry armed; delayed ones wait
 * for their scheduled time in the due index (at once if it passed while the scheduler was down,
 * each once: it is one record in one state); running ones wait
 * `adoptGraceMs` for their worker to reconnect and claim them (adopt), and are lost after that.
 */
import { queueStartMs, type Execution } from '../../common/records.js';
import type { HeldExecution } from '../../proto/gen/taskforge/v1/worker.js';
import type { ExecutionState } from '../execution/state.js';
import type { RegisteredWorker } from '../worker-registry.js';
import type { AttemptResults } from './results.js';
import type { RunningCounts } from './running-counts.js';

export class Recovery {
  /** Executions found running at start, waiting for their worker to reconnect: id → lease. */
  private readonly orphans = new Map<string, string>();
  private orphanTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly state: ExecutionState,
    private readonly running: RunningCounts,
    private readonly results: AttemptResults,
    private readonly schedulePump: () => void,
    private readonly adoptGraceMs: number,
    private readonly maxQueueMs: (rec: Execution) => number,
  ) {}

  /** Re-queues or waits for what the store held at start. */
  recover(executions: Iterable<Execution>): void {
    const { state } = this;
    const nowMs = state.now();
    // Delayed and retrying ones go into their heaps in one load each: no timer per execution.
    const delayed: Array<[string, number]> = [];
    const retrying: Array<[string, number]> = [];
    for (const rec of executions) {
      if (rec.status === 'queued') {
        const startMs = queueStartMs(rec);
        if (startMs > nowMs) {
          // Not due yet: no live state and no expiry until it is (transition.ts, `due`).
          delayed.push([rec.id, startMs]);
          continue;
        }
        state.liveState(rec.id).queuedSince = startMs;
        state.timers.armExpiryOnce(rec.id, startMs + this.maxQueueMs(rec));
        if (rec.retryAt && rec.retryAt > nowMs) retrying.push([rec.id, rec.retryAt]);
        else state.pending.add(rec.id, rec.priority, startMs);
      } else if (rec.status === 'running') {
        state.liveState(rec.id);
        this.orphans.set(rec.id, rec.lease ?? '');
        this.running.add(rec.function, 1);
      }
    }
    state.timers.delays.load(delayed);
    state.timers.retries.load(retrying);
    if (this.orphans.size > 0) {
      this.orphanTimer = setTimeout(() => this.expireOrphans(), this.adoptGraceMs);
      this.orphanTimer.unref();
    }
    this.schedulePump();
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
        worker.assign(h.executionId, h.lease, `${rec.function}@${rec.version}`);
        this.orphans.delete(h.executionId);
        this.state.apply(rec, { type: 'adopt', workerId: worker.id });
        this.state.log.info({ executionId: h.executionId, workerId: worker.id }, 'adopted');
      } else {
        kill.push(h.executionId);
      }
    }
    this.schedulePump();
    return kill;
  }

  /** `rec` ended while waiting to be adopted (cancelled): its slot is free. */
  forget(rec: Execution): void {
    if (this.orphans.delete(rec.id)) this.running.add(rec.function, -1);
  }

  close(): void {
    if (this.orphanTimer) clearTimeout(this.orphanTimer);
    this.orphanTimer = null;
  }

  private expireOrphans(): void {
    this.orphanTimer = null;
    for (const [executionId, lease] of [...this.orphans]) {
      this.orphans.delete(executionId);
      const rec = this.state.index.get(executionId);
      if (!rec) continue;
      this.running.add(rec.function, -1);
      if (rec.lease === lease) this.results.lose(rec, 'its worker did not come back after a scheduler restart', false);
    }
    this.schedulePump();
  }
}
