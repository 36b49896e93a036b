/**
 * CloudEvents 1.0 in structured mode (`application/cloudevents+json`): the check of an event a
 * client publishes. The required attributes are checked here first (the SDK would invent an `id`
 * and accept any `specversion`), then the `cloudevents` package validates the rest: attribute
 * names, `time`, `dataschema`, `data` against `data_base64`. The event itself is never changed.
 */
import { CloudEvent, ValidationError } from 'cloudevents';
import { TaskForgeError } from './errors.js';

const REQUIRED = ['id', 'source', 'type'] as const;

function refused(field: string, why: string): TaskForgeError {
  return new TaskForgeError('VALIDATION_ERROR', `${field}: ${why}`, { field, reason: 'cloudevent' });
}

/** Throws VALIDATION_ERROR (reason `cloudevent`, field `body.<attribute>`) unless `value` is a valid CloudEvent 1.0. */
export function checkCloudEvent(value: unknown): void {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw refused('body', 'a structured CloudEvent is a JSON object');
  const ev = value as Record<string, unknown>;
  if (ev.specversion !== '1.0') throw refused('body.specversion', "must be '1.0'");
  for (const name of REQUIRED) {
    const v = ev[name];
    if (typeof v !== 'string' || v.length === 0) throw refused(`body.${name}`, 'required non-empty string');
  }
  try {
    new CloudEvent(ev, true);
  } catch (err) {
    if (!(err instanceof ValidationError)) throw refused('body', 'not a valid CloudEvent');
    const first = (err.errors as Array<{ instancePath?: string; message?: string }> | undefined)?.[0];
    const path = first?.instancePath ? `body.${first.instancePath.replace(/^\//, '')}` : 'body';
    const why = (first?.message ?? err.message.split('\n')[0] ?? 'not a valid CloudEvent').slice(0, 200);
    throw refused(path, why);
  }
}
