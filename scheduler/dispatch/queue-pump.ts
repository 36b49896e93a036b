/**
 * The queue pump: moves queued executions onto workers while some worker has a free slot,
 * honouring each function's cluster-wide `concurrency`. It runs on a microtask after anything
 * that may free or add work (invoke, result, worker join, retry due) — never on a polling timer.
 * Which worker is decided by placement.ts; what dispatching does to the record by transition.ts;
 * this module only picks the next candidates — highest priority first, with aging
 * (priority-queue.ts); a delayed execution is not among them before it is due — and, once the record is `running`, sends the
 * Execute (with a fresh lease: Started / Log / Result with any other lease are dropped).
 */
import { nanoid } from 'nanoid';
import { markHop } from '../../common/diagnostics.js';
import type { Execution } from '../../common/records.js';
import type { CircuitBreakers } from '../circuit-breaker.js';
import type { ExecutionState } from '../execution/state.js';
import type { Effect } from '../execution/transition.js';
import type { FunctionRegistry } from '../function-registry.js';
import { pickWorker } from '../placement.js';
import type { WorkerRegistry } from '../worker-registry.js';
import type { RunningCounts } from './running-counts.js';

export class QueuePump {
  private scheduled = false;

  constructor(
    private readonly state: ExecutionState,
    private readonly functions: FunctionRegistry,
    private readonly registry: WorkerRegistry,
    private readonly running: RunningCounts,
    private readonly breakers: CircuitBreakers | null = null,
  ) {}

  schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      this.pump();
    });
  }

  pump(): void {
    const { state } = this;
    if (state.pending.size === 0) return;
    const workers = this.registry.live();
    if (workers.length === 0) return;
    for (const id of state.pending.keys()) {
      const rec = state.index.get(id);
      if (!rec || rec.status !== 'queued') {
        state.pending.delete(id);
        continue;
      }
      const latest = this.functions.live(rec.function);
      const limit = latest ? latest.versions[latest.versions.length - 1]!.concurrency : 0;
      if (limit > 0 && this.running.get(rec.function) >= limit) continue;
      // An open circuit holds its function's work queued; half-open lets one probe through.
      if (this.breakers && !this.breakers.allows(rec.function, rec.id)) continue;
      const decision = pickWorker(workers, `${rec.function}@${rec.version}`, state.random);
      if (!decision) break;
      this.breakers?.dispatched(rec.function, rec.id);
      state.pending.delete(id);
      const fn = this.functions.anyVersion(rec.function, rec.version);
      const nowMs = state.now();
      if (!fn) state.apply(rec, { type: 'function-gone', nowMs });
      else
        state.apply(rec, { type: 'dispatch', nowMs, lease: nanoid(16), workerId: decision.worker.id, placement: decision.placement, timeoutMs: fn.timeoutMs });
    }
  }

  /** The send-execute effect: the record is `running` on `effect.workerId` with `effect.lease`. */
  sendExecute(rec: Execution, effect: Extract<Effect, { type: 'send-execute' }>): void {
    const worker = this.registry.get(effect.workerId);
    const fn = this.functions.anyVersion(rec.function, rec.version);
    if (!worker || !fn) throw new Error(`dispatch of ${rec.id}: worker ${effect.workerId} or ${rec.function}@${rec.version} vanished in the same tick`);
    const key = `${fn.name}@${fn.version}`;
    worker.assign(rec.id, effect.lease, key);
    worker.warm.add(key);
    this.running.add(rec.function, 1);
    const sendCode = !worker.codeSent.has(key);
    worker.codeSent.add(key);
    this.state.log.debug({ executionId: rec.id, workerId: worker.id, attempt: rec.attempt }, 'dispatched');
    markHop('S2 scheduler execute write');
    worker.connection.send({
      msg: {
        $case: 'execute',
        value: {
          executionId: rec.id,
          lease: effect.lease,
          function: {
            name: fn.name,
            version: fn.version,
            handler: fn.handler,
            timeoutMs: fn.timeoutMs,
            memoryMb: fn.memoryMb,
            env: fn.env,
            codeSha256: fn.codeSha256,
            code: sendCode ? fn.code : '',
            format: fn.format ?? '',
          },
          inputJson: JSON.stringify(rec.input ?? null),
          attempt: rec.attempt,
          deadlineMs: effect.deadlineMs,
        },
      },
    });
  }
}
