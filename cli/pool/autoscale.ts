/**
 * The pool's autoscaler: a pure decision from the load the scheduler reports (queue depth,
 * executions in flight) to a worker count within [min, max]. It never spawns, signals or waits;
 * the supervisor applies what it answers. Time comes in as `now`, so tests drive it with fake
 * timers and a decision is reproducible from its inputs.
 *
 * No flapping, by three rules:
 * - demand is sized against `targetLoad` (< 1) of the slots, so a pool just big enough for the
 *   work does not sit at 100 % and scale up on the next queued execution;
 * - a scale-up waits `upCooldownMs` after the last change;
 * - a scale-down needs the lower count to have been enough for `downCooldownMs` without a break
 *   (any report that needs the current count again restarts that window), and never follows a
 *   change sooner than `downCooldownMs`. It steps to the largest count the window needed, not to
 *   the last report's.
 */
import { OptionsError } from '../../common/options-error.js';

export interface AutoscaleOptions {
  minWorkers: number;
  maxWorkers: number;
  /** Concurrent executions one worker takes (--capacity). */
  workerCapacity: number;
  /** Share of the slots demand is sized to, (0, 1]. */
  targetLoad: number;
  /** ms after a change before the next scale-up. */
  upCooldownMs: number;
  /** ms the load must stay low before a scale-down (and after any change). */
  downCooldownMs: number;
}

export const AUTOSCALE_DEFAULTS = Object.freeze({
  /** 0.8: a fifth of the slots kept free for bursts. */
  targetLoad: 0.8,
  /** ms */
  upCooldownMs: 15_000,
  /** ms */
  downCooldownMs: 120_000,
});

/** What the scheduler reported (PoolService LoadReport). */
export interface LoadSample {
  queueDepth: number;
  inFlight: number;
}

/** What the autoscaler remembers between reports. */
export interface AutoscaleMemory {
  /** When the target last changed (by this autoscaler or at start), ms. */
  changedAt: number;
  /** Since when every report needed fewer workers than the target; null while one did not. */
  lowSince: number | null;
  /** The most workers any report in the low window needed. */
  lowPeak: number;
}

export interface AutoscaleDecision {
  target: number;
  memory: AutoscaleMemory;
  /** Why the target is what it is: a small vocabulary for the log. */
  reason: 'scale_up' | 'scale_down' | 'hold' | 'up_cooldown' | 'down_window';
}

export function initialMemory(now: number): AutoscaleMemory {
  return { changedAt: now, lowSince: null, lowPeak: 0 };
}

export function validateAutoscaleOptions(o: AutoscaleOptions): Readonly<AutoscaleOptions> {
  if (!Number.isInteger(o.minWorkers) || o.minWorkers < 0)
    throw new OptionsError('minWorkers', `--min-workers must be a non-negative integer, got ${o.minWorkers}`);
  if (!Number.isInteger(o.maxWorkers) || o.maxWorkers < Math.max(1, o.minWorkers))
    throw new OptionsError('maxWorkers', `--max-workers (${o.maxWorkers}) must be at least 1 and at least --min-workers (${o.minWorkers})`);
  if (!(o.workerCapacity >= 1)) throw new OptionsError('workerCapacity', `worker capacity must be at least 1, got ${o.workerCapacity}`);
  if (!(o.targetLoad > 0 && o.targetLoad <= 1)) throw new OptionsError('targetLoad', `target load must be in (0, 1], got ${o.targetLoad}`);
  if (!(o.upCooldownMs >= 0) || !(o.downCooldownMs >= 0)) throw new OptionsError('cooldown', 'cooldowns must be non-negative ms');
  return Object.freeze({ ...o });
}

/** Workers the sample needs, within [min, max]. */
export function neededWorkers(sample: LoadSample, o: AutoscaleOptions): number {
  const demand = Math.max(0, sample.queueDepth) + Math.max(0, sample.inFlight);
  const raw = Math.ceil(demand / (o.workerCapacity * o.targetLoad));
  return Math.min(o.maxWorkers, Math.max(o.minWorkers, raw));
}

export function decide(target: number, sample: LoadSample, memory: AutoscaleMemory, now: number, o: AutoscaleOptions): AutoscaleDecision {
  const need = neededWorkers(sample, o);
  // A target outside the bounds (the options changed under it) is brought back at once.
  const bounded = Math.min(o.maxWorkers, Math.max(o.minWorkers, target));
  if (bounded !== target) return { target: bounded, memory: initialMemory(now), reason: bounded > target ? 'scale_up' : 'scale_down' };
  if (need > target) {
    if (now - memory.changedAt < o.upCooldownMs) return { target, memory: { ...memory, lowSince: null, lowPeak: 0 }, reason: 'up_cooldown' };
    return { target: need, memory: initialMemory(now), reason: 'scale_up' };
  }
  if (need === target) return { target, memory: { ...memory, lowSince: null, lowPeak: 0 }, reason: 'hold' };
  const lowSince = memory.lowSince ?? now;
  const lowPeak = Math.max(memory.lowSince === null ? 0 : memory.lowPeak, need);
  if (now - lowSince >= o.downCooldownMs && now - memory.changedAt >= o.downCooldownMs) {
    return { target: lowPeak, memory: initialMemory(now), reason: 'scale_down' };
  }
  return { target, memory: { changedAt: memory.changedAt, lowSince, lowPeak }, reason: 'down_window' };
}
