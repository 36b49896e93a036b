/**
 * The arithmetic of cron triggers, pure: which tick is due now, and when to look next. No timer,
 * no clock of its own (cron.ts owns both), so every case is a table test.
 *
 * A trigger counts its ticks from `afterMs` (its last fired tick, or when it was first seen).
 * At `nowMs` the due tick is the latest tick in (afterMs, nowMs]: one run however many ticks
 * were missed — after downtime, one catch-up run names the latest missed tick.
 */
import type { Schedule } from '../../common/cron-schedule.js';

/** The tick to fire at `nowMs`, or null when none is due. */
export function dueTick(schedule: Schedule, afterMs: number, nowMs: number): number | null {
  if (nowMs <= afterMs) return null;
  const latest = schedule.latestAtOrBefore(nowMs);
  return latest !== null && latest > afterMs ? latest : null;
}

/** When the trigger is next due: its first tick after `afterMs` (which may be now or past: then at once). */
export function nextDue(schedule: Schedule, afterMs: number): number | null {
  return schedule.nextAfter(afterMs);
}

/** The idempotency key of a tick's execution: the same tick can never start a second one. */
export const tickIdempotencyKey = (triggerKey: string, tickMs: number): string => `cron:${triggerKey}:${new Date(tickMs).toISOString()}`;
