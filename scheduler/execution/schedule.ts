/**
 * When and how urgently an invoke runs: `at` / `delayMs` (a delayed invoke) and `priority`,
 * checked here for every control client (the gateway checks the same first, docs/QUEUEING.md).
 * The time is the scheduler's clock, so a delay means the same on every gateway.
 */
import { TaskForgeError } from '../../common/errors.js';
import { DEFAULT_PRIORITY, LIMITS, PRIORITIES, type InvokeMode, type Priority } from '../../common/records.js';

export interface ScheduleRequest {
  /** ms from now; 0 or absent: not delayed by a delay. */
  delayMs?: number;
  /** ISO 8601 time; empty or absent: none. A time already past runs now. */
  at?: string;
  /** empty or absent: normal. */
  priority?: string;
}

export interface Schedule {
  /** Epoch ms; null: ready at once. */
  scheduledForMs: number | null;
  priority: Priority;
}

const invalid = (field: string, reason: string, message: string, extra: Record<string, unknown> = {}): TaskForgeError =>
  new TaskForgeError('VALIDATION_ERROR', `${field}: ${message}`, { field, reason, ...extra });

/** Strict enough to refuse what Date.parse would guess at: a date and a time with a zone. */
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

export function resolveSchedule(req: ScheduleRequest, mode: InvokeMode, nowMs: number): Schedule {
  const priority = req.priority || DEFAULT_PRIORITY;
  if (!(PRIORITIES as readonly string[]).includes(priority)) {
    throw invalid('query.priority', 'enum', `must be one of ${PRIORITIES.join(', ')}`, { allowed: PRIORITIES });
  }
  const delayMs = req.delayMs ?? 0;
  const at = req.at ?? '';
  if (at !== '' && delayMs !== 0) throw invalid('query.at', 'conflict', 'give either at or delayMs, not both');
  if (!Number.isInteger(delayMs) || delayMs < 0 || delayMs > LIMITS.maxDelayMs) {
    throw invalid('query.delayMs', 'range', `must be an integer from 0 to ${LIMITS.maxDelayMs} (31 days)`, { max: LIMITS.maxDelayMs });
  }
  let scheduledForMs: number | null = null;
  if (at !== '') {
    const ms = ISO_TIME.test(at) ? Date.parse(at) : NaN;
    if (!Number.isFinite(ms)) throw invalid('query.at', 'invalid', 'must be an ISO 8601 time with a zone, e.g. 2030-01-01T12:00:00Z');
    if (ms - nowMs > LIMITS.maxDelayMs) throw invalid('query.at', 'range', 'must be at most 31 days ahead', { max: LIMITS.maxDelayMs });
    scheduledForMs = Math.max(ms, nowMs);
  } else if (delayMs > 0) scheduledForMs = nowMs + delayMs;
  if (scheduledForMs !== null && mode === 'sync') {
    // A sync caller would hold its connection open for up to 31 days: delayed means async.
    throw invalid(at !== '' ? 'query.at' : 'query.delayMs', 'not_applicable', 'a delayed invoke is async; drop mode=sync');
  }
  return { scheduledForMs, priority: priority as Priority };
}
