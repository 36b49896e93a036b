/**
 * How the transition function (transition.ts) makes a new execution: `accept` (an invoke: queued,
 * delayed until its time, or succeeded at once from the result cache) and `fire` (a trigger, a
 * retry: always async, always durable before it is acknowledged). Pure, like the rest of it.
 */
import { DEFAULT_PRIORITY, type Execution } from '../../common/records.js';
import type { Effect, ExecutionEvent, TransitionResult } from './transition-types.js';

const iso = (ms: number): string => new Date(ms).toISOString();

export function accept(event: Extract<ExecutionEvent, { type: 'accept' }>): TransitionResult {
  const e = event.execution;
  const record: Execution = {
    id: e.id,
    function: e.function,
    version: e.version,
    status: 'queued',
    mode: e.mode,
    input: e.input,
    output: null,
    error: null,
    attempt: 1,
    maxAttempts: e.maxAttempts,
    workerId: null,
    coldStart: null,
    createdAt: iso(event.nowMs),
    startedAt: null,
    finishedAt: null,
    durationMs: null,
    timings: null,
    placement: null,
    idempotencyKey: e.idempotencyKey,
    retryAt: null,
    attempts: [],
    scheduledFor: e.scheduledForMs != null ? iso(Math.max(e.scheduledForMs, event.nowMs)) : null,
    priority: e.priority ?? DEFAULT_PRIORITY,
    lease: null,
    trigger: e.trigger ?? null,
  };
  // Delayed: held until its time (no expiry yet, its maxQueueMs counts from then); else ready now.
  const delayed = e.scheduledForMs != null && e.scheduledForMs > event.nowMs;
  const start: Effect = delayed ? { type: 'arm-due', atMs: e.scheduledForMs! } : { type: 'enqueue' };
  if (e.cached) {
    const done: Execution = {
      ...record,
      status: 'succeeded',
      output: e.cached.output,
      cached: true,
      startedAt: record.createdAt,
      finishedAt: record.createdAt,
      durationMs: 0,
      timings: { queuedMs: 0, initMs: 0, runMs: 0, cpuMs: null },
    };
    const durable = e.mode === 'async';
    return { record: done, effects: [{ type: 'persist', durable }, { type: 'index', digest: e.digest }, { type: 'publish' }, { type: 'finish' }] };
  }
  // An async invoke is answered only once its record is durable; a sync one is acknowledged by its answer.
  return { record, effects: [{ type: 'persist', durable: e.mode === 'async' }, { type: 'index', digest: e.digest }, { type: 'publish' }, start] };
}

export function fire(event: Extract<ExecutionEvent, { type: 'fire' }>): TransitionResult {
  const { record, effects } = accept({ type: 'accept', nowMs: event.nowMs, execution: { ...event.execution, mode: 'async' } });
  // Nobody waits on a trigger's execution: it is acknowledged (a publish's 202, a cron tick
  // recorded as fired) only once durable, whatever the accept would have said.
  return {
    record: { ...record, trigger: event.trigger },
    effects: effects.map((e) => (e.type === 'persist' ? { type: 'persist', durable: true } : e)),
  };
}
