/**
 * The dispatch side of the scheduler, by job: queue-pump.ts (queued → a worker), results.ts
 * (what workers report, watchdogs, lost workers) and recovery.ts (after a restart). This class
 * only puts them together and is the DispatchPort through which applied transitions reach
 * workers; it decides nothing itself.
 */
import type { Execution } from '../../common/records.js';
import type { HeldExecution, LogChunk, Result, Started } from '../../proto/gen/taskforge/v1/worker.js';
import type { AttemptOutcome, CircuitBreakers } from '../circuit-breaker.js';
import type { DispatchPort, ExecutionState } from '../execution/state.js';
import type { Effect } from '../execution/transition.js';
import type { FunctionRegistry } from '../function-registry.js';
import type { RegisteredWorker, WorkerRegistry } from '../worker-registry.js';
import { QueuePump } from './queue-pump.js';
import { Recovery } from './recovery.js';
import { AttemptResults } from './results.js';
import { RunningCounts } from './running-counts.js';

export interface DispatcherOptions {
  /** After a restart, how long executions that were running wait for their worker to re-adopt them. */
  adoptGraceMs: number;
  maxQueueMs: (rec: Execution) => number;
  breakers?: CircuitBreakers;
  attemptEnded?: (rec: Execution, outcome: AttemptOutcome) => void;
}

export class Dispatcher implements DispatchPort {
  readonly running = new RunningCounts();
  readonly queue: QueuePump;
  readonly results: AttemptResults;
  readonly recovery: Recovery;

  constructor(
    state: ExecutionState,
    functions: FunctionRegistry,
    private readonly registry: WorkerRegistry,
    opts: DispatcherOptions,
  ) {
    const schedulePump = (): void => this.queue.schedule();
    this.queue = new QueuePump(state, functions, registry, this.running, opts.breakers ?? null);
    this.results = new AttemptResults(state, registry, this.running, schedulePump, opts.attemptEnded);
    this.recovery = new Recovery(state, this.running, this.results, schedulePump, opts.adoptGraceMs, opts.maxQueueMs);
  }

  // DispatchPort
  schedulePump(): void {
    this.queue.schedule();
  }

  sendExecute(rec: Execution, effect: Extract<Effect, { type: 'send-execute' }>): void {
    this.queue.sendExecute(rec, effect);
  }

  sendCancel(rec: Execution, workerId: string, lease: string): void {
    const worker = this.registry.get(workerId);
    // The slot frees when the worker's result for the cancelled attempt arrives.
    if (worker && worker.assigned.get(rec.id) === lease) {
      worker.connection.send({ msg: { $case: 'cancel', value: { executionId: rec.id, lease, reason: 'cancel' } } });
    }
    this.recovery.forget(rec);
  }

  watchdogFired(executionId: string, lease: string): void {
    this.results.watchdogFired(executionId, lease);
  }

  // What worker streams and the server call.
  runningCount(fn: string): number {
    return this.running.get(fn);
  }

  recover(executions: Iterable<Execution>): void {
    this.recovery.recover(executions);
  }

  adopt(worker: RegisteredWorker, held: HeldExecution[]): string[] {
    return this.recovery.adopt(worker, held);
  }

  onStarted(worker: RegisteredWorker, msg: Started): void {
    this.results.onStarted(worker, msg);
  }

  onLog(worker: RegisteredWorker, msg: LogChunk): void {
    this.results.onLog(worker, msg);
  }

  onResult(worker: RegisteredWorker, msg: Result): void {
    this.results.onResult(worker, msg);
  }

  workerLost(worker: RegisteredWorker): void {
    this.results.workerLost(worker);
  }

  close(): void {
    this.recovery.close();
  }
}
