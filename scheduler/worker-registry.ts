/**
 * The workers the scheduler knows, fed by Hello and Heartbeat messages (already checked by
 * worker-claims.ts). Each connected worker has a liveness timer re-armed by every heartbeat; when
 * `missedHeartbeats` intervals pass in silence, or its stream closes, the worker is `lost` and
 * `onLost` runs once.
 *
 * A worker id is bound to the stream that registered it: while that entry is live (ready or
 * draining) another Hello with the same id is refused, never a takeover, so a second client that
 * knows a worker's id cannot cut it off or steal its executions. The id is free again once the
 * entry is lost (its stream closed, or its heartbeats stopped).
 * It never dispatches and never touches executions: the manager does, through onLost.
 */
import { EventEmitter } from 'node:events';
import type { Heartbeat, SchedulerMessage } from '../proto/gen/taskforge/v1/worker.js';
import type { SandboxLevel, WorkerInfo, WorkerStatus } from '../common/records.js';
import type { PlacementCandidate } from './placement.js';
import type { WorkerClaims } from './worker-claims.js';

export interface WorkerConnection {
  send(message: SchedulerMessage): void;
  /** Ends the stream from the scheduler's side. */
  end(): void;
}

export interface SandboxCounts {
  busy: number;
  idle: number;
  prewarmed: number;
}

export type LossReason = 'heartbeat_missed' | 'stream_closed';

export class RegisteredWorker implements PlacementCandidate {
  status: WorkerStatus = 'ready';
  readonly warm = new Set<string>();
  /** executionId → lease of every execution sent to this worker and not yet finished (assign / unassign). */
  readonly assigned = new Map<string, string>();
  /** executionId → "name@version" of the same executions. */
  private readonly assignedKeys = new Map<string, string>();
  /** "name@version" whose code this stream has already carried. */
  readonly codeSent = new Set<string>();
  lastHeartbeatAt: Date | null = null;
  reportedInFlight = 0;
  rssBytes = 0;
  /** The worker's sandboxes by state, as its last heartbeat counted them (for metrics). */
  sandboxes: SandboxCounts = { busy: 0, idle: 0, prewarmed: 0 };
  completed = 0;
  lossTimer: NodeJS.Timeout | null = null;

  constructor(
    readonly id: string,
    readonly name: string,
    public capacity: number,
    readonly sandbox: SandboxLevel,
    readonly connection: WorkerConnection,
    readonly connectedAt: Date,
  ) {}

  assign(executionId: string, lease: string, functionKey: string): void {
    this.assigned.set(executionId, lease);
    this.assignedKeys.set(executionId, functionKey);
  }

  unassign(executionId: string): void {
    this.assigned.delete(executionId);
    this.assignedKeys.delete(executionId);
  }

  /**
   * A heartbeat's warm list is a snapshot the worker took before it had seen, or finished
   * loading, what is in flight to it now. The function versions of those attempts stay warm:
   * their sandboxes are loading or running, and the next heartbeat after they finish says
   * whether they are still there.
   */
  setWarm(reported: readonly string[]): void {
    this.warm.clear();
    for (const key of reported) this.warm.add(key);
    for (const key of this.assignedKeys.values()) this.warm.add(key);
  }

  get ready(): boolean {
    return this.status === 'ready';
  }

  get taken(): number {
    return this.assigned.size;
  }

  info(): WorkerInfo {
    return {
      id: this.id,
      name: this.name,
      status: this.status,
      capacity: this.capacity,
      inFlight: this.assigned.size,
      sandbox: this.sandbox,
      warm: [...this.warm].sort(),
      connectedAt: this.connectedAt.toISOString(),
      lastHeartbeatAt: this.lastHeartbeatAt ? this.lastHeartbeatAt.toISOString() : null,
      completed: this.completed,
    };
  }
}

export interface WorkerRegistryOptions {
  heartbeatIntervalMs: number;
  missedHeartbeats: number;
  /** How long a lost worker stays listed. */
  forgetLostAfterMs: number;
  onLost: (worker: RegisteredWorker, reason: LossReason) => void;
  now?: () => Date;
}

export class WorkerRegistry {
  private readonly workers = new Map<string, RegisteredWorker>();
  /** 'registered' (worker) and 'lost' (worker, reason): for observers such as tests and tools. */
  readonly events = new EventEmitter();
  private readonly now: () => Date;

  constructor(private readonly opts: WorkerRegistryOptions) {
    this.now = opts.now ?? (() => new Date());
  }

  get(id: string): RegisteredWorker | undefined {
    return this.workers.get(id);
  }

  all(): RegisteredWorker[] {
    return [...this.workers.values()];
  }

  /** Live workers (ready or draining). */
  live(): RegisteredWorker[] {
    return this.all().filter((w) => w.status !== 'lost');
  }

  /**
   * Registers a (re)connecting worker, unless its id belongs to a live entry: then nothing changes
   * and the live entry is returned as the reason. A lost entry with the same id (the same worker
   * coming back) is replaced.
   */
  register(claims: WorkerClaims, connection: WorkerConnection): { ok: true; worker: RegisteredWorker } | { ok: false; live: RegisteredWorker } {
    const existing = this.workers.get(claims.workerId);
    if (existing && existing.status !== 'lost') return { ok: false, live: existing };
    if (existing?.lossTimer) clearTimeout(existing.lossTimer);
    const worker = new RegisteredWorker(claims.workerId, claims.name, claims.capacity, claims.sandbox, connection, this.now());
    this.workers.set(worker.id, worker);
    this.armLossTimer(worker);
    this.events.emit('registered', worker);
    return { ok: true, worker };
  }

  heartbeat(worker: RegisteredWorker, hb: Heartbeat): void {
    if (worker.status === 'lost') return;
    worker.lastHeartbeatAt = this.now();
    worker.reportedInFlight = hb.inFlight;
    worker.rssBytes = hb.rssBytes;
    worker.sandboxes = { busy: hb.sandboxesBusy, idle: hb.sandboxesIdle, prewarmed: hb.sandboxesPrewarmed };
    worker.capacity = hb.capacity;
    worker.setWarm(hb.warm);
    if (hb.draining && worker.status === 'ready') worker.status = 'draining';
    worker.lossTimer?.refresh();
  }

  /** The stream of `worker` ended. Only the current entry for that id is affected. */
  streamClosed(worker: RegisteredWorker): void {
    if (this.workers.get(worker.id) === worker && worker.status !== 'lost') this.markLost(worker, 'stream_closed');
  }

  markLost(worker: RegisteredWorker, reason: LossReason): void {
    if (worker.status === 'lost') return;
    worker.status = 'lost';
    if (worker.lossTimer) clearTimeout(worker.lossTimer);
    worker.lossTimer = setTimeout(() => {
      if (this.workers.get(worker.id) === worker) this.workers.delete(worker.id);
    }, this.opts.forgetLostAfterMs);
    worker.lossTimer.unref();
    try {
      worker.connection.end();
    } catch {
      // already closed
    }
    this.opts.onLost(worker, reason);
    this.events.emit('lost', worker, reason);
  }

  close(): void {
    for (const w of this.workers.values()) {
      if (w.lossTimer) clearTimeout(w.lossTimer);
      try {
        w.connection.end();
      } catch {
        // already closed
      }
    }
    this.workers.clear();
  }

  private armLossTimer(worker: RegisteredWorker): void {
    const bound = this.opts.heartbeatIntervalMs * this.opts.missedHeartbeats;
    worker.lossTimer = setTimeout(() => this.markLost(worker, 'heartbeat_missed'), bound);
    worker.lossTimer.unref();
  }
}
