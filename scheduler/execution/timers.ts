/**
 * The timers of executions that are not terminal: a delayed invoke's start, a retry's backoff,
 * the queue expiry (maxQueueMs) and the watchdog of a running attempt. They only say that time
 * has come; what that means is decided by transition.ts when the event they fire is applied (an
 * expiry that fires a little before its deadline is re-armed there, not trusted). All are unref'd.
 *
 * Delays and retries, which can be many at once and far ahead, are not a timer each: each kind is
 * one DueIndex (a heap with one timer). An expiry is armed only once an execution is ready (a
 * delayed one's maxQueueMs counts from its scheduled time), a watchdog only while it runs.
 */
import { DueIndex } from './due-index.js';

interface Armed {
  expiry: NodeJS.Timeout | null;
  watchdog: NodeJS.Timeout | null;
}

export interface TimerCallbacks {
  /** A delayed execution's scheduled time has come. */
  due(executionId: string): void;
  retryDue(executionId: string): void;
  expired(executionId: string): void;
  watchdog(executionId: string, lease: string): void;
  now(): number;
}

export class ExecutionTimers {
  private readonly armed = new Map<string, Armed>();
  /** Delayed executions not yet due: id → scheduled time. */
  readonly delays: DueIndex;
  /** Retries waiting out their backoff: id → retry time. */
  readonly retries: DueIndex;

  constructor(private readonly on: TimerCallbacks) {
    this.delays = new DueIndex(
      (id) => on.due(id),
      () => on.now(),
    );
    this.retries = new DueIndex(
      (id) => on.retryDue(id),
      () => on.now(),
    );
  }

  armRetry(id: string, delayMs: number): void {
    this.retries.set(id, this.on.now() + delayMs);
  }

  /** Arms the start of a delayed execution at `atMs` (epoch ms). */
  armDue(id: string, atMs: number): void {
    this.delays.set(id, atMs);
  }

  /** Arms the expiry for `atMs` (epoch ms), replacing one already armed. */
  armExpiry(id: string, atMs: number): void {
    const t = this.entry(id);
    if (t.expiry) clearTimeout(t.expiry);
    t.expiry = unref(
      setTimeout(
        () => {
          t.expiry = null;
          this.on.expired(id);
        },
        Math.max(0, atMs - this.on.now()),
      ),
    );
  }

  /** Arms the expiry unless one is armed already. */
  armExpiryOnce(id: string, atMs: number): void {
    if (!this.armed.get(id)?.expiry) this.armExpiry(id, atMs);
  }

  clearExpiry(id: string): void {
    const t = this.armed.get(id);
    if (t?.expiry) {
      clearTimeout(t.expiry);
      t.expiry = null;
    }
  }

  armWatchdog(id: string, lease: string, ms: number): void {
    const t = this.entry(id);
    if (t.watchdog) clearTimeout(t.watchdog);
    t.watchdog = unref(
      setTimeout(() => {
        t.watchdog = null;
        this.on.watchdog(id, lease);
      }, ms),
    );
  }

  clearWatchdog(id: string): void {
    const t = this.armed.get(id);
    if (t?.watchdog) {
      clearTimeout(t.watchdog);
      t.watchdog = null;
    }
  }

  /** Clears every timer of `id` (it is terminal). */
  clear(id: string): void {
    this.delays.delete(id);
    this.retries.delete(id);
    const t = this.armed.get(id);
    if (!t) return;
    for (const timer of [t.expiry, t.watchdog]) if (timer) clearTimeout(timer);
    this.armed.delete(id);
  }

  clearAll(): void {
    for (const id of [...this.armed.keys()]) this.clear(id);
    this.delays.clear();
    this.retries.clear();
  }

  private entry(id: string): Armed {
    let t = this.armed.get(id);
    if (!t) {
      t = { expiry: null, watchdog: null };
      this.armed.set(id, t);
    }
    return t;
  }
}

function unref(t: NodeJS.Timeout): NodeJS.Timeout {
  t.unref();
  return t;
}
