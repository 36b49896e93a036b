import { describe, expect, it } from 'vitest';
import { TaskForgeError } from './errors.js';
import { normalizeSpec, sameSpec } from './function-spec.js';
import { canonicalJson, matchesFilter, normalizeTriggers } from './triggers.js';

const refusal = (raw: unknown): { field?: unknown; reason?: unknown } => {
  try {
    normalizeTriggers(raw);
  } catch (err) {
    expect(err).toBeInstanceOf(TaskForgeError);
    expect((err as TaskForgeError).code).toBe('VALIDATION_ERROR');
    return (err as TaskForgeError).details;
  }
  throw new Error('accepted');
};

describe('triggers in a FunctionSpec', () => {
  it('accepts topic and cron triggers, keeping only what was given', () => {
    expect(
      normalizeTriggers([
        { type: 'topic', topic: 'orders.created', filter: { region: 'eu' } },
        { type: 'topic', topic: 'a' },
        { type: 'cron', schedule: '*/5 * * * *' },
        { type: 'cron', schedule: '*/10 * * * * *', timezone: 'Europe/Paris', input: { x: 1 } },
        { type: 'cron', schedule: '@daily' },
      ]),
    ).toEqual([
      { type: 'topic', topic: 'orders.created', filter: { region: 'eu' } },
      { type: 'topic', topic: 'a' },
      { type: 'cron', schedule: '*/5 * * * *' },
      { type: 'cron', schedule: '*/10 * * * * *', timezone: 'Europe/Paris', input: { x: 1 } },
      { type: 'cron', schedule: '@daily' },
    ]);
    expect(normalizeTriggers(undefined)).toEqual([]);
  });

  it('names the field and the reason of each refusal', () => {
    expect(refusal({})).toMatchObject({ field: 'triggers', reason: 'type' });
    expect(refusal(Array.from({ length: 17 }, (_, i) => ({ type: 'topic', topic: `t${i}` })))).toMatchObject({ field: 'triggers', reason: 'count' });
    expect(refusal([{ type: 'http' }])).toMatchObject({ field: 'triggers[0].type', reason: 'enum' });
    expect(refusal([{ type: 'topic', topic: 'Bad_Name' }])).toMatchObject({ field: 'triggers[0].topic', reason: 'pattern' });
    expect(refusal([{ type: 'topic', topic: 'a', filter: [1] }])).toMatchObject({ field: 'triggers[0].filter', reason: 'type' });
    expect(refusal([{ type: 'topic', topic: 'a', extra: 1 }])).toMatchObject({ field: 'triggers[0].extra', reason: 'unknown_field' });
    expect(refusal([{ type: 'topic', topic: 'a', filter: { big: 'x'.repeat(20_000) } }])).toMatchObject({ reason: 'too_large' });
    expect(refusal([{ type: 'cron', schedule: '* * * *' }])).toMatchObject({ field: 'triggers[0].schedule', reason: 'schedule' });
    expect(refusal([{ type: 'cron', schedule: '61 * * * *' }])).toMatchObject({ field: 'triggers[0].schedule', reason: 'schedule' });
    expect(refusal([{ type: 'cron', schedule: '* * * * * * *' }])).toMatchObject({ field: 'triggers[0].schedule', reason: 'schedule' });
    expect(refusal([{ type: 'cron', schedule: 7 }])).toMatchObject({ field: 'triggers[0].schedule', reason: 'type' });
    expect(refusal([{ type: 'cron', schedule: '* * * * *', timezone: 'Mars/Olympus' }])).toMatchObject({ field: 'triggers[0].timezone', reason: 'timezone' });
    expect(
      refusal([
        { type: 'topic', topic: 'a' },
        { type: 'topic', topic: 'a' },
      ]),
    ).toMatchObject({ field: 'triggers[1]', reason: 'duplicate' });
  });

  it('a spec with other triggers is another version; the same ones in another key order are not', () => {
    const a = normalizeSpec({ code: 'x', triggers: [{ type: 'topic', topic: 't', filter: { a: 1, b: 2 } }] });
    const b = normalizeSpec({ code: 'x', triggers: [{ type: 'topic', topic: 't', filter: { b: 2, a: 1 } }] });
    const c = normalizeSpec({ code: 'x' });
    expect(sameSpec(a, b)).toBe(true);
    expect(sameSpec(a, c)).toBe(false);
    expect(c.triggers).toBeUndefined();
  });
});

describe('filters', () => {
  it('match when every named top-level field equals its value as JSON', () => {
    expect(matchesFilter({ a: 1, b: { c: [1, 2] }, z: 0 }, { a: 1, b: { c: [1, 2] } })).toBe(true);
    expect(matchesFilter({ a: 1 }, { a: '1' })).toBe(false);
    expect(matchesFilter({ a: null }, { a: null })).toBe(true);
    expect(matchesFilter({}, { a: null })).toBe(false);
    expect(matchesFilter('text', { a: 1 })).toBe(false);
    expect(matchesFilter('text', undefined)).toBe(true);
    expect(matchesFilter(null, {})).toBe(true);
  });
  it('canonical JSON ignores key order only', () => {
    expect(canonicalJson({ b: 1, a: [{ d: 1, c: 2 }] })).toBe('{"a":[{"c":2,"d":1}],"b":1}');
  });
});
