/**
 * The timers of executions that are not terminal: a retry's backoff, the queue expiry
 * (maxQueueMs) and the watchdog of a running attempt. They only say that time has come; what
 * that means is decided by transition.ts when the event they fire is applied (an expiry that
 * fires a little before its deadline is re-armed there, not trusted). All are unref'd.
 */
interface Armed {
  retry: NodeJS.Timeout | null;
  expiry: NodeJS.Timeout | null;
  watchdog: NodeJS.Timeout | null;
}

export interface TimerCallbacks {
  retryDue(executionId: string): void;
  expired(executionId: string): void;
  watchdog(executionId: string, lease: string): void;
  now(): number;
}

export class ExecutionTimers {
  private readonly armed = new Map<string, Armed>();

  constructor(private readonly on: TimerCallbacks) {}

  armRetry(id: string, delayMs: number): void {
    const t = this.entry(id);
    if (t.retry) clearTimeout(t.retry);
    t.retry = unref(
      setTimeout(() => {
        t.retry = null;
        this.on.retryDue(id);
      }, delayMs),
    );
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
    const t = this.armed.get(id);
    if (!t) return;
    for (const timer of [t.retry, t.expiry, t.watchdog]) if (timer) clearTimeout(timer);
    this.armed.delete(id);
  }

  clearAll(): void {
    for (const id of [...this.armed.keys()]) this.clear(id);
  }

  private entry(id: string): Armed {
    let t = this.armed.get(id);
    if (!t) {
      t = { retry: null, expiry: null, watchdog: null };
      this.armed.set(id, t);
    }
    return t;
  }
}

function unref(t: NodeJS.Timeout): NodeJS.Timeout {
  t.unref();
  return t;
}
