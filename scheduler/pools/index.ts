/**
 * Worker pools on the scheduler's side, wired in one call: the registry of connected pool
 * supervisors, PoolService on the gRPC server (behind the join token, like WorkerService), the
 * cluster load every pool is sent, and the pools' gauges in the scheduler's metrics.
 */
import type { Server } from '@grpc/grpc-js';
import { Gauge, type Registry } from 'prom-client';
import type { Logger } from 'pino';
import { PoolServiceService, type LoadReport } from '../../proto/gen/taskforge/v1/pool.js';
import type { ExecutionState } from '../execution/state.js';
import type { WorkerRegistry } from '../worker-registry.js';
import { PoolRegistry } from './pool-registry.js';
import { createPoolService } from './pool-service.js';

export { PoolRegistry } from './pool-registry.js';

/** ms between LoadReports on a pool's stream. */
export const POOL_LOAD_INTERVAL_MS = 1_000;
/** ms a scale request waits for the pool's answer. */
export const POOL_SCALE_TIMEOUT_MS = 10_000;

/** The demand the autoscalers and the slot gauges read: queued executions, busy and total slots of ready workers. */
export function clusterLoad(state: ExecutionState, workers: WorkerRegistry): LoadReport {
  let inFlight = 0;
  let capacity = 0;
  let workersReady = 0;
  for (const w of workers.live()) {
    inFlight += w.taken;
    if (!w.ready) continue;
    capacity += w.capacity;
    workersReady += 1;
  }
  return { queueDepth: state.pending.size, inFlight, capacity, workersReady };
}

export interface PoolsDeps {
  server: Server;
  state: ExecutionState;
  workers: WorkerRegistry;
  metrics: Registry;
  log: Logger;
  accepting: () => boolean;
  loadIntervalMs?: number;
  scaleTimeoutMs?: number;
}

export function attachPools(deps: PoolsDeps): PoolRegistry {
  const pools = new PoolRegistry({ scaleTimeoutMs: deps.scaleTimeoutMs ?? POOL_SCALE_TIMEOUT_MS });
  const load = (): LoadReport => clusterLoad(deps.state, deps.workers);
  deps.server.addService(
    PoolServiceService,
    createPoolService({ pools, load, loadIntervalMs: deps.loadIntervalMs ?? POOL_LOAD_INTERVAL_MS, log: deps.log, accepting: deps.accepting }),
  );
  const registers = [deps.metrics];
  new Gauge({
    name: 'taskforge_worker_slots',
    help: 'Execution slots: busy (executions in flight on live workers) and total (the capacity of ready workers).',
    labelNames: ['state'] as const,
    registers,
    collect() {
      const l = load();
      this.set({ state: 'busy' }, l.inFlight);
      this.set({ state: 'total' }, l.capacity);
    },
  });
  new Gauge({
    name: 'taskforge_pool_workers',
    help: 'Connected worker pools (taskforge pool): workers running (current), converged on (target), and the bounds (min, max).',
    labelNames: ['pool', 'kind'] as const,
    registers,
    collect() {
      this.reset();
      for (const p of pools.list()) for (const kind of ['current', 'target', 'min', 'max'] as const) this.set({ pool: p.name, kind }, p[kind]);
    },
  });
  return pools;
}
