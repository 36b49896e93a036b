/**
 * Builds the scheduler's execution components around a MemoryStore and fake worker
 * connections, for unit tests that drive placement, dispatch and results without gRPC.
 */
import { vi } from 'vitest';
import type { SchedulerMessage } from '../../proto/gen/taskforge/v1/worker.js';
import { silentLogger } from '../../common/logger.js';
import type { Dispatcher } from '../dispatch/dispatcher.js';
import type { ExecutionManager } from '../execution/manager.js';
import type { ExecutionState } from '../execution/state.js';
import type { FunctionRegistry } from '../function-registry.js';
import { createSchedulerCore } from '../wire.js';
import type { RegisteredWorker, WorkerRegistry } from '../worker-registry.js';
import type { WorkflowEngine } from '../workflows/engine.js';
import { MemoryStore } from './memory-store.js';

export interface Harness {
  store: MemoryStore;
  state: ExecutionState;
  functions: FunctionRegistry;
  registry: WorkerRegistry;
  dispatcher: Dispatcher;
  executions: ExecutionManager;
  workflows: WorkflowEngine;
  connect(id: string, capacity?: number): { worker: RegisteredWorker; sent: SchedulerMessage[] };
  close(): void;
}

export interface HarnessOptions {
  maxQueue?: number;
  retentionMs?: number;
  retryBaseMs?: number;
  retryCapMs?: number;
  heartbeatIntervalMs?: number;
  random?: () => number;
  now?: () => number;
  store?: MemoryStore;
  agingMs?: number;
}

export function createHarness(opts: HarnessOptions = {}): Harness {
  const store = opts.store ?? new MemoryStore();
  const { state, functions, registry, dispatcher, executions, workflows } = createSchedulerCore({
    store,
    log: silentLogger,
    checkCode: () => ({ format: 'esm' }),
    retryPolicy: { baseMs: opts.retryBaseMs ?? 1000, capMs: opts.retryCapMs ?? 60_000 },
    watchdogSlackMs: 30_000,
    adoptGraceMs: 10_000,
    heartbeatIntervalMs: opts.heartbeatIntervalMs ?? 1000,
    missedHeartbeats: 3,
    forgetLostAfterMs: 60_000,
    maxQueue: opts.maxQueue ?? 100,
    retentionMs: opts.retentionMs ?? 1000,
    now: opts.now,
    ...(opts.agingMs !== undefined && { agingMs: opts.agingMs }),
    random: opts.random ?? (() => 0.5),
  });
  return {
    store,
    state,
    functions,
    registry,
    dispatcher,
    executions,
    workflows,
    connect(id, capacity = 2) {
      const sent: SchedulerMessage[] = [];
      const registered = registry.register({ workerId: id, name: id, capacity, sandbox: 'insecure' }, { send: (m) => sent.push(m), end: vi.fn() });
      if (!registered.ok) throw new Error(`worker ${id} is already connected`);
      const { worker } = registered;
      dispatcher.schedulePump();
      return { worker, sent };
    },
    close() {
      registry.close();
      void workflows.close();
      dispatcher.close();
      state.close();
      state.waiters.releaseAll();
    },
  };
}

/** The Execute messages among what a fake worker was sent. */
export function executes(sent: SchedulerMessage[]) {
  return sent.flatMap((m) => (m.msg?.$case === 'execute' ? [m.msg.value] : []));
}

export const flushMicrotasks = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
