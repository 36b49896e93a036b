/**
 * Synthetic execution records for the store-scale scenario, written straight into a data dir in
 * the store's own format (data/README.md): `executions/<id>.json`, the Execution record of
 * common/records.ts, compact JSON with a trailing newline, as the store writes it (it once
 * pretty-printed; files of that form, about a third larger, made start-up look slower than it is). All are terminal and younger than
 * the 7-day retention, so start-up neither re-queues nor prunes them.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Execution, ExecutionStatus } from '../../common/records.js';

const WRITE_CONCURRENCY = 64;
/** Spread of createdAt, ms: the last 24 h. */
const SPREAD_MS = 24 * 3600 * 1000;

const statusFor = (i: number): ExecutionStatus => (i % 50 === 0 ? 'failed' : i % 199 === 0 ? 'timed_out' : i % 331 === 0 ? 'cancelled' : 'succeeded');

export function syntheticExecution(fn: string, i: number, now: number): Execution {
  const id = `ex_${randomBytes(16).toString('base64url').slice(0, 21)}`;
  const created = now - Math.floor(Math.random() * SPREAD_MS);
  const status = statusFor(i);
  const runMs = 1 + (i % 7);
  const workerId = `w_bench${i % 2}`;
  const iso = (t: number): string => new Date(t).toISOString();
  const error =
    status === 'succeeded'
      ? null
      : {
          code: status === 'timed_out' ? ('TIMEOUT' as const) : status === 'cancelled' ? ('CANCELLED' as const) : ('FUNCTION_ERROR' as const),
          message: 'synthetic',
        };
  return {
    id,
    function: fn,
    version: 1,
    status,
    mode: i % 3 === 0 ? 'sync' : 'async',
    input: { n: i },
    output: status === 'succeeded' ? { ok: true, echo: { n: i } } : null,
    error,
    attempt: 1,
    maxAttempts: 3,
    workerId,
    coldStart: false,
    createdAt: iso(created),
    startedAt: iso(created + 1),
    finishedAt: iso(created + 1 + runMs),
    durationMs: runMs,
    timings: { queuedMs: 1, initMs: 0, runMs },
    placement: { workerId, load: 0.25, warm: true, candidates: 2 },
    idempotencyKey: null,
    retryAt: null,
    attempts: [{ attempt: 1, workerId, startedAt: iso(created + 1), finishedAt: iso(created + 1 + runMs), errorCode: error?.code ?? null }],
    lease: null,
  };
}

/** Writes `count` records of `fn` into `<dataDir>/executions/`. */
export async function writeExecutions(dataDir: string, fn: string, count: number, offset = 0): Promise<void> {
  const dir = join(dataDir, 'executions');
  await mkdir(dir, { recursive: true });
  const now = Date.now();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const rec = syntheticExecution(fn, offset + next++, now);
      await writeFile(join(dir, `${rec.id}.json`), `${JSON.stringify(rec)}\n`);
    }
  };
  await Promise.all(Array.from({ length: WRITE_CONCURRENCY }, worker));
}

/**
 * A delayed execution not yet due: `queued` with `scheduledFor` between 1 h and 30 days ahead
 * (spread by `i`), created in the last 24 h. Start-up holds these in the due index, not the queue.
 */
export function syntheticDelayed(fn: string, i: number, now: number): Execution {
  const id = `ex_${randomBytes(16).toString('base64url').slice(0, 21)}`;
  const created = now - Math.floor(Math.random() * SPREAD_MS);
  const ahead = 3600_000 + ((i * 7919) % (29 * 24 * 3600)) * 1000;
  return {
    id,
    function: fn,
    version: 1,
    status: 'queued',
    mode: 'async',
    input: { n: i },
    output: null,
    error: null,
    attempt: 1,
    maxAttempts: 3,
    workerId: null,
    coldStart: null,
    createdAt: new Date(created).toISOString(),
    startedAt: null,
    finishedAt: null,
    durationMs: null,
    timings: null,
    placement: null,
    idempotencyKey: null,
    retryAt: null,
    attempts: [],
    scheduledFor: new Date(now + ahead).toISOString(),
    priority: (['critical', 'high', 'normal', 'low'] as const)[i % 4],
    lease: null,
  };
}

/** Writes `count` delayed (queued, not yet due) records of `fn` into `<dataDir>/executions/`. */
export async function writeDelayedExecutions(dataDir: string, fn: string, count: number, offset = 0): Promise<void> {
  const dir = join(dataDir, 'executions');
  await mkdir(dir, { recursive: true });
  const now = Date.now();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const rec = syntheticDelayed(fn, offset + next++, now);
      await writeFile(join(dir, `${rec.id}.json`), `${JSON.stringify(rec)}\n`);
    }
  };
  await Promise.all(Array.from({ length: WRITE_CONCURRENCY }, worker));
}
