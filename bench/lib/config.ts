/**
 * The suite's settings: one frozen object per mode. `BENCH_QUICK=1` shortens every run and
 * shrinks every data set but keeps every scenario; the full mode is what docs/PERFORMANCE.md quotes.
 * Nothing else in the suite picks a duration or a count.
 */
export interface BenchConfig {
  readonly quick: boolean;
  /** s of each measured load run. */
  readonly loadSeconds: number;
  /** s of load before measuring, so sandboxes are warm and the JIT has run. */
  readonly warmupSeconds: number;
  readonly syncConcurrency: readonly number[];
  /** Workers and per-worker capacity of the invoke scenarios (the `dev` defaults). */
  readonly workers: number;
  readonly capacity: number;
  readonly asyncInvokes: number;
  readonly asyncConnections: number;
  /** s after which sending async invokes stops, however many were sent. */
  readonly asyncSendMaxSeconds: number;
  /** ms the async scenario waits for every accepted execution to finish. */
  readonly asyncCompleteTimeoutMs: number;
  /** s of async submits as fast as accepted, to see whether completions keep up. */
  readonly sustainSeconds: number;
  readonly coldFunctions: number;
  /** ms between cold starts, so a prewarmed pool has time to refill as it would between real deploys. */
  readonly coldPaceMs: number;
  readonly warmSamples: number;
  /** ms of CPU the CPU-bound handler burns. */
  readonly cpuMs: number;
  readonly cpuConnections: number;
  /**
   * s of CPU-bound load before measuring. Longer than warmupSeconds: at ~250 invokes/s, 3 s is
   * ~750 invokes, too few for V8 to finish optimising the gateway's, scheduler's and workers'
   * code, which the trivial scenarios (thousands of invokes/s) warm in a second or two.
   */
  readonly cpuWarmupSeconds: number;
  /** s the same handler runs in bare processes, the scenario's own ceiling (lib/cpu-baseline.ts). */
  readonly cpuBaselineSeconds: number;
  readonly storeSizes: readonly number[];
  /** A last, larger size for store-scale only (0: none): the 1M-record start-up target. */
  readonly storeBigSize: number;
  readonly storeStartupRuns: number;
  readonly listSamples: number;
  readonly memoryFunctions: number;
  /** Open `GET /v1/events` clients in the live-watchers scenario, and its alternating rounds. */
  readonly idleWatchers: number;
  /** Delayed executions (due in hours to days) on disk behind the live-watchers scenario's second stack. */
  readonly delayedBacklog: number;
  readonly liveRounds: number;
  /** ms a whole scenario may take before it is abandoned and its stack killed. */
  readonly scenarioTimeoutMs: number;
  /** Subscribers of the fan-out scenario's topic, and the events published to it. */
  readonly fanOutSubscribers: number;
  readonly fanOutEvents: number;
  /** Every-second cron triggers of the cron-lateness scenario, and s they tick. */
  readonly cronFunctions: number;
  readonly cronSeconds: number;
}

const FULL: BenchConfig = {
  quick: false,
  loadSeconds: 10,
  warmupSeconds: 3,
  syncConcurrency: [1, 10, 50],
  workers: 2,
  capacity: 4,
  asyncInvokes: 10_000,
  asyncConnections: 50,
  asyncSendMaxSeconds: 60,
  asyncCompleteTimeoutMs: 120_000,
  sustainSeconds: 60,
  coldFunctions: 30,
  coldPaceMs: 250,
  warmSamples: 50,
  cpuMs: 5,
  cpuConnections: 16,
  cpuWarmupSeconds: 15,
  cpuBaselineSeconds: 5,
  storeSizes: [10_000, 100_000],
  storeBigSize: 1_000_000,
  storeStartupRuns: 2,
  listSamples: 300,
  memoryFunctions: 50,
  idleWatchers: 500,
  delayedBacklog: 100_000,
  liveRounds: 3,
  scenarioTimeoutMs: 240_000,
  fanOutSubscribers: 10,
  fanOutEvents: 2_000,
  cronFunctions: 10,
  cronSeconds: 30,
};

const QUICK: BenchConfig = {
  ...FULL,
  quick: true,
  loadSeconds: 2,
  warmupSeconds: 1,
  asyncInvokes: 2_000,
  asyncSendMaxSeconds: 15,
  asyncCompleteTimeoutMs: 20_000,
  sustainSeconds: 10,
  coldFunctions: 12,
  cpuWarmupSeconds: 2,
  cpuBaselineSeconds: 2,
  warmSamples: 20,
  storeSizes: [5_000, 20_000],
  storeBigSize: 0,
  storeStartupRuns: 1,
  listSamples: 100,
  liveRounds: 2,
  delayedBacklog: 20_000,
  scenarioTimeoutMs: 60_000,
  fanOutEvents: 300,
  cronSeconds: 8,
};

export function benchConfig(env: NodeJS.ProcessEnv = process.env): BenchConfig {
  return Object.freeze(env.BENCH_QUICK === '1' ? { ...QUICK } : { ...FULL });
}
