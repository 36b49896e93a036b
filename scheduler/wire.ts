/**
 * The one way a scheduler's execution components are put together — by server.ts around the
 * file store and by the unit-test harness around a memory store. The execution state and the
 * dispatcher need each other (transitions send to workers; worker reports apply transitions):
 * the state is made first and the dispatcher connected to it here, once.
 */
import type { Logger } from 'pino';
import { FUNCTION_DEFAULTS, type Execution, type FunctionVersion } from '../common/records.js';
import { CircuitBreakers, type AttemptOutcome } from './circuit-breaker.js';
import { Dispatcher } from './dispatch/dispatcher.js';
import { ExecutionManager } from './execution/manager.js';
import { inputDigest } from './execution/record-index.js';
import type { RetryPolicy } from './execution/retry-policy.js';
import { ExecutionState } from './execution/state.js';
import { FunctionRegistry, type CodeChecker } from './function-registry.js';
import { ResultCache } from './result-cache.js';
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
  /** Priority aging: one level per this many ms waited (priority-queue.ts). */
  agingMs?: number;
  now?: () => number;
  random?: () => number;
  /** Called (after the dispatcher has handled it) when a worker is lost. */
  onWorkerLost?: (worker: RegisteredWorker, reason: LossReason) => void;
  /** Webhook URLs may name private and loopback addresses. */
  allowPrivateWebhooks?: boolean;
}

export interface SchedulerCore {
  state: ExecutionState;
  functions: FunctionRegistry;
  registry: WorkerRegistry;
  dispatcher: Dispatcher;
  executions: ExecutionManager;
  breakers: CircuitBreakers;
  cache: ResultCache;
  workflows: WorkflowEngine;
}

export function createSchedulerCore(opts: SchedulerCoreOptions): SchedulerCore {
  const functions = new FunctionRegistry(opts.store, opts.checkCode);
  functions.allowPrivateWebhooks = opts.allowPrivateWebhooks ?? false;
  const maxQueueMs = (rec: Execution): number => functions.anyVersion(rec.function, rec.version)?.maxQueueMs ?? FUNCTION_DEFAULTS.maxQueueMs;
  const state = new ExecutionState(opts.store, opts.log, {
    retryPolicy: opts.retryPolicy,
    watchdogSlackMs: opts.watchdogSlackMs,
    maxQueueMs,
    ...(opts.eventLogCapacity !== undefined && { eventLogCapacity: opts.eventLogCapacity }),
    ...(opts.agingMs !== undefined && { agingMs: opts.agingMs }),
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
  const now = opts.now ?? Date.now;
  const latest = (fn: string): FunctionVersion | undefined => functions.live(fn)?.versions.at(-1);
  const breakers = new CircuitBreakers({
    spec: (fn) => latest(fn)?.circuitBreaker ?? null,
    now,
    wakeAfter: (ms) => setTimeout(() => dispatcher.schedulePump(), ms).unref(),
    onChange: (fn, from, to) => opts.log.info({ function: fn, from, to }, 'circuit breaker changed state'),
  });
  const cache = new ResultCache(undefined, now);
  const attemptEnded = (rec: Execution, outcome: AttemptOutcome): void => {
    breakers.attemptEnded(rec.function, rec.id, outcome);
    const ttl = functions.anyVersion(rec.function, rec.version)?.cacheTtlMs ?? 0;
    if (ttl > 0 && rec.status === 'succeeded') cache.set(ResultCache.key(rec.function, rec.version, inputDigest(rec.input)), rec.output, rec.id, ttl);
  };
  const dispatcher = new Dispatcher(state, functions, registry, { adoptGraceMs: opts.adoptGraceMs, maxQueueMs, breakers, attemptEnded });
  state.connect(dispatcher);
  const executions = new ExecutionManager(state, functions, { maxQueue: opts.maxQueue, retentionMs: opts.retentionMs }, { breakers, cache });
  const workflows = new WorkflowEngine({ store: opts.store, state, executions, functions, log: opts.log });
  return { state, functions, registry, dispatcher, executions, breakers, cache, workflows };
}
