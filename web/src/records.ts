/**
 * How the newer parts of the records read on the pages: what started an execution, whether it is
 * a dead letter, and times that may lie ahead (a cron's next tick, a circuit's retry). Pure.
 */
import type { Execution, ExecutionTrigger } from './types.js';

/** `invoke` for an HTTP invoke (no trigger), else the trigger's type (`topic`, `cron`, `retry`, …). */
export const triggerKind = (e: Pick<Execution, 'trigger'>): string => e.trigger?.type ?? 'invoke';

/** The trigger filter's choices: how it was invoked over HTTP (the record's `mode`), or what started it. */
export const TRIGGER_CHOICES: readonly { value: string; label: string }[] = [
  { value: 'sync', label: 'HTTP sync' },
  { value: 'async', label: 'HTTP async' },
  { value: 'invoke', label: 'invoke' },
  { value: 'topic', label: 'topic' },
  { value: 'cron', label: 'cron' },
  { value: 'retry', label: 'retry' },
];

/** The trigger filter: `sync` / `async` compare the mode, any other value the trigger's type. */
export function matchesTrigger(e: Pick<Execution, 'mode' | 'trigger'>, want: string): boolean {
  if (!want) return true;
  if (want === 'sync' || want === 'async') return e.mode === want;
  return triggerKind(e) === want;
}

const str = (v: unknown): string => (typeof v === 'string' ? v : v === undefined || v === null ? '' : JSON.stringify(v));

/** One line for a trigger (a retry's original is linked by the page, from `retryOf`). */
export function triggerText(t: ExecutionTrigger | null | undefined, mode: string): string {
  if (!t) return `HTTP ${mode}`;
  if (t.type === 'topic') return `topic ${str(t.topic)} (event ${str(t.eventId)})`;
  if (t.type === 'cron') return `cron tick ${str(t.tick)}`;
  if (t.type === 'retry') return 'retry of';
  return t.type;
}

/** The original execution a retry re-runs, or null. */
export const retryOf = (t: ExecutionTrigger | null | undefined): string | null => (t?.type === 'retry' && typeof t.of === 'string' ? t.of : null);

/**
 * A dead letter as the API counts one (docs/DEAD-LETTERS.md): async, failed or timed out for good.
 * A change stream shows a failed record only once its last attempt failed. Whether it was retried
 * the record does not say; the list is read again for that.
 */
export const isDeadLetter = (e: Pick<Execution, 'mode' | 'status'>): boolean => e.mode === 'async' && (e.status === 'failed' || e.status === 'timed_out');

/** `in 12 s` or `12 s ago`, from an ISO time and the clock. */
export function relative(iso: string | null | undefined, nowMs: number): string {
  if (!iso) return '—';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return '—';
  const d = Math.round((t - nowMs) / 1000);
  const a = Math.abs(d);
  const text = a < 60 ? `${a} s` : a < 3600 ? `${Math.floor(a / 60)} min` : a < 86_400 ? `${Math.floor(a / 3600)} h` : `${Math.floor(a / 86_400)} d`;
  return d > 0 ? `in ${text}` : `${text} ago`;
}

/** A circuit's state in words. */
export const circuitText = (state: string): string => (state === 'half_open' ? 'half open (one trial call)' : state);
