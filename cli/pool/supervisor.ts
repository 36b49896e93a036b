/**
 * The pool's workers: it keeps `target` worker processes running in numbered slots 1…target.
 * A worker that exits on its own is started again in its slot after a capped, jittered backoff
 * (reset once a worker has lived `healthyAfterMs`), so a worker that cannot start does not spin.
 * Lowering the target retires the highest slots: their workers get SIGTERM and drain (the
 * worker's own shutdown finishes what it runs) and are not restarted. close() retires all and
 * SIGKILLs what has not exited after `stopGraceMs`.
 * It never decides the target: setTarget() is called by the API relay or the autoscaler.
 */
import { Backoff } from '../../worker/backoff.js';
import type { Logger } from '../../common/logger.js';

/** One running worker, as the supervisor sees it. */
export interface WorkerHandle {
  /** Settles with the exit code once the process is gone. */
  readonly exited: Promise<number>;
  /** SIGTERM: drain and exit. */
  stop(): void;
  /** SIGKILL. */
  kill(): void;
}

export interface SupervisorOptions {
  /** Starts the worker of slot `index` (1-based; its name is derived from it). */
  spawn: (index: number) => WorkerHandle;
  restartBaseMs: number;
  restartCapMs: number;
  /** ms a worker must have run for its next restart to start from the base delay again. */
  healthyAfterMs: number;
  /** ms close() waits for workers to drain before SIGKILL. */
  stopGraceMs: number;
  log: Logger;
  /** Called after every change of the target or of the running count. */
  onChange?: () => void;
  random?: () => number;
  now?: () => number;
}

interface Slot {
  index: number;
  handle: WorkerHandle | null;
  startedAt: number;
  backoff: Backoff;
  restartTimer: NodeJS.Timeout | null;
  restarts: number;
}

export class PoolSupervisor {
  readonly #opts: SupervisorOptions;
  readonly #now: () => number;
  readonly #slots = new Map<number, Slot>();
  /** Workers told to stop (scale-down), until they exit. */
  readonly #retiring = new Set<WorkerHandle>();
  #target = 0;
  #closing: Promise<void> | null = null;

  constructor(opts: SupervisorOptions) {
    this.#opts = opts;
    this.#now = opts.now ?? Date.now;
  }

  get target(): number {
    return this.#target;
  }

  /** Workers running in slots (not counting those draining after a scale-down). */
  get current(): number {
    let n = 0;
    for (const s of this.#slots.values()) if (s.handle) n += 1;
    return n;
  }

  /** Workers draining after a scale-down, not yet exited. */
  get retiring(): number {
    return this.#retiring.size;
  }

  /** Restarts done so far in each slot (for logs and tests). */
  restarts(index: number): number {
    return this.#slots.get(index)?.restarts ?? 0;
  }

  setTarget(n: number): void {
    if (this.#closing) return;
    if (!Number.isInteger(n) || n < 0) throw new RangeError(`target must be a non-negative integer, got ${n}`);
    const before = this.#target;
    this.#target = n;
    for (let i = 1; i <= n; i++) if (!this.#slots.has(i)) this.#start(this.#newSlot(i));
    for (const slot of [...this.#slots.values()]) if (slot.index > n) this.#retire(slot);
    if (before !== n) this.#opts.log.info({ from: before, to: n }, 'pool target changed');
    this.#changed();
  }

  /** Retires every worker and resolves once all have exited. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#target = 0;
      for (const slot of [...this.#slots.values()]) this.#retire(slot);
      const all = [...this.#retiring];
      const force = setTimeout(() => {
        for (const h of this.#retiring) h.kill();
      }, this.#opts.stopGraceMs);
      force.unref();
      await Promise.all(all.map((h) => h.exited));
      clearTimeout(force);
    })();
    return this.#closing;
  }

  #newSlot(index: number): Slot {
    const backoff = new Backoff({
      baseMs: this.#opts.restartBaseMs,
      capMs: this.#opts.restartCapMs,
      ...(this.#opts.random ? { random: this.#opts.random } : {}),
    });
    const slot: Slot = { index, handle: null, startedAt: 0, backoff, restartTimer: null, restarts: 0 };
    this.#slots.set(index, slot);
    return slot;
  }

  #start(slot: Slot): void {
    let handle: WorkerHandle;
    try {
      handle = this.#opts.spawn(slot.index);
    } catch (err) {
      this.#opts.log.error({ err, slot: slot.index }, 'worker could not be started');
      this.#scheduleRestart(slot);
      return;
    }
    slot.handle = handle;
    slot.startedAt = this.#now();
    void handle.exited.then((code) => this.#exited(slot, handle, code));
  }

  #exited(slot: Slot, handle: WorkerHandle, code: number): void {
    if (this.#retiring.delete(handle)) {
      this.#changed();
      return;
    }
    if (slot.handle !== handle) return;
    slot.handle = null;
    if (this.#slots.get(slot.index) !== slot || this.#closing) return;
    if (this.#now() - slot.startedAt >= this.#opts.healthyAfterMs) slot.backoff.reset();
    this.#opts.log.warn({ slot: slot.index, code }, 'pool worker exited; restarting');
    this.#scheduleRestart(slot);
    this.#changed();
  }

  #scheduleRestart(slot: Slot): void {
    const delay = slot.backoff.next();
    slot.restartTimer = setTimeout(() => {
      slot.restartTimer = null;
      if (this.#slots.get(slot.index) !== slot || this.#closing) return;
      slot.restarts += 1;
      this.#start(slot);
      this.#changed();
    }, delay);
    slot.restartTimer.unref();
  }

  #retire(slot: Slot): void {
    this.#slots.delete(slot.index);
    if (slot.restartTimer) clearTimeout(slot.restartTimer);
    slot.restartTimer = null;
    if (!slot.handle) return;
    this.#retiring.add(slot.handle);
    slot.handle.stop();
    slot.handle = null;
  }

  #changed(): void {
    this.#opts.onChange?.();
  }
}
