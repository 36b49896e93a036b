/**
 * Cron schedules, read by croner: 5 fields (minute hour day-of-month month day-of-week) or 6
 * (a seconds field first), croner's nicknames (`@hourly`, `@daily`, …), in an IANA timezone
 * (default UTC). Day-of-month and day-of-week combine with OR, as in Vixie cron.
 *
 * Pure arithmetic over a schedule: it never arms a timer (scheduler/triggers/cron.ts does).
 */
import { Cron } from 'croner';

export const DEFAULT_TIMEZONE = 'UTC';

export interface Schedule {
  /** The latest tick at or before `atMs` (epoch ms), or null when there is none. */
  latestAtOrBefore(atMs: number): number | null;
  /** The first tick strictly after `afterMs`, or null when there is none. */
  nextAfter(afterMs: number): number | null;
}

/** Why a schedule or timezone is refused, for the API's error details. */
export class ScheduleError extends Error {
  constructor(
    readonly field: 'schedule' | 'timezone',
    message: string,
  ) {
    super(message);
    this.name = 'ScheduleError';
  }
}

export function isTimezone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** Throws ScheduleError for a schedule croner does not read or a timezone Intl does not know. */
export function parseSchedule(schedule: string, timezone: string = DEFAULT_TIMEZONE): Schedule {
  if (!isTimezone(timezone)) throw new ScheduleError('timezone', `unknown timezone '${timezone.slice(0, 64)}' (an IANA name such as Europe/Paris)`);
  let cron: Cron;
  try {
    // No callback: croner only computes, it never schedules anything.
    cron = new Cron(schedule, { timezone, mode: '5-or-6-parts', paused: true });
    cron.nextRun(new Date(0));
  } catch (err) {
    const why = err instanceof Error ? err.message.replace(/^Cron\w*: /, '') : 'not a cron schedule';
    throw new ScheduleError('schedule', why.slice(0, 200));
  }
  return {
    latestAtOrBefore(atMs) {
      // croner leaves out a run exactly at the reference: look from 1 ms later.
      const [d] = cron.previousRuns(1, new Date(atMs + 1));
      return d ? d.getTime() : null;
    },
    nextAfter(afterMs) {
      return cron.nextRun(new Date(afterMs))?.getTime() ?? null;
    },
  };
}
