/**
 * Fastify's validator compiler for the gateway: TypeBox's compiled checks instead of Ajv.
 *
 * Why not Fastify's default Ajv setup: it silently strips properties that
 * `additionalProperties: false` forbids (removeAdditional) and coerces body types, while the
 * API must reject an unknown field and a `"timeoutMs": "100"` by name. Here a JSON body is
 * checked exactly as sent; only the query string (always text) has its integer fields
 * converted ("50" → 50) before the check — strictly, unlike TypeBox's Value.Convert, which
 * would read "1.5", "1e3" and "true" as 1.
 *
 * A failure is a TaskForgeError VALIDATION_ERROR whose details list every bad field with its
 * path ("body.env.bad-key", "query.limit"), a reason word (FIELD_REASONS) and a message for
 * people; the first one is also `field` and `reason` at the top (errors.ts, "one details
 * shape"). This module never mutates a body.
 */
import type { FastifySchemaCompiler } from 'fastify';
import type { TSchema } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { ValueErrorType, type ValueError } from '@sinclair/typebox/errors';
import { TaskForgeError } from '../common/errors.js';

/**
 * The reason words of a field at fault. The schema's own come from TypeBox's error kinds; the
 * rest are checks the schema cannot express (json-body.ts, the routes).
 */
export const FIELD_REASONS = [
  'required',
  'unknown_field',
  'type',
  'enum',
  'range',
  'length',
  'pattern',
  'count',
  'duplicate',
  'invalid',
  'invalid_json',
  'too_deep',
  'too_large',
  'mismatch',
  'not_applicable',
] as const;
export type FieldReason = (typeof FIELD_REASONS)[number];

export interface FieldError {
  field: string;
  reason: FieldReason;
  /** For people: what is wrong with it ("must be <= 900000"). */
  message: string;
}

/** Enough to fix a request; a pathological body must not produce a megabyte of details. */
const MAX_REPORTED_ERRORS = 20;

const PART_PREFIX: Record<string, string> = { body: 'body', querystring: 'query', params: 'params', headers: 'headers' };

function fieldOf(prefix: string, pointer: string): string {
  if (pointer === '') return prefix;
  const segments = pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  return `${prefix}.${segments.join('.')}`;
}

const T = ValueErrorType;
const REASON_OF_KIND: ReadonlyMap<ValueErrorType, FieldReason> = new Map<ValueErrorType, FieldReason>([
  [T.ObjectRequiredProperty, 'required'],
  [T.Literal, 'enum'],
  [T.Object, 'type'],
  [T.Array, 'type'],
  [T.String, 'type'],
  [T.Number, 'type'],
  [T.Integer, 'type'],
  [T.Boolean, 'type'],
  [T.Null, 'type'],
  [T.NumberMinimum, 'range'],
  [T.NumberMaximum, 'range'],
  [T.NumberExclusiveMinimum, 'range'],
  [T.NumberExclusiveMaximum, 'range'],
  [T.NumberMultipleOf, 'range'],
  [T.IntegerMinimum, 'range'],
  [T.IntegerMaximum, 'range'],
  [T.IntegerExclusiveMinimum, 'range'],
  [T.IntegerExclusiveMaximum, 'range'],
  [T.IntegerMultipleOf, 'range'],
  [T.StringMinLength, 'length'],
  [T.StringMaxLength, 'length'],
  [T.StringPattern, 'pattern'],
  [T.StringFormat, 'pattern'],
  [T.ArrayMinItems, 'count'],
  [T.ArrayMaxItems, 'count'],
  [T.ObjectMinProperties, 'count'],
  [T.ObjectMaxProperties, 'count'],
  [T.ArrayUniqueItems, 'duplicate'],
]);

function reasonOf(e: ValueError): Pick<FieldError, 'reason' | 'message'> {
  const schema = e.schema as Record<string, unknown>;
  switch (e.type) {
    case ValueErrorType.ObjectAdditionalProperties: {
      const patterns = schema.patternProperties as Record<string, unknown> | undefined;
      return patterns
        ? { reason: 'pattern', message: `key must match ${Object.keys(patterns).join(' or ')}` }
        : { reason: 'unknown_field', message: 'unknown field' };
    }
    case ValueErrorType.ObjectRequiredProperty:
      return { reason: 'required', message: 'is required' };
    case ValueErrorType.Literal:
      return { reason: 'enum', message: `must be ${JSON.stringify(schema.const)}` };
    case ValueErrorType.Union: {
      const options = (schema.anyOf as Array<Record<string, unknown>> | undefined) ?? [];
      if (options.length > 0 && options.every((o) => 'const' in o)) {
        return { reason: 'enum', message: `must be one of: ${options.map((o) => String(o.const)).join(', ')}` };
      }
      return { reason: 'type', message: e.message };
    }
    default:
      return { reason: REASON_OF_KIND.get(e.type) ?? 'invalid', message: e.message };
  }
}

const jsonTypeOf = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v === 'number' ? 'number' : typeof v);

/**
 * The errors of the one option of a failed union whose type is the value's (`null | {}` sent an
 * object with a field: that field is the problem, not "the union"), or undefined.
 */
function matchingOption(e: ValueError): Iterable<ValueError> | undefined {
  if (e.type !== ValueErrorType.Union) return undefined;
  const options = ((e.schema as Record<string, unknown>).anyOf as Array<Record<string, unknown>> | undefined) ?? [];
  const kind = jsonTypeOf(e.value);
  const matches = options.flatMap((o, i) => (o.type === kind || (kind === 'number' && o.type === 'integer') ? [i] : []));
  return matches.length === 1 ? e.errors[matches[0]!] : undefined;
}

/** The first problem per field, in schema order; at most MAX_REPORTED_ERRORS. */
export function collectFieldErrors(prefix: string, errors: Iterable<ValueError>): FieldError[] {
  const seen = new Set<string>();
  const out: FieldError[] = [];
  const flat = function* (list: Iterable<ValueError>): Generator<ValueError> {
    for (const e of list) {
      const inner = matchingOption(e);
      if (inner) yield* flat(inner);
      else yield e;
    }
  };
  for (const e of flat(errors)) {
    const field = fieldOf(prefix, e.path);
    if (seen.has(field)) continue;
    seen.add(field);
    out.push({ field, ...reasonOf(e) });
    if (out.length >= MAX_REPORTED_ERRORS) break;
  }
  return out;
}

/** VALIDATION_ERROR for `errors` (at least one): the first is also the details' field and reason. */
export function schemaError(errors: FieldError[], extra: Record<string, unknown> = {}, summary?: string): TaskForgeError {
  const first = errors[0] ?? { field: 'request', reason: 'invalid', message: 'is invalid' };
  const more = errors.length > 1 ? ` (and ${errors.length - 1} more)` : '';
  return new TaskForgeError('VALIDATION_ERROR', summary ?? `${first.field}: ${first.message}${more}`, {
    field: first.field,
    reason: first.reason,
    ...extra,
    errors: errors.length > 0 ? errors : [first],
  });
}

/**
 * VALIDATION_ERROR about one field, for checks a schema cannot express. The error's message is
 * `<field>: <message>` unless `summary` says otherwise.
 */
export const validationError = (field: string, reason: FieldReason, message: string, extra: Record<string, unknown> = {}, summary?: string): TaskForgeError =>
  schemaError([{ field, reason, message }], extra, summary);

/** Decimal integers only; anything else stays a string and fails the integer check. */
const INTEGER_TEXT = /^-?\d{1,15}$/;

/** The query-string properties whose schema is an integer (query schemas here are flat objects). */
function integerFields(schema: TSchema): string[] {
  const props = (schema as { properties?: Record<string, { type?: unknown }> }).properties ?? {};
  return Object.keys(props).filter((k) => props[k]!.type === 'integer');
}

function convertQuery(data: unknown, fields: string[]): unknown {
  if (fields.length === 0 || data === null || typeof data !== 'object') return data;
  const out: Record<string, unknown> = { ...(data as Record<string, unknown>) };
  for (const f of fields) {
    const v = out[f];
    if (typeof v === 'string' && INTEGER_TEXT.test(v)) out[f] = Number(v);
  }
  return out;
}

export const typeboxValidatorCompiler: FastifySchemaCompiler<TSchema> = ({ schema, httpPart }) => {
  const check = TypeCompiler.Compile(schema);
  const prefix = PART_PREFIX[httpPart ?? ''] ?? httpPart ?? 'request';
  // Only the query string is handed back converted: a body must stay as sent, and Fastify's
  // params/headers objects are left in place (their values are strings in every schema here).
  const convert = httpPart === 'querystring';
  const ints = convert ? integerFields(schema) : [];
  return (data: unknown) => {
    const value = convert ? convertQuery(data, ints) : data;
    if (check.Check(value)) return convert ? { value } : true;
    return { error: schemaError(collectFieldErrors(prefix, check.Errors(value))) };
  };
};
