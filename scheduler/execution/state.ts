/**
 * The scheduler's executions and the one place their transitions are applied. `apply` asks
 * transition.ts what an event does to a record, writes the answer into the record (the only code
 * that assigns an execution's fields: the object keeps its identity, so the indexes, the queue
 * and waiters keep pointing at it), keeps the status counts, and runs the effects: persist,
 * publish to watchers, queue, timers, wake waiters and store logs when terminal. Effects that
 * reach workers (send an Execute, send a Cancel, pump the queue) go through the DispatchPort the
 * dispatch side connects (wire.ts does it, for the server and for tests alike).
 */
import type { Logger } from 'pino';
import { queueStartMs, type Execution } from '../../common/records.js';
import { PriorityQueue } from '../dispatch/priority-queue.js';
import type { Store } from '../store/types.js';
import { EventLog } from './event-log.js';
import { LogBuffer } from './log-buffer.js';
import { ExecutionIndex } from './record-index.js';
import { ExecutionTimers } from './timers.js';
import { transition, type Effect, type ExecutionEvent, type TransitionContext } from './transition.js';
import { Waiters } from './waiters.js';

/** Per-execution bookkeeping that only lives while the execution is not terminal. */
export interface LiveState {
  /** Epoch ms since which it has waited in the queue (this attempt). */
  queuedSince: number;
  /** Queue time summed over earlier attempts. */
  queuedMs: number;
}

/** What applying a transition needs from the dispatch side. */
export interface DispatchPort {
  schedulePump(): void;
  /** Hands the attempt to its worker (the record is already `running` with this lease). */
  sendExecute(rec: Execution, effect: Extract<Effect, { type: 'send-execute' }>): void;
  /** Asks the worker that ran the attempt to kill it; frees what the attempt held. */
  sendCancel(rec: Execution, workerId: string, lease: string): void;
  /** The watchdog of an attempt fired: no result within its deadline plus slack. */
  watchdogFired(executionId: string, lease: string): void;
}

export interface ExecutionStateOptions extends TransitionContext {
  /** The maxQueueMs of the function version an execution runs. */
  maxQueueMs: (rec: Execution) => number;
  /** Changes kept for watchers that resume (EVENT_LOG_CAPACITY by default). */
  eventLogCapacity?: number;
  /** Priority aging: a waiting execution gains one level per this many ms (DEFAULT_AGING_MS). */
  agingMs?: number;
  now?: () => number;
  random?: () => number;
}

export class ExecutionState {
  readonly index = new ExecutionIndex();
  readonly waiters = new Waiters<Execution>();
  readonly logs = new LogBuffer();
  /** Every state change, numbered, for watchers (live views). */
  readonly eventLog: EventLog;
  /** Ids ready to dispatch, by priority with aging (priority-queue.ts). */
  readonly pending: PriorityQueue;
  readonly live = new Map<string, LiveState>();
  readonly timers: ExecutionTimers;
  readonly now: () => number;
  readonly random: () => number;
  private port: DispatchPort | null = null;
  private readonly finishListeners: ((rec: Execution) => void)[] = [];

  constructor(
    readonly store: Store,
    readonly log: Logger,
    private readonly opts: ExecutionStateOptions,
  ) {
    this.now = opts.now ?? Date.now;
    this.random = opts.random ?? Math.random;
    this.eventLog = new EventLog(this.now, opts.eventLogCapacity, this.now() * 1000);
    this.pending = new PriorityQueue(opts.agingMs);
    this.timers = new ExecutionTimers({
      due: (id) => this.fire(id, { type: 'due', nowMs: this.now() }),
      retryDue: (id) => this.fire(id, { type: 'retry-due', nowMs: this.now() }),
      expired: (id) => {
        const rec = this.index.get(id);
        if (rec) this.apply(rec, { type: 'expire', nowMs: this.now(), maxQueueMs: this.opts.maxQueueMs(rec) });
      },
      watchdog: (id, lease) => this.dispatch().watchdogFired(id, lease),
      now: this.now,
    });
  }

  /** Connects the dispatch side; done once, by wire.ts. */
  connect(port: DispatchPort): void {
    if (this.port) throw new Error('ExecutionState is already connected to a dispatcher');
    this.port = port;
  }

  liveState(id: string): LiveState {
    let s = this.live.get(id);
    if (!s) {
      s = { queuedSince: this.now(), queuedMs: 0 };
      this.live.set(id, s);
    }
    return s;
  }

  /**
   * Applies `event` to `rec` (undefined only for `accept`) and runs its effects. Returns the record.
   * Throws IllegalTransitionError for an event the record's state does not allow, and when the
   * effects include a durable write (use applyDurably).
   */
  apply(rec: Execution | undefined, event: ExecutionEvent): Execution {
    const { record, effects } = this.decide(rec, event);
    const target = this.write(rec, record);
    for (const effect of effects) {
      if (effect.type === 'persist' && effect.durable) throw new Error(`${event.type} needs a durable write: use applyDurably`);
      this.run(target, effect);
    }
    return target;
  }

  /**
   * Like apply, but a durable write among the effects is awaited before the effects after it run.
   * Resolves with a copy of the record as it was when its effects had run (before any dispatch).
   */
  async applyDurably(rec: Execution | undefined, event: ExecutionEvent): Promise<Execution> {
    const { record, effects } = this.decide(rec, event);
    const target = this.write(rec, record);
    for (const effect of effects) {
      if (effect.type === 'persist' && effect.durable) await this.store.putExecutionDurable(target);
      else this.run(target, effect);
    }
    return { ...target };
  }

  /**
   * Applies several events whose durable writes must be one commit (a publish's executions):
   * each is decided and written, the effects before its durable persist run, then every record
   * needing it is made durable with one putExecutionsDurable, and only then the rest run. If
   * that commit fails, none of the records' later effects run (nothing indexed, queued or
   * published) and the error is thrown. Resolves with copies, as applyDurably does.
   */
  async applyAllDurably(items: ReadonlyArray<{ rec: Execution | undefined; event: ExecutionEvent }>): Promise<Execution[]> {
    const decided = items.map(({ rec, event }) => {
      const { record, effects } = this.decide(rec, event);
      return { target: this.write(rec, record), effects };
    });
    const durable: Execution[] = [];
    const later: Array<{ target: Execution; effects: Effect[] }> = [];
    for (const { target, effects } of decided) {
      const at = effects.findIndex((e) => e.type === 'persist' && e.durable);
      if (at < 0) {
        for (const effect of effects) this.run(target, effect);
        continue;
      }
      for (const effect of effects.slice(0, at)) this.run(target, effect);
      durable.push(target);
      later.push({ target, effects: effects.slice(at + 1) });
    }
    if (durable.length > 0) await this.store.putExecutionsDurable(durable);
    for (const { target, effects } of later) for (const effect of effects) this.run(target, effect);
    return decided.map(({ target }) => ({ ...target }));
  }

  /**
   * Called with every execution that has just become terminal (once per execution, after its
   * terminal record was handed to the store): where destinations are scheduled.
   */
  onFinish(listener: (rec: Execution) => void): void {
    this.finishListeners.push(listener);
  }

  /** Tells watchers about a record's current state. */
  emit(rec: Execution): void {
    this.eventLog.append(rec);
  }

  close(): void {
    this.timers.clearAll();
  }

  private decide(rec: Execution | undefined, event: ExecutionEvent): { record: Execution; effects: Effect[] } {
    return transition(rec, event, this.opts);
  }

  /** The one assignment of an execution's fields: the decided record's, onto the live object. */
  private write(rec: Execution | undefined, record: Execution): Execution {
    if (!rec) return record;
    if (record === rec) return rec;
    const from = rec.status;
    Object.assign(rec, record);
    if (from !== rec.status) this.index.statusChanged(from, rec.status);
    return rec;
  }

  private fire(id: string, event: ExecutionEvent): void {
    const rec = this.index.get(id);
    if (rec) this.apply(rec, event);
  }

  private dispatch(): DispatchPort {
    if (!this.port) throw new Error('ExecutionState is not connected to a dispatcher');
    return this.port;
  }

  private run(rec: Execution, effect: Effect): void {
    switch (effect.type) {
      case 'persist':
        this.store.putExecution(rec);
        return;
      case 'index':
        this.index.add(rec, effect.digest);
        return;
      case 'publish':
        this.emit(rec);
        return;
      case 'enqueue': {
        const nowMs = this.now();
        this.liveState(rec.id).queuedSince = nowMs;
        this.timers.armExpiryOnce(rec.id, queueStartMs(rec) + this.opts.maxQueueMs(rec));
        this.pending.add(rec.id, rec.priority, nowMs);
        this.dispatch().schedulePump();
        return;
      }
      case 'arm-retry':
        this.liveState(rec.id);
        this.timers.armExpiryOnce(rec.id, queueStartMs(rec) + this.opts.maxQueueMs(rec));
        this.timers.armRetry(rec.id, effect.delayMs);
        return;
      case 'arm-due':
        // No live state and no expiry yet: its queue time and maxQueueMs start when it is due.
        this.timers.armDue(rec.id, effect.atMs);
        return;
      case 'arm-expiry':
        this.timers.armExpiry(rec.id, effect.atMs);
        return;
      case 'clear-expiry':
        this.timers.clearExpiry(rec.id);
        return;
      case 'send-execute': {
        const s = this.liveState(rec.id);
        s.queuedMs += Math.max(0, this.now() - s.queuedSince);
        this.timers.armWatchdog(rec.id, effect.lease, effect.watchdogMs);
        this.dispatch().sendExecute(rec, effect);
        return;
      }
      case 'send-cancel':
        this.dispatch().sendCancel(rec, effect.workerId, effect.lease);
        return;
      case 'finish': {
        this.timers.clear(rec.id);
        this.live.delete(rec.id);
        this.pending.delete(rec.id);
        const logs = this.logs.take(rec.id);
        if (logs) this.store.putLogs(logs);
        this.waiters.wake(rec.id, rec);
        for (const listener of this.finishListeners) {
          try {
            listener(rec);
          } catch (err) {
            this.log.error({ err, executionId: rec.id }, 'finish listener failed');
          }
        }
        return;
      }
      case 'log':
        this.log[effect.level](effect.fields, effect.message);
        return;
    }
  }
}
