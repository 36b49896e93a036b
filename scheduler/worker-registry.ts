/**
 * The workers the scheduler knows, fed by Hello and Heartbeat messages. Each connected worker
 * has a liveness timer re-armed by every heartbeat; when `missedHeartbeats` intervals pass in
 * silence, or its stream closes, the worker is `lost` and `onLost` runs once.
 * It never dispatches and never touches executions: the manager does, through onLost.
 */
import { EventEmitter } from 'node:events';
import type { Hello, Heartbeat, SchedulerMessage } from '../proto/gen/taskforge/v1/worker.js';
import type { WorkerInfo, WorkerStatus } from '../common/records.js';
import type { PlacementCandidate } from './placement.js';

export interface WorkerConnection {
  send(message: SchedulerMessage): void;
  /** Ends the stream from the scheduler's side. */
  end(): void;
}

export type LossReason = 'heartbeat_missed' | 'stream_closed' | 'replaced';

export class RegisteredWorker implements PlacementCandidate {
  status: WorkerStatus = 'ready';
  readonly warm = new Set<string>();
  /** executionId → lease of every execution sent to this worker and not yet finished. */
  readonly assigned = new Map<string, string>();
  /** "name@version" whose code this stream has already carried. */
  readonly codeSent = new Set<string>();
  lastHeartbeatAt: Date | null = null;
  reportedInFlight = 0;
  rssBytes = 0;
  completed = 0;
  lossTimer: NodeJS.Timeout | null = null;

  constructor(
    readonly id: string,
    readonly name: string,
    public capacity: number,
    readonly connection: WorkerConnection,
    readonly connectedAt: Date,
  ) {}

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
   * Registers a (re)connecting worker. An entry with the same id that is still live belongs to
   * an older stream of the same worker: it is marked lost ("replaced") first, so one worker
   * never holds two streams.
   */
  register(hello: Hello, connection: WorkerConnection): { worker: RegisteredWorker; previous: RegisteredWorker | undefined } {
    const previous = this.workers.get(hello.workerId);
    if (previous && previous.status !== 'lost') this.markLost(previous, 'replaced');
    const worker = new RegisteredWorker(hello.workerId, hello.name || hello.workerId, Math.max(0, hello.capacity), connection, this.now());
    this.workers.set(worker.id, worker);
    this.armLossTimer(worker);
    this.events.emit('registered', worker);
    return { worker, previous };
  }

  heartbeat(worker: RegisteredWorker, hb: Heartbeat): void {
    if (worker.status === 'lost') return;
    worker.lastHeartbeatAt = this.now();
    worker.reportedInFlight = hb.inFlight;
    worker.rssBytes = hb.rssBytes;
    if (hb.capacity > 0) worker.capacity = hb.capacity;
    worker.warm.clear();
    for (const key of hb.warm) worker.warm.add(key);
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
