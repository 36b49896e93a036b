/**
 * Triggers in a FunctionSpec (docs/TOPICS.md, docs/CRON.md): their check, their canonical form,
 * and the one definition of whether an event matches a topic filter. The scheduler checks specs
 * here; the gateway's schema states the same bounds.
 */
import { parseSchedule, ScheduleError } from './cron-schedule.js';
import { TaskForgeError } from './errors.js';
import { MAX_JSON_DEPTH, jsonDeeperThan } from './json-depth.js';
import { isTopicName, TOPIC_NAME_RE } from './names.js';
import { LIMITS, type TriggerSpec } from './records.js';

function invalid(field: string, why: string, reason: string): TaskForgeError {
  return new TaskForgeError('VALIDATION_ERROR', `${field}: ${why}`, { field, reason });
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** JSON with object keys sorted: two values are equal JSON exactly when these texts are equal. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (isObject(value)) {
    const keys = Object.keys(value).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k])}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** A JSON value given in a trigger (filter, input): bounded in size and depth. */
function boundedJson(field: string, value: unknown): void {
  const text = JSON.stringify(value);
  if (text === undefined) throw invalid(field, 'must be JSON', 'type');
  if (Buffer.byteLength(text) > LIMITS.triggerJsonBytes) throw invalid(field, `at most ${LIMITS.triggerJsonBytes} bytes of JSON`, 'too_large');
  if (jsonDeeperThan(text, MAX_JSON_DEPTH)) throw invalid(field, `nests deeper than ${MAX_JSON_DEPTH} levels`, 'too_deep');
}

function normalizeOne(raw: unknown, i: number): TriggerSpec {
  const at = `triggers[${i}]`;
  if (!isObject(raw)) throw invalid(at, 'must be an object', 'type');
  const allowed = raw.type === 'topic' ? ['type', 'topic', 'filter'] : raw.type === 'cron' ? ['type', 'schedule', 'timezone', 'input'] : null;
  if (!allowed) throw invalid(`${at}.type`, "must be 'topic' or 'cron'", 'enum');
  for (const key of Object.keys(raw)) if (!allowed.includes(key)) throw invalid(`${at}.${key}`, 'unknown field', 'unknown_field');
  if (raw.type === 'topic') {
    if (!isTopicName(raw.topic)) throw invalid(`${at}.topic`, `must match ${TOPIC_NAME_RE.source}`, 'pattern');
    if (raw.filter === undefined) return { type: 'topic', topic: raw.topic };
    if (!isObject(raw.filter)) throw invalid(`${at}.filter`, 'must be an object of top-level fields and the values they must equal', 'type');
    boundedJson(`${at}.filter`, raw.filter);
    return { type: 'topic', topic: raw.topic, filter: raw.filter };
  }
  if (typeof raw.schedule !== 'string' || raw.schedule.length === 0 || raw.schedule.length > 256) {
    throw invalid(`${at}.schedule`, 'must be a cron schedule of at most 256 characters', 'type');
  }
  if (raw.timezone !== undefined && (typeof raw.timezone !== 'string' || raw.timezone.length > 64)) {
    throw invalid(`${at}.timezone`, 'must be an IANA timezone name', 'type');
  }
  try {
    parseSchedule(raw.schedule, raw.timezone);
  } catch (err) {
    if (err instanceof ScheduleError) throw invalid(`${at}.${err.field}`, err.message, err.field === 'schedule' ? 'schedule' : 'timezone');
    throw err;
  }
  if (raw.input !== undefined) boundedJson(`${at}.input`, raw.input);
  return {
    type: 'cron',
    schedule: raw.schedule,
    ...(raw.timezone !== undefined && { timezone: raw.timezone }),
    ...(raw.input !== undefined && { input: raw.input }),
  };
}

/** Checks `triggers` of a spec; absent is none. Throws VALIDATION_ERROR naming the field. */
export function normalizeTriggers(raw: unknown): TriggerSpec[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) throw invalid('triggers', 'must be an array', 'type');
  if (raw.length > LIMITS.triggers) throw invalid('triggers', `at most ${LIMITS.triggers}`, 'count');
  const out = raw.map(normalizeOne);
  const seen = new Set<string>();
  out.forEach((t, i) => {
    const key = canonicalJson(t);
    // Two equal triggers would start two executions per event or tick: surely a mistake.
    if (seen.has(key)) throw invalid(`triggers[${i}]`, 'duplicates an earlier trigger', 'duplicate');
    seen.add(key);
  });
  return out;
}

/** Whether an event (the subscriber's input) matches a filter: every named top-level field equals its value. */
export function matchesFilter(event: unknown, filter: Record<string, unknown> | undefined): boolean {
  if (!filter) return true;
  const keys = Object.keys(filter);
  if (keys.length === 0) return true;
  if (!isObject(event)) return false;
  return keys.every((k) => Object.prototype.hasOwnProperty.call(event, k) && canonicalJson(event[k]) === canonicalJson(filter[k]));
}

export const sameTriggers = (a: readonly TriggerSpec[] | undefined, b: readonly TriggerSpec[] | undefined): boolean =>
  canonicalJson(a ?? []) === canonicalJson(b ?? []);
