/**
 * The one way a scheduler's execution components are put together — by server.ts around the
 * file store and by the unit-test harness around a memory store. The execution state and the
 * dispatcher need each other (transitions send to workers; worker reports apply transitions):
 * the state is made first and the dispatcher connected to it here, once.
 */
import type { Logger } from 'pino';
import { FUNCTION_DEFAULTS, type Execution } from '../common/records.js';
import { Dispatcher } from './dispatch/dispatcher.js';
import { ExecutionManager } from './execution/manager.js';
import type { RetryPolicy } from './execution/retry-policy.js';
import { ExecutionState } from './execution/state.js';
import { FunctionRegistry, type CodeChecker } from './function-registry.js';
import type { Store } from './store/types.js';
import { WorkerRegistry, type LossReason, type RegisteredWorker } from './worker-registry.js';
import { WorkflowEngine } from './workflows/engine.js';

export interface SchedulerCoreOptions {
  store: Store;
  log: Logger;
  checkCode: CodeChecker;
  retryPolicy: RetryPolicy;
  /** A running attempt with no result this long after its deadline is treated as lost. */
  watchdogSlackMs: number;
  /** After a restart, how long executions that were running wait for their worker to re-adopt them. */
  adoptGraceMs: number;
  heartbeatIntervalMs: number;
  missedHeartbeats: number;
  forgetLostAfterMs: number;
  maxQueue: number;
  retentionMs: number;
  /** Execution changes kept for watchers that resume. */
  eventLogCapacity?: number;
  now?: () => number;
  random?: () => number;
  /** Called (after the dispatcher has handled it) when a worker is lost. */
  onWorkerLost?: (worker: RegisteredWorker, reason: LossReason) => void;
}

export interface SchedulerCore {
  state: ExecutionState;
  functions: FunctionRegistry;
  registry: WorkerRegistry;
  dispatcher: Dispatcher;
  executions: ExecutionManager;
  workflows: WorkflowEngine;
}

export function createSchedulerCore(opts: SchedulerCoreOptions): SchedulerCore {
  const functions = new FunctionRegistry(opts.store, opts.checkCode);
  const maxQueueMs = (rec: Execution): number => functions.anyVersion(rec.function, rec.version)?.maxQueueMs ?? FUNCTION_DEFAULTS.maxQueueMs;
  const state = new ExecutionState(opts.store, opts.log, {
    retryPolicy: opts.retryPolicy,
    watchdogSlackMs: opts.watchdogSlackMs,
    maxQueueMs,
    ...(opts.eventLogCapacity !== undefined && { eventLogCapacity: opts.eventLogCapacity }),
    now: opts.now,
    random: opts.random,
  });
  const registry = new WorkerRegistry({
    heartbeatIntervalMs: opts.heartbeatIntervalMs,
    missedHeartbeats: opts.missedHeartbeats,
    forgetLostAfterMs: opts.forgetLostAfterMs,
    onLost: (worker, reason) => {
      dispatcher.workerLost(worker);
      opts.onWorkerLost?.(worker, reason);
    },
  });
  const dispatcher = new Dispatcher(state, functions, registry, { adoptGraceMs: opts.adoptGraceMs, maxQueueMs });
  state.connect(dispatcher);
  const executions = new ExecutionManager(state, functions, { maxQueue: opts.maxQueue, retentionMs: opts.retentionMs });
  const workflows = new WorkflowEngine({ store: opts.store, state, executions, functions, log: opts.log });
  return { state, functions, registry, dispatcher, executions, workflows };
}
