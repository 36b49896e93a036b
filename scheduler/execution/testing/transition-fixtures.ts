/**
 * Test-only fixtures of the transition function's tests: a context, a clock reading, records in
 * each state (frozen all the way down) and one representative event of each type.
 */
import type { Execution, ExecutionStatus } from '../../../common/records.js';
import { T0, sampleExecution } from '../../../common/testing/records.js';
import type { AttemptReport, ExecutionEvent, ExecutionEventType, TransitionContext } from '../transition.js';

export const CTX: TransitionContext = { retryPolicy: { baseMs: 1000, capMs: 60_000 }, watchdogSlackMs: 30_000 };
export const NOW = Date.parse(T0) + 5_000;

/** Records are frozen all the way down: a transition that touched its input would throw here. */
export function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

export function inState(status: ExecutionStatus, over: Partial<Execution> = {}): Execution {
  const running = status === 'running';
  return deepFreeze(
    sampleExecution({
      id: 'ex_1',
      function: 'f',
      status,
      createdAt: T0,
      lease: running ? 'lease-1' : null,
      workerId: running ? 'w_1' : null,
      attempts: running ? [{ attempt: 1, workerId: 'w_1', startedAt: T0, finishedAt: null, errorCode: null }] : [],
      error: status === 'failed' ? { code: 'FUNCTION_ERROR', message: 'x' } : null,
      retryAt: null,
      ...over,
    }),
  );
}

export function report(over: Partial<AttemptReport> = {}): AttemptReport {
  return { ok: true, output: { n: 1 }, error: null, durationMs: 12, initMs: 3, cpuMs: 10, coldStart: true, startedAtMs: NOW - 12, finishedAtMs: NOW, ...over };
}

export const failure = (code: string, message = 'boom'): AttemptReport =>
  report({ ok: false, output: null, error: { code, message, name: 'Error', stack: 'Error: boom' } });

/** One representative event of each type. */
export const EVENTS: Record<ExecutionEventType, ExecutionEvent> = {
  accept: {
    type: 'accept',
    nowMs: NOW,
    execution: { id: 'ex_new', function: 'f', version: 1, mode: 'async', input: { a: 1 }, maxAttempts: 3, idempotencyKey: null },
  },
  fire: {
    type: 'fire',
    nowMs: NOW,
    trigger: { type: 'topic', topic: 'orders.created', eventId: 'evt_1' },
    execution: { id: 'ex_fired', function: 'f', version: 1, mode: 'async', input: { a: 1 }, maxAttempts: 3, idempotencyKey: null },
  },
  dispatch: {
    type: 'dispatch',
    nowMs: NOW,
    lease: 'lease-2',
    workerId: 'w_2',
    placement: { workerId: 'w_2', load: 0, warm: false, candidates: 1 },
    timeoutMs: 1000,
  },
  'function-gone': { type: 'function-gone', nowMs: NOW },
  started: { type: 'started', nowMs: NOW, startedAtMs: NOW - 1, coldStart: false },
  result: { type: 'result', nowMs: NOW, report: report(), queuedMs: 4, jitter: 0.5 },
  lost: { type: 'lost', nowMs: NOW, message: 'worker w_1 was lost', workerDied: true, jitter: 0.5 },
  expire: { type: 'expire', nowMs: NOW, maxQueueMs: 1_000 },
  'retry-due': { type: 'retry-due', nowMs: NOW },
  due: { type: 'due', nowMs: NOW },
  cancel: { type: 'cancel', nowMs: NOW, queuedMs: 7 },
  adopt: { type: 'adopt', workerId: 'w_9' },
};
