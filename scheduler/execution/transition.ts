/**
 * Where every change of an execution is decided: one pure function,
 *
 *   transition(record, event, context) → { record, effects }
 *
 * It reads the record as it is and an event (accepted, dispatched, started, a result, a lost
 * attempt, a timer that fired, a cancel, an adoption) and answers with the record as it must be
 * next — a new object, the input is never touched — and the effects that must follow (persist,
 * publish, wake waiters, queue, arm a timer, send to a worker, log). No clock, no randomness, no
 * I/O: the time and the retry jitter are part of the event. `ExecutionState.apply` (state.ts) is
 * the one place that applies the answer and runs the effects. Its events, effects and the fields
 * of a new record are in transition-types.ts; how a new record is made (accept, fire) in
 * transition-accept.ts.
 *
 *   (none)  → queued                     accept (ready, or delayed until scheduledFor), fire (a topic
 *                                        event or a cron tick started it)
 *   queued  → queued                     due (a delayed one's time has come: it joins the queue)
 *   queued  → running                    dispatch
 *   queued  → failed                     expire (past maxQueueMs), function-gone
 *   queued  → cancelled                  cancel
 *   running → succeeded | failed | timed_out | queued (retry)   result
 *   running → queued | failed            lost (worker lost, refused, watchdog)
 *   running → cancelled                  cancel
 *   running → running                    started, adopt
 *
 * Each (state, event) pair is `apply`, `ignore` (a timer or a loss report that arrived after the
 * execution moved on: stale by nature, no change, no effect) or `illegal` (a caller's bug: it
 * throws, because silently accepting it is how executions end twice). OUTCOMES lists them all.
 */
import { queueStartMs, type AttemptRecord, type Execution, type ExecutionError, type ExecutionErrorCode, type ExecutionStatus } from '../../common/records.js';
import { REASON } from '../../common/logger.js';
import { decideRetry, poisonMessage, type AttemptEnd } from './retry-policy.js';
import { accept, fire } from './transition-accept.js';
import type { Effect, ExecutionEvent, ExecutionEventType, Outcome, RecordState, TransitionContext, TransitionResult } from './transition-types.js';

export type {
  AttemptReport,
  Effect,
  ExecutionEvent,
  ExecutionEventType,
  NewExecution,
  Outcome,
  RecordState,
  TransitionContext,
  TransitionResult,
} from './transition-types.js';

export class IllegalTransitionError extends Error {
  constructor(
    readonly executionId: string,
    readonly from: RecordState,
    readonly event: ExecutionEventType,
  ) {
    super(`illegal transition of ${executionId}: ${event} in state ${from}`);
    this.name = 'IllegalTransitionError';
  }
}

const TERMINAL = {
  accept: 'illegal',
  fire: 'illegal',
  dispatch: 'illegal',
  'function-gone': 'illegal',
  started: 'illegal',
  result: 'illegal',
  lost: 'ignore',
  expire: 'ignore',
  'retry-due': 'ignore',
  due: 'ignore',
  cancel: 'illegal',
  adopt: 'illegal',
} as const;

/** Every (state, event) pair and what it does. */
export const OUTCOMES: Readonly<Record<RecordState, Readonly<Record<ExecutionEventType, Outcome>>>> = {
  none: {
    accept: 'apply',
    fire: 'apply',
    dispatch: 'illegal',
    'function-gone': 'illegal',
    started: 'illegal',
    result: 'illegal',
    lost: 'illegal',
    expire: 'illegal',
    'retry-due': 'illegal',
    due: 'illegal',
    cancel: 'illegal',
    adopt: 'illegal',
  },
  queued: {
    accept: 'illegal',
    fire: 'illegal',
    dispatch: 'apply',
    'function-gone': 'apply',
    started: 'illegal',
    result: 'illegal',
    lost: 'ignore',
    expire: 'apply',
    'retry-due': 'apply',
    due: 'apply',
    cancel: 'apply',
    adopt: 'illegal',
  },
  running: {
    accept: 'illegal',
    fire: 'illegal',
    dispatch: 'illegal',
    'function-gone': 'illegal',
    started: 'apply',
    result: 'apply',
    lost: 'apply',
    expire: 'ignore',
    'retry-due': 'ignore',
    due: 'ignore',
    cancel: 'apply',
    adopt: 'apply',
  },
  succeeded: TERMINAL,
  failed: TERMINAL,
  timed_out: TERMINAL,
  cancelled: TERMINAL,
};

// One transition often stamps several fields with the same instant, and a busy scheduler many
// records within one ms: the last conversion is kept (toISOString was ~2 % of its main thread).
let isoMs = NaN;
let isoText = '';
const iso = (ms: number): string => {
  if (ms !== isoMs) {
    isoText = new Date(ms).toISOString();
    isoMs = ms;
  }
  return isoText;
};

/** Statuses in which `error` means nothing. */
const NO_ERROR: ReadonlySet<ExecutionStatus> = new Set(['queued', 'running', 'succeeded']);

function next(rec: Execution, status: ExecutionStatus, patch: Partial<Execution>): Execution {
  const out: Execution = { ...rec, ...patch, status };
  if (NO_ERROR.has(status)) out.error = null;
  return out;
}

/** The attempts list with the open (last) attempt closed. */
function closeAttempt(rec: Execution, finishedAt: string, code: ExecutionErrorCode | null): AttemptRecord[] {
  const attempts = rec.attempts ?? [];
  const last = attempts[attempts.length - 1];
  if (!last || last.finishedAt !== null) return attempts;
  return [...attempts.slice(0, -1), { ...last, finishedAt, errorCode: code }];
}

const TERMINAL_EFFECTS: Effect[] = [{ type: 'persist', durable: false }, { type: 'publish' }, { type: 'finish' }];
const terminal = (record: Execution, extra: Effect[] = []): TransitionResult => ({ record, effects: [...extra, ...TERMINAL_EFFECTS] });

export function transition(rec: Execution | undefined, event: ExecutionEvent, ctx: TransitionContext): TransitionResult {
  const from: RecordState = rec ? rec.status : 'none';
  const outcome = OUTCOMES[from][event.type];
  const id = rec?.id ?? (event.type === 'accept' || event.type === 'fire' ? event.execution.id : '(none)');
  if (outcome === 'illegal') throw new IllegalTransitionError(id, from, event.type);
  if (outcome === 'ignore') return { record: rec!, effects: [] };
  if (event.type === 'accept') return accept(event);
  if (event.type === 'fire') return fire(event);
  const r = rec!;
  switch (event.type) {
    case 'dispatch': {
      const attempts = [
        ...(r.attempts ?? []),
        { attempt: r.attempt, workerId: event.workerId, startedAt: iso(event.nowMs), finishedAt: null, errorCode: null },
      ];
      const record = next(r, 'running', {
        lease: event.lease,
        workerId: event.workerId,
        placement: event.placement,
        startedAt: iso(event.nowMs),
        retryAt: null,
        attempts,
      });
      return {
        record,
        effects: [
          { type: 'clear-expiry' },
          { type: 'persist', durable: false },
          { type: 'publish' },
          {
            type: 'send-execute',
            workerId: event.workerId,
            lease: event.lease,
            deadlineMs: event.nowMs + event.timeoutMs,
            watchdogMs: event.timeoutMs + ctx.watchdogSlackMs,
          },
        ],
      };
    }
    case 'function-gone':
      return terminal(
        next(r, 'failed', {
          error: { code: 'FUNCTION_DELETED', message: `function '${r.function}' version ${r.version} no longer exists` },
          finishedAt: iso(event.nowMs),
          lease: null,
          retryAt: null,
        }),
      );
    case 'started':
      return {
        record: next(r, 'running', { startedAt: iso(event.startedAtMs || event.nowMs), coldStart: event.coldStart }),
        effects: [{ type: 'persist', durable: false }],
      };
    case 'result':
      return result(r, event, ctx);
    case 'lost':
      return lost(r, event.nowMs, event.message, event.workerDied, event.jitter, ctx);
    case 'expire': {
      // A delayed execution's wait counts from its scheduled time.
      const deadline = queueStartMs(r) + event.maxQueueMs;
      // Timers may fire a millisecond before the wall clock reaches the deadline: not yet, look again then.
      if (event.nowMs < deadline) return { record: r, effects: [{ type: 'arm-expiry', atMs: deadline }] };
      return terminal(
        next(r, 'failed', {
          error: { code: 'EXPIRED', message: `still queued after maxQueueMs (${event.maxQueueMs} ms)` },
          finishedAt: iso(event.nowMs),
          lease: null,
          retryAt: null,
        }),
        [
          {
            type: 'log',
            level: 'warn',
            fields: { executionId: r.id, maxQueueMs: event.maxQueueMs, reason: REASON.expired },
            message: 'expired before it could run',
          },
        ],
      );
    }
    case 'retry-due':
      return { record: r, effects: [{ type: 'enqueue' }] };
    case 'due': {
      const atMs = r.scheduledFor ? Date.parse(r.scheduledFor) : event.nowMs;
      if (event.nowMs < atMs) return { record: r, effects: [{ type: 'arm-due', atMs }] };
      return { record: r, effects: [{ type: 'enqueue' }] };
    }
    case 'cancel': {
      const finishedAt = iso(event.nowMs);
      const running = r.status === 'running';
      const attempts = running ? closeAttempt(r, finishedAt, 'CANCELLED') : r.attempts;
      // What is known of the run at this moment; the worker's report of it will come too late.
      const runMs = running && r.startedAt ? Math.max(0, event.nowMs - Date.parse(r.startedAt)) : 0;
      const timings = { queuedMs: event.queuedMs, initMs: 0, runMs, cpuMs: null };
      const record = next(r, 'cancelled', {
        error: { code: 'CANCELLED', message: 'cancelled by request' },
        finishedAt,
        lease: null,
        attempts,
        timings,
        durationMs: running ? runMs : r.durationMs,
      });
      return terminal(record, running ? [{ type: 'send-cancel', workerId: r.workerId ?? '', lease: r.lease ?? '' }] : []);
    }
    case 'adopt':
      if (r.workerId === event.workerId) return { record: r, effects: [] };
      return { record: next(r, 'running', { workerId: event.workerId }), effects: [{ type: 'persist', durable: false }] };
  }
}

function result(r: Execution, event: Extract<ExecutionEvent, { type: 'result' }>, ctx: TransitionContext): TransitionResult {
  const m = event.report;
  const finishedAt = iso(m.finishedAtMs || event.nowMs);
  const code = (m.ok ? null : (m.error?.code ?? 'SANDBOX_CRASH')) as ExecutionErrorCode | null;
  const attempts = closeAttempt(r, finishedAt, code);
  const common: Partial<Execution> = {
    attempts,
    durationMs: m.durationMs,
    coldStart: m.coldStart,
    startedAt: m.startedAtMs ? iso(m.startedAtMs) : r.startedAt,
    timings: { queuedMs: event.queuedMs, initMs: m.initMs, runMs: m.durationMs, cpuMs: m.cpuMs },
  };
  if (m.ok) return terminal(next(r, 'succeeded', { ...common, output: m.output, finishedAt, lease: null }));
  if (code === 'WORKER_LOST' || code === 'CANCELLED') {
    // The worker refused or gave up this attempt (capacity, drain, shutdown): not the function's fault.
    return lost(r, event.nowMs, m.error?.message ?? 'unknown error', false, event.jitter, ctx, code, finishedAt);
  }
  const error: ExecutionError = {
    code: code!,
    message: m.error?.message ?? 'unknown error',
    ...(m.error?.name ? { name: m.error.name } : {}),
    ...(m.error?.stack ? { stack: m.error.stack } : {}),
    // The thrown error's code and own fields; error.code stays the execution's (FUNCTION_ERROR).
    ...(m.error?.details ? { details: m.error.details } : {}),
  };
  const decision = decideRetry({ ...r, attempts }, { code: code! }, ctx.retryPolicy, () => event.jitter);
  const crashes = decision.crashes > 0 ? { crashes: decision.crashes } : {};
  if (decision.retry) {
    return {
      record: next(r, 'queued', { ...common, ...crashes, attempt: r.attempt + 1, lease: null, workerId: null, retryAt: event.nowMs + decision.delayMs }),
      effects: [
        { type: 'persist', durable: false },
        { type: 'publish' },
        { type: 'arm-retry', delayMs: decision.delayMs },
        {
          type: 'log',
          level: 'info',
          fields: { executionId: r.id, attempt: r.attempt, delayMs: decision.delayMs, code, reason: REASON.retry },
          message: 'retry scheduled',
        },
      ],
    };
  }
  const logs: Effect[] = [];
  if (decision.poison) {
    error.message = poisonMessage(error.message, decision.crashes);
    logs.push({
      type: 'log',
      level: 'warn',
      fields: { executionId: r.id, attempt: r.attempt, code, crashes: decision.crashes, reason: REASON.poisonPill },
      message: 'poison pill: not retried',
    });
  }
  return terminal(next(r, code === 'TIMEOUT' ? 'timed_out' : 'failed', { ...common, ...crashes, error, finishedAt, lease: null }), logs);
}

/**
 * An attempt that ended through no fault of the function: re-queued at once while the retry
 * policy allows, else failed WORKER_LOST. The open attempt is closed with `code` at `closedAt`.
 */
function lost(
  r: Execution,
  nowMs: number,
  message: string,
  workerDied: boolean,
  jitter: number,
  ctx: TransitionContext,
  code: ExecutionErrorCode = 'WORKER_LOST',
  closedAt: string = iso(nowMs),
): TransitionResult {
  const attempts = closeAttempt(r, closedAt, code);
  const end: AttemptEnd = { code: 'WORKER_LOST', workerDied };
  const decision = decideRetry({ ...r, attempts }, end, ctx.retryPolicy, () => jitter);
  const crashes = decision.crashes > 0 ? { crashes: decision.crashes } : {};
  if (decision.retry) {
    return {
      record: next(r, 'queued', { ...crashes, attempts, attempt: r.attempt + 1, lease: null, workerId: null, retryAt: null }),
      effects: [
        { type: 'persist', durable: false },
        { type: 'publish' },
        { type: 'enqueue' },
        {
          type: 'log',
          level: 'warn',
          fields: { executionId: r.id, workerId: r.workerId, attempt: r.attempt, reason: REASON.workerLost },
          message: 'attempt lost, re-queued',
        },
      ],
    };
  }
  const logs: Effect[] = decision.poison
    ? [
        {
          type: 'log',
          level: 'warn',
          fields: { executionId: r.id, workerId: r.workerId, attempt: r.attempt, crashes: decision.crashes, reason: REASON.poisonPill },
          message: 'poison pill: not retried',
        },
      ]
    : [];
  const text = decision.poison ? poisonMessage(message, decision.crashes) : message;
  return terminal(next(r, 'failed', { ...crashes, attempts, error: { code: 'WORKER_LOST', message: text }, finishedAt: iso(nowMs), lease: null }), logs);
}
