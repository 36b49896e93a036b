/**
 * FunctionSpec: defaults, bounds and equality. The gateway checks the same bounds with its
 * TypeBox schema; the scheduler checks again here because the gRPC port is an API too.
 * It must never accept a spec the HTTP contract would refuse.
 */
import { createHash } from 'node:crypto';
import { normalizeDestination } from './destination.js';
import { TaskForgeError } from './errors.js';
import { ENV_KEY_RE, HANDLER_RE } from './names.js';
import { normalizeTriggers, sameTriggers } from './triggers.js';
import { FUNCTION_DEFAULTS, LIMITS, type CircuitBreakerSpec, type FunctionSpec } from './records.js';

const INT_BOUNDS = {
  timeoutMs: [100, 900_000],
  memoryMb: [16, 4096],
  maxRetries: [0, 10],
  concurrency: [0, 10_000],
  maxQueueMs: [1_000, 604_800_000],
} as const;

const KNOWN = new Set([
  'code',
  'handler',
  'runtime',
  'timeoutMs',
  'memoryMb',
  'maxRetries',
  'concurrency',
  'maxQueueMs',
  'env',
  'description',
  'triggers',
  'name',
  'circuitBreaker',
  'cacheTtlMs',
  'onSuccess',
  'onFailure',
]);

/** The circuit breaker's settings: bounds and the defaults of a field left out. */
export const CIRCUIT_BOUNDS = {
  failureThreshold: [1, 1000, 5],
  windowMs: [1_000, 86_400_000, 60_000],
  cooldownMs: [1_000, 86_400_000, 30_000],
} as const;
/** Longest a result may be reused: a day. */
export const MAX_CACHE_TTL_MS = 86_400_000;

/** `reason` is the details' word (docs/API.md, "Errors"); `why` is said in the message. */
function invalid(field: string, why: string, reason: string): TaskForgeError {
  return new TaskForgeError('VALIDATION_ERROR', `${field}: ${why}`, { field, reason });
}

/**
 * Applies defaults and checks every bound; throws VALIDATION_ERROR / PAYLOAD_TOO_LARGE. `self`:
 * the function's name, when known (a destination may not name it).
 */
export function normalizeSpec(raw: unknown, self?: string): FunctionSpec {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw invalid('body', 'must be an object', 'type');
  const r = raw as Record<string, unknown>;
  for (const key of Object.keys(r)) if (!KNOWN.has(key)) throw invalid(key, 'unknown field', 'unknown_field');
  if (typeof r.code !== 'string' || r.code.length === 0) throw invalid('code', 'required string', 'required');
  if (Buffer.byteLength(r.code) > LIMITS.codeBytes) {
    throw new TaskForgeError('PAYLOAD_TOO_LARGE', `code exceeds ${LIMITS.codeBytes} bytes`, {
      field: 'code',
      reason: 'too_large',
      limitBytes: LIMITS.codeBytes,
    });
  }
  const handler = r.handler ?? FUNCTION_DEFAULTS.handler;
  if (typeof handler !== 'string' || !HANDLER_RE.test(handler)) throw invalid('handler', 'must be an identifier', 'pattern');
  const runtime = r.runtime ?? FUNCTION_DEFAULTS.runtime;
  if (runtime !== 'nodejs') throw invalid('runtime', "must be 'nodejs'", 'enum');
  const ints = {} as Record<keyof typeof INT_BOUNDS, number>;
  for (const [field, [min, max]] of Object.entries(INT_BOUNDS) as [keyof typeof INT_BOUNDS, readonly [number, number]][]) {
    const v = r[field] ?? FUNCTION_DEFAULTS[field];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw invalid(field, `must be an integer in ${min}…${max}`, 'range');
    ints[field] = v;
  }
  const env = normalizeEnv(r.env ?? {});
  const description = r.description ?? '';
  if (typeof description !== 'string' || description.length > 256) throw invalid('description', 'must be a string of at most 256 characters', 'length');
  const circuitBreaker = normalizeCircuitBreaker(r.circuitBreaker);
  const cacheTtlMs = r.cacheTtlMs ?? 0;
  if (typeof cacheTtlMs !== 'number' || !Number.isInteger(cacheTtlMs) || cacheTtlMs < 0 || cacheTtlMs > MAX_CACHE_TTL_MS)
    throw invalid('cacheTtlMs', `must be an integer in 0…${MAX_CACHE_TTL_MS}`, 'range');
  const triggers = normalizeTriggers(r.triggers);
  const onSuccess = normalizeDestination('onSuccess', r.onSuccess, self);
  const onFailure = normalizeDestination('onFailure', r.onFailure, self);
  // Left out when off, so versions stored before these existed compare equal to a spec without them.
  return {
    code: r.code,
    handler,
    runtime,
    ...ints,
    env,
    description,
    ...(triggers.length > 0 && { triggers }),
    ...(circuitBreaker && { circuitBreaker }),
    ...(cacheTtlMs > 0 && { cacheTtlMs }),
    ...(onSuccess && { onSuccess }),
    ...(onFailure && { onFailure }),
  };
}

function normalizeCircuitBreaker(raw: unknown): CircuitBreakerSpec | null {
  if (raw === undefined || raw === null) return null;
  if (typeof raw !== 'object' || Array.isArray(raw)) throw invalid('circuitBreaker', 'must be an object or null', 'type');
  const r = raw as Record<string, unknown>;
  for (const key of Object.keys(r)) if (!(key in CIRCUIT_BOUNDS)) throw invalid(`circuitBreaker.${key}`, 'unknown field', 'unknown_field');
  const out = {} as CircuitBreakerSpec;
  for (const [field, [min, max, def]] of Object.entries(CIRCUIT_BOUNDS) as [keyof CircuitBreakerSpec, readonly [number, number, number]][]) {
    const v = r[field] ?? def;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
      throw invalid(`circuitBreaker.${field}`, `must be an integer in ${min}…${max}`, 'range');
    out[field] = v;
  }
  return out;
}

function normalizeEnv(env: unknown): Record<string, string> {
  if (!env || typeof env !== 'object' || Array.isArray(env)) throw invalid('env', 'must be an object of strings', 'type');
  const entries = Object.entries(env as Record<string, unknown>);
  if (entries.length > LIMITS.envKeys) throw invalid('env', `at most ${LIMITS.envKeys} keys`, 'count');
  let bytes = 0;
  const out: Record<string, string> = {};
  for (const [k, v] of entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (!ENV_KEY_RE.test(k)) throw invalid(`env.${k}`, `key must match ${ENV_KEY_RE.source}`, 'pattern');
    if (typeof v !== 'string') throw invalid(`env.${k}`, 'value must be a string', 'type');
    bytes += Buffer.byteLength(k) + Buffer.byteLength(v);
    out[k] = v;
  }
  if (bytes > LIMITS.envBytes) throw invalid('env', `at most ${LIMITS.envBytes} bytes`, 'too_large');
  return out;
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** True when two specs would run identically (so a PUT creates no new version). */
export function sameSpec(a: FunctionSpec, b: FunctionSpec): boolean {
  return (
    a.code === b.code &&
    a.handler === b.handler &&
    a.runtime === b.runtime &&
    a.timeoutMs === b.timeoutMs &&
    a.memoryMb === b.memoryMb &&
    a.maxRetries === b.maxRetries &&
    a.concurrency === b.concurrency &&
    a.maxQueueMs === b.maxQueueMs &&
    a.description === b.description &&
    JSON.stringify(a.env) === JSON.stringify(b.env) &&
    JSON.stringify(a.circuitBreaker ?? null) === JSON.stringify(b.circuitBreaker ?? null) &&
    (a.cacheTtlMs ?? 0) === (b.cacheTtlMs ?? 0) &&
    sameTriggers(a.triggers, b.triggers) &&
    JSON.stringify(a.onSuccess ?? null) === JSON.stringify(b.onSuccess ?? null) &&
    JSON.stringify(a.onFailure ?? null) === JSON.stringify(b.onFailure ?? null)
  );
}
