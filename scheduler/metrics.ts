/**
 * The scheduler's metrics (docs/API-PLATFORM.md "Metrics"), in its own prom-client Registry (never the
 * process-wide default one: a test process runs several schedulers), rendered as Prometheus text
 * for the gateway's /metrics over ControlService.Metrics.
 *
 * Counters and the duration histogram are fed as things happen, by one watcher of every execution
 * change: a change that ends an execution is counted from the live record (an index lookup; the
 * change is delivered synchronously while the record is in that state), so nothing is computed
 * from disk at scrape time and the hot path pays one listener call per change. Gauges (queue,
 * workers, sandboxes) are read from in-memory state when scraped.
 *
 * It must never assign a record's fields, hold a record, or keep anything per execution: its
 * memory grows with the number of functions, not of executions.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { isTerminal, type CircuitState, type Execution, type WorkerStatus } from '../common/records.js';
import type { ExecutionChange } from './execution/event-log.js';
import type { ExecutionState } from './execution/state.js';
import type { SandboxCounts, WorkerRegistry } from './worker-registry.js';

/** seconds: from a warm dispatch (~1 ms) to the longest timeout (15 min). */
export const DURATION_BUCKETS_SECONDS: readonly number[] = Object.freeze([
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900,
]);

const WORKER_STATUSES: readonly WorkerStatus[] = ['ready', 'draining', 'lost'];
const SANDBOX_STATES: readonly (keyof SandboxCounts)[] = ['busy', 'idle', 'prewarmed'];

export interface SchedulerMetricsDeps {
  state: ExecutionState;
  registry: WorkerRegistry;
  /** Circuit breakers' states by function (only functions that have one). */
  circuits?: () => Map<string, CircuitState>;
  /** The result cache's entries and bytes. */
  cache?: () => { entries: number; bytes: number };
  /** Destination deliveries not yet done: being sent, and waiting (due or backing off). */
  deliveries?: () => { inFlight: number; waiting: number };
}

const CIRCUIT_STATES: readonly CircuitState[] = ['closed', 'half_open', 'open'];

export interface SchedulerMetrics {
  readonly registry: Registry;
  /** Every metric, in Prometheus text format. */
  text(): Promise<string>;
  /** Stops watching executions. Idempotent. */
  close(): void;
}

export function createSchedulerMetrics(deps: SchedulerMetricsDeps): SchedulerMetrics {
  const { state, registry: workers } = deps;
  const registry = new Registry();
  const registers = [registry];

  const executions = new Counter({
    name: 'taskforge_executions_total',
    help: 'Executions that reached a terminal state, by function and status.',
    labelNames: ['function', 'status'] as const,
    registers,
  });
  const duration = new Histogram({
    name: 'taskforge_execution_duration_seconds',
    help: 'Time a finished execution spent per phase: queued (summed over attempts), init (sandbox start and code load), run (the handler).',
    labelNames: ['function', 'phase'] as const,
    buckets: [...DURATION_BUCKETS_SECONDS],
    registers,
  });
  const coldStarts = new Counter({
    name: 'taskforge_cold_starts_total',
    help: 'Finished executions whose last attempt started a sandbox (no warm one of that version), by function.',
    labelNames: ['function'] as const,
    registers,
  });
  const triggered = new Counter({
    name: 'taskforge_triggered_executions_total',
    help: 'Executions a trigger started (a topic event, a cron tick), by function and trigger type.',
    labelNames: ['function', 'trigger'] as const,
    registers,
  });
  new Gauge({
    name: 'taskforge_queue_depth',
    help: 'Executions waiting in the pending queue for a free slot.',
    registers,
    collect() {
      this.set(state.pending.size);
    },
  });
  new Gauge({
    name: 'taskforge_workers',
    help: 'Workers the scheduler knows, by status.',
    labelNames: ['status'] as const,
    registers,
    collect() {
      const counts: Record<WorkerStatus, number> = { ready: 0, draining: 0, lost: 0 };
      for (const w of workers.all()) counts[w.status] += 1;
      for (const status of WORKER_STATUSES) this.set({ status }, counts[status]);
    },
  });
  new Gauge({
    name: 'taskforge_sandboxes',
    help: 'Sandboxes of the live workers by state, as their last heartbeats counted them.',
    labelNames: ['state'] as const,
    registers,
    collect() {
      const sum: SandboxCounts = { busy: 0, idle: 0, prewarmed: 0 };
      for (const w of workers.live()) for (const s of SANDBOX_STATES) sum[s] += w.sandboxes[s];
      for (const s of SANDBOX_STATES) this.set({ state: s }, sum[s]);
    },
  });

  if (deps.circuits) {
    const circuits = deps.circuits;
    new Gauge({
      name: 'taskforge_circuit_state',
      help: 'Circuit breakers: 1 for the state each function with a breaker is in (closed, half_open, open), 0 for the others.',
      labelNames: ['function', 'state'] as const,
      registers,
      collect() {
        this.reset();
        for (const [fn, now] of circuits()) for (const s of CIRCUIT_STATES) this.set({ function: fn, state: s }, s === now ? 1 : 0);
      },
    });
  }
  if (deps.cache) {
    const cache = deps.cache;
    new Gauge({
      name: 'taskforge_result_cache_entries',
      help: 'Outputs held by the result cache (functions with cacheTtlMs).',
      registers,
      collect() {
        this.set(cache().entries);
      },
    });
    new Gauge({
      name: 'taskforge_result_cache_bytes',
      help: 'Bytes of outputs held by the result cache.',
      registers,
      collect() {
        this.set(cache().bytes);
      },
    });
  }
  if (deps.deliveries) {
    const deliveries = deps.deliveries;
    new Gauge({
      name: 'taskforge_deliveries_pending',
      help: 'Destination deliveries not yet delivered or failed for good: being sent (in_flight) or waiting for their next attempt (waiting).',
      labelNames: ['state'] as const,
      registers,
      collect() {
        const d = deliveries();
        this.set({ state: 'in_flight' }, d.inFlight);
        this.set({ state: 'waiting' }, d.waiting);
      },
    });
  }
  const cachedHits = new Counter({
    name: 'taskforge_result_cache_hits_total',
    help: 'Executions answered from the result cache without running, by function.',
    labelNames: ['function'] as const,
    registers,
  });

  const finished = (c: ExecutionChange): void => {
    if (c.status === 'queued') return started(c);
    if (!isTerminal(c.status)) return;
    executions.inc({ function: c.function, status: c.status });
    const rec = state.index.get(c.executionId);
    if (rec?.cached) cachedHits.inc({ function: rec.function });
    else if (rec) observeFinished(rec);
  };
  /** Queued with no attempt yet: only its acceptance publishes that. */
  const started = (c: ExecutionChange): void => {
    const rec = state.index.get(c.executionId);
    if (rec?.trigger && (rec.attempts ?? []).length === 0) triggered.inc({ function: rec.function, trigger: rec.trigger.type });
  };
  const observeFinished = (rec: Execution): void => {
    if (rec.coldStart === true) coldStarts.inc({ function: rec.function });
    const t = rec.timings;
    if (!t) return;
    duration.observe({ function: rec.function, phase: 'queued' }, t.queuedMs / 1000);
    // An execution that never ran (cancelled or expired in the queue) has no init or run phase.
    if (rec.startedAt === null) return;
    duration.observe({ function: rec.function, phase: 'init' }, t.initMs / 1000);
    duration.observe({ function: rec.function, phase: 'run' }, t.runMs / 1000);
  };
  const watch = state.eventLog.watch({}, finished);

  let closed = false;
  return {
    registry,
    text: () => registry.metrics(),
    close() {
      if (closed) return;
      closed = true;
      watch.close();
    },
  };
}
