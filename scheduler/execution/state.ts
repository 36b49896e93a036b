/**
 * The shared state of executions and its one commit point. Every status change goes through
 * `commit`: the state machine checks it, the indexes follow, the store gets the new record
 * (group-committed), watchers get an event and, when it is terminal, waiters are woken and
 * the captured logs are stored. Nothing else assigns `status`.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { isTerminal, type Execution, type ExecutionStatus } from '../common/records.js';
import { ExecutionIndex } from './execution-index.js';
import { LogBuffer } from './log-buffer.js';
import { transition, type TransitionPatch } from './state-machine.js';
import type { Store } from './store/types.js';
import { Waiters } from './waiters.js';

export interface ExecutionEventPayload {
  executionId: string;
  function: string;
  status: ExecutionStatus;
  attempt: number;
  tsMs: number;
}

/** Per-execution bookkeeping that only lives while the execution is not terminal. */
export interface LiveState {
  /** Epoch ms since which it has waited in the queue (this attempt). */
  queuedSince: number;
  /** Queue time summed over earlier attempts. */
  queuedMs: number;
  retryTimer: NodeJS.Timeout | null;
  watchdog: NodeJS.Timeout | null;
  /** Fires when the execution has been queued past its function's maxQueueMs. */
  expiry: NodeJS.Timeout | null;
}

export class ExecutionState {
  readonly index = new ExecutionIndex();
  readonly waiters = new Waiters<Execution>();
  readonly logs = new LogBuffer();
  readonly events = new EventEmitter();
  /** Ids ready to dispatch, in arrival order (a Map keeps insertion order and deletes in O(1)). */
  readonly pending = new Map<string, true>();
  readonly live = new Map<string, LiveState>();

  constructor(
    readonly store: Store,
    readonly log: Logger,
    readonly now: () => number = Date.now,
  ) {
    this.events.setMaxListeners(0);
  }

  liveState(id: string): LiveState {
    let s = this.live.get(id);
    if (!s) {
      s = { queuedSince: this.now(), queuedMs: 0, retryTimer: null, watchdog: null, expiry: null };
      this.live.set(id, s);
    }
    return s;
  }

  commit(rec: Execution, to: ExecutionStatus, patch: TransitionPatch = {}): void {
    const from = rec.status;
    transition(rec, to, patch);
    this.index.statusChanged(from, to);
    this.store.putExecution(rec);
    this.emit(rec);
    if (isTerminal(to)) this.finish(rec);
  }

  emit(rec: Execution): void {
    if (this.events.listenerCount('event') === 0) return;
    const payload: ExecutionEventPayload = {
      executionId: rec.id,
      function: rec.function,
      status: rec.status,
      attempt: rec.attempt,
      tsMs: this.now(),
    };
    this.events.emit('event', payload);
  }

  private finish(rec: Execution): void {
    const s = this.live.get(rec.id);
    if (s) {
      if (s.retryTimer) clearTimeout(s.retryTimer);
      if (s.watchdog) clearTimeout(s.watchdog);
      if (s.expiry) clearTimeout(s.expiry);
      this.live.delete(rec.id);
    }
    this.pending.delete(rec.id);
    const logs = this.logs.take(rec.id);
    if (logs) this.store.putLogs(logs);
    this.waiters.wake(rec.id, rec);
  }
}
