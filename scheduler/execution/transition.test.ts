import { describe, expect, it } from 'vitest';
import { EXECUTION_STATUSES, type ExecutionStatus } from '../../common/records.js';
import { T0 } from '../../common/testing/records.js';
import { POISON_CRASHES } from './retry-policy.js';
import {
  IllegalTransitionError,
  OUTCOMES,
  transition,
  type AttemptReport,
  type Effect,
  type ExecutionEvent,
  type ExecutionEventType,
  type RecordState,
} from './transition.js';
import { CTX, EVENTS, NOW, failure, inState, report } from './testing/transition-fixtures.js';

/** Where each legal pair leads with the representative event. */
const NEXT: Partial<Record<RecordState, Partial<Record<ExecutionEventType, ExecutionStatus>>>> = {
  none: { accept: 'queued', fire: 'queued' },
  queued: { dispatch: 'running', 'function-gone': 'failed', expire: 'failed', 'retry-due': 'queued', due: 'queued', cancel: 'cancelled' },
  running: { started: 'running', result: 'succeeded', lost: 'queued', cancel: 'cancelled', adopt: 'running' },
};

const types = (effects: Effect[]): string[] => effects.map((e) => e.type);

describe('every (state, event) pair', () => {
  const states: RecordState[] = ['none', ...EXECUTION_STATUSES];
  for (const state of states) {
    for (const type of Object.keys(EVENTS) as ExecutionEventType[]) {
      const outcome = OUTCOMES[state][type];
      it(`${type} in ${state}: ${outcome}`, () => {
        const rec = state === 'none' ? undefined : inState(state);
        const event = EVENTS[type];
        if (outcome === 'illegal') {
          expect(() => transition(rec, event, CTX)).toThrow(IllegalTransitionError);
          return;
        }
        const { record, effects } = transition(rec, event, CTX);
        if (outcome === 'ignore') {
          expect(record).toBe(rec);
          expect(effects).toEqual([]);
          return;
        }
        expect(record.status).toBe(NEXT[state]?.[type]);
        if (rec && record.status !== rec.status) expect(record).not.toBe(rec);
      });
    }
  }

  it('the table names every state and event, and terminal states accept nothing but stale timers and loss reports', () => {
    for (const s of EXECUTION_STATUSES.filter((x) => x !== 'queued' && x !== 'running')) {
      const legal = Object.entries(OUTCOMES[s]).filter(([, o]) => o === 'apply');
      expect(legal).toEqual([]);
    }
    for (const s of ['none', ...EXECUTION_STATUSES] as RecordState[]) expect(Object.keys(OUTCOMES[s]).sort()).toEqual(Object.keys(EVENTS).sort());
  });

  it('an illegal transition names the execution, the state and the event', () => {
    expect(() => transition(inState('succeeded'), EVENTS.dispatch, CTX)).toThrow('illegal transition of ex_1: dispatch in state succeeded');
  });
});

describe('dispatch', () => {
  it('opens an attempt, takes the lease and sends the Execute with its deadline and watchdog', () => {
    const rec = inState('queued', { retryAt: NOW, error: null });
    const { record, effects } = transition(rec, EVENTS.dispatch, CTX);
    expect(record).toMatchObject({ status: 'running', lease: 'lease-2', workerId: 'w_2', retryAt: null, startedAt: new Date(NOW).toISOString() });
    expect(record.attempts).toEqual([{ attempt: 1, workerId: 'w_2', startedAt: new Date(NOW).toISOString(), finishedAt: null, errorCode: null }]);
    expect(effects).toEqual([
      { type: 'clear-expiry' },
      { type: 'persist', durable: false },
      { type: 'publish' },
      { type: 'send-execute', workerId: 'w_2', lease: 'lease-2', deadlineMs: NOW + 1000, watchdogMs: 1000 + 30_000 },
    ]);
  });

  it('fails an execution whose function version is gone', () => {
    const { record, effects } = transition(inState('queued'), EVENTS['function-gone'], CTX);
    expect(record.error?.code).toBe('FUNCTION_DELETED');
    expect(types(effects)).toEqual(['persist', 'publish', 'finish']);
  });
});

describe('result', () => {
  const ev = (r: AttemptReport, jitter = 0.5): ExecutionEvent => ({ type: 'result', nowMs: NOW, report: r, queuedMs: 4, jitter });

  it('a success keeps the output and timings, closes the attempt and finishes', () => {
    const { record, effects } = transition(inState('running'), ev(report()), CTX);
    expect(record).toMatchObject({ status: 'succeeded', output: { n: 1 }, lease: null, durationMs: 12, coldStart: true, error: null });
    expect(record.timings).toEqual({ queuedMs: 4, initMs: 3, runMs: 12, cpuMs: 10 });
    expect(record.attempts?.[0]).toMatchObject({ finishedAt: new Date(NOW).toISOString(), errorCode: null });
    expect(types(effects)).toEqual(['persist', 'publish', 'finish']);
  });

  it('an async function error with attempts left is retried after the drawn full-jitter delay', () => {
    const { record, effects } = transition(inState('running'), ev(failure('FUNCTION_ERROR'), 0.5), CTX);
    // floor(0.5 · (min(60 s, 1 s · 2^0) + 1)) = 500 ms
    expect(record).toMatchObject({ status: 'queued', attempt: 2, lease: null, workerId: null, retryAt: NOW + 500, error: null });
    expect(record.attempts?.[0]?.errorCode).toBe('FUNCTION_ERROR');
    expect(effects).toContainEqual({ type: 'arm-retry', delayMs: 500 });
    expect(types(effects)).not.toContain('finish');
  });

  it('a sync function error is not retried; its error keeps name and stack', () => {
    const { record } = transition(inState('running', { mode: 'sync' }), ev(failure('FUNCTION_ERROR')), CTX);
    expect(record.status).toBe('failed');
    expect(record.error).toEqual({ code: 'FUNCTION_ERROR', message: 'boom', name: 'Error', stack: 'Error: boom' });
  });

  it("a function error keeps the thrown error's details; error.code stays FUNCTION_ERROR", () => {
    const details = { code: 'ENOENT', path: '/nope', retryable: false };
    const r = report({ ok: false, output: null, error: { code: 'FUNCTION_ERROR', message: 'boom', name: 'Error', details } });
    const { record } = transition(inState('running', { mode: 'sync' }), ev(r), CTX);
    expect(record.error).toEqual({ code: 'FUNCTION_ERROR', message: 'boom', name: 'Error', details });
  });

  it('a timeout on the last attempt ends timed_out', () => {
    const { record } = transition(inState('running', { attempt: 3 }), ev(failure('TIMEOUT')), CTX);
    expect(record.status).toBe('timed_out');
  });

  it('a refused attempt (WORKER_LOST in a result) is re-queued at once, not as a function failure', () => {
    const { record, effects } = transition(inState('running'), ev(failure('WORKER_LOST', 'draining')), CTX);
    expect(record).toMatchObject({ status: 'queued', attempt: 2, retryAt: null });
    expect(record.attempts?.[0]?.errorCode).toBe('WORKER_LOST');
    expect(types(effects)).toContain('enqueue');
  });

  it(`the ${POISON_CRASHES}nd crash of the same execution fails it as a poison pill, attempts left or not`, () => {
    const { record, effects } = transition(
      inState('running', { crashes: POISON_CRASHES - 1, maxAttempts: 10 }),
      ev(failure('OUT_OF_MEMORY', 'over 128 MB')),
      CTX,
    );
    expect(record.status).toBe('failed');
    expect(record.crashes).toBe(POISON_CRASHES);
    expect(record.error?.message).toContain('not retried');
    expect(effects).toContainEqual(expect.objectContaining({ type: 'log', message: 'poison pill: not retried' }));
  });

  it('an unparsed failure without an error is a sandbox crash', () => {
    const { record } = transition(inState('running', { mode: 'sync' }), ev(report({ ok: false, output: null, error: null })), CTX);
    expect(record.error?.code).toBe('SANDBOX_CRASH');
  });
});

describe('lost', () => {
  const ev = (workerDied: boolean): ExecutionEvent => ({ type: 'lost', nowMs: NOW, message: 'gone', workerDied, jitter: 0 });

  it('is re-queued at once while attempts remain', () => {
    const { record, effects } = transition(inState('running'), ev(false), CTX);
    expect(record).toMatchObject({ status: 'queued', attempt: 2, lease: null, workerId: null });
    expect(record.attempts?.[0]?.errorCode).toBe('WORKER_LOST');
    expect(types(effects)).toEqual(['persist', 'publish', 'enqueue', 'log']);
  });

  it('fails WORKER_LOST on the last attempt', () => {
    const { record } = transition(inState('running', { attempt: 3 }), ev(false), CTX);
    expect(record.error).toEqual({ code: 'WORKER_LOST', message: 'gone' });
  });

  it('a sync invoke is re-queued on WORKER_LOST at most once', () => {
    const earlier = { attempt: 1, workerId: 'w_0', startedAt: T0, finishedAt: T0, errorCode: 'WORKER_LOST' as const };
    const rec = inState('running', {
      mode: 'sync',
      attempt: 2,
      maxAttempts: 5,
      attempts: [earlier, { attempt: 2, workerId: 'w_1', startedAt: T0, finishedAt: null, errorCode: null }],
    });
    expect(transition(rec, ev(false), CTX).record.status).toBe('failed');
  });

  it('a worker that died under it twice makes it a poison pill', () => {
    const { record } = transition(inState('running', { crashes: 1, maxAttempts: 10 }), ev(true), CTX);
    expect(record).toMatchObject({ status: 'failed', crashes: 2 });
  });
});

describe('expire', () => {
  it('fails a queued execution at its deadline', () => {
    const at = Date.parse(T0) + 1_000;
    const { record, effects } = transition(inState('queued'), { type: 'expire', nowMs: at, maxQueueMs: 1_000 }, CTX);
    expect(record.error).toEqual({ code: 'EXPIRED', message: 'still queued after maxQueueMs (1000 ms)' });
    expect(record.finishedAt).toBe(new Date(at).toISOString());
    expect(types(effects)).toEqual(['log', 'persist', 'publish', 'finish']);
  });

  it('a timer that fires before the deadline (1 ms early by the wall clock) changes nothing and looks again at the deadline', () => {
    const rec = inState('queued');
    const deadline = Date.parse(T0) + 1_000;
    const { record, effects } = transition(rec, { type: 'expire', nowMs: deadline - 1, maxQueueMs: 1_000 }, CTX);
    expect(record).toBe(rec);
    expect(effects).toEqual([{ type: 'arm-expiry', atMs: deadline }]);
  });
});

describe('cancel, started, adopt, retry-due', () => {
  it('cancelling a running attempt asks its worker to kill it and closes the attempt', () => {
    const { record, effects } = transition(inState('running', { startedAt: T0 }), EVENTS.cancel, CTX);
    expect(record).toMatchObject({ status: 'cancelled', lease: null, error: { code: 'CANCELLED', message: 'cancelled by request' } });
    expect(record.attempts?.[0]?.errorCode).toBe('CANCELLED');
    expect(effects[0]).toEqual({ type: 'send-cancel', workerId: 'w_1', lease: 'lease-1' });
    // It keeps its timings: the queue time and how long it ran until the cancel.
    expect(record.timings).toEqual({ queuedMs: 7, initMs: 0, runMs: 5_000, cpuMs: null });
    expect(record.durationMs).toBe(5_000);
  });

  it('cancelling a queued execution sends nothing to a worker', () => {
    expect(types(transition(inState('queued'), EVENTS.cancel, CTX).effects)).toEqual(['persist', 'publish', 'finish']);
  });

  it('started records when and how the run began, without telling watchers', () => {
    const { record, effects } = transition(inState('running'), EVENTS.started, CTX);
    expect(record).toMatchObject({ startedAt: new Date(NOW - 1).toISOString(), coldStart: false });
    expect(effects).toEqual([{ type: 'persist', durable: false }]);
  });

  it('adopt by the worker it already names changes nothing; by another worker records it', () => {
    const rec = inState('running');
    expect(transition(rec, { type: 'adopt', workerId: 'w_1' }, CTX)).toEqual({ record: rec, effects: [] });
    expect(transition(rec, EVENTS.adopt, CTX).record.workerId).toBe('w_9');
  });

  it('a due retry queues the execution for dispatch', () => {
    expect(transition(inState('queued', { attempt: 2, retryAt: NOW }), EVENTS['retry-due'], CTX).effects).toEqual([{ type: 'enqueue' }]);
  });
});
