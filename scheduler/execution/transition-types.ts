/**
 * The vocabulary of the transition function (transition.ts): the events it reads, the effects it
 * answers with, the fields of a new execution, and how each (state, event) pair is treated.
 * Types only.
 */
import type { Execution, ExecutionStatus, ExecutionTrigger, InvokeMode, Placement, Priority } from '../../common/records.js';
import type { RetryPolicy } from './retry-policy.js';

/** What the worker reported about an attempt that ran (or was refused): a Result message, decoded. */
export interface AttemptReport {
  ok: boolean;
  /** The handler's return value, already parsed (null when none or unparseable). */
  output: unknown;
  error: { code: string; message: string; name?: string; stack?: string; details?: Record<string, unknown> } | null;
  durationMs: number;
  initMs: number;
  /** CPU time the run used; null when it never started (see reportedCpuMs). */
  cpuMs: number | null;
  coldStart: boolean;
  /** Epoch ms; 0 when the worker did not say. */
  startedAtMs: number;
  finishedAtMs: number;
}

/** The fields of an execution being accepted; everything else starts empty. */
export interface NewExecution {
  id: string;
  function: string;
  version: number;
  mode: InvokeMode;
  input: unknown;
  maxAttempts: number;
  idempotencyKey: string | null;
  /** Digest of the input, kept with an idempotency key to refuse a reuse with another body. */
  digest?: string;
  /** A delayed invoke: not dispatched before this (epoch ms); a time already past is now. */
  scheduledForMs?: number | null;
  priority?: Priority;
  /** The result cache had this version's output for this input: it succeeds at once, unrun. */
  cached?: { output: unknown };
  /** What started it, when an invoke made on another's behalf (a destination, a workflow step). */
  trigger?: ExecutionTrigger | null;
}

export type ExecutionEvent =
  | { type: 'accept'; nowMs: number; execution: NewExecution }
  /**
   * A trigger started it (scheduler/triggers/): always async, so always durable before it is
   * acknowledged; several fired together (a publish's subscribers) share one durable commit.
   */
  | { type: 'fire'; nowMs: number; execution: NewExecution; trigger: NonNullable<Execution['trigger']> }
  | { type: 'dispatch'; nowMs: number; lease: string; workerId: string; placement: Placement; timeoutMs: number }
  /** Its function version was deleted before it could run. */
  | { type: 'function-gone'; nowMs: number }
  | { type: 'started'; nowMs: number; startedAtMs: number; coldStart: boolean }
  | { type: 'result'; nowMs: number; report: AttemptReport; queuedMs: number; jitter: number }
  /** The attempt ended through no fault of the function. `workerDied`: its worker's stream died while it ran. */
  | { type: 'lost'; nowMs: number; message: string; workerDied: boolean; jitter: number }
  /** The expiry timer fired (it may fire a little early: the deadline is checked here). */
  | { type: 'expire'; nowMs: number; maxQueueMs: number }
  | { type: 'retry-due'; nowMs: number }
  /** A delayed execution's scheduled time has come (its timer may fire a little early: checked here). */
  | { type: 'due'; nowMs: number }
  /** `queuedMs`: queue time summed over its attempts so far (the record keeps it as timings). */
  | { type: 'cancel'; nowMs: number; queuedMs: number }
  /** A worker reconnecting after a scheduler restart still runs it. */
  | { type: 'adopt'; workerId: string };

export type ExecutionEventType = ExecutionEvent['type'];

export type Effect =
  /** Write the record to the store: group-committed, or durable before going on (an async accept). */
  | { type: 'persist'; durable: boolean }
  /** Add the new record to the in-memory indexes. */
  | { type: 'index'; digest?: string }
  /** Tell watchers (live views) of the record's new state. */
  | { type: 'publish' }
  /** Put it in the queue of what is ready to dispatch (and make sure its expiry is armed). */
  | { type: 'enqueue' }
  | { type: 'arm-retry'; delayMs: number }
  /** Hold a delayed execution until `atMs` (epoch ms), then fire `due`. */
  | { type: 'arm-due'; atMs: number }
  /** Arm the expiry at the deadline (epoch ms). */
  | { type: 'arm-expiry'; atMs: number }
  | { type: 'clear-expiry' }
  /** Send the attempt to the worker it was placed on, and watch for its result for `watchdogMs`. */
  | { type: 'send-execute'; workerId: string; lease: string; deadlineMs: number; watchdogMs: number }
  /** Ask the worker running the attempt to kill it. */
  | { type: 'send-cancel'; workerId: string; lease: string }
  /** It is terminal: clear its timers and queue entry, store its logs, wake its waiters. */
  | { type: 'finish' }
  | { type: 'log'; level: 'info' | 'warn'; fields: Record<string, unknown>; message: string };

export interface TransitionContext {
  retryPolicy: RetryPolicy;
  /** A running attempt with no result this long after its deadline is treated as lost. */
  watchdogSlackMs: number;
}

export interface TransitionResult {
  record: Execution;
  effects: Effect[];
}

export type Outcome = 'apply' | 'ignore' | 'illegal';
export type RecordState = ExecutionStatus | 'none';
