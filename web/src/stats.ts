/** Summaries the pages show: success rate and latency percentiles of recent executions. */
import { TERMINAL, type Execution } from './types.js';

/** The p-th percentile (0 … 100) of `values` by nearest rank; null for none. */
export function percentile(values: readonly number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

export interface RecentSummary {
  /** Finished executions counted. */
  finished: number;
  /** succeeded / finished; null when none finished. */
  successRate: number | null;
  p50: number | null;
  p99: number | null;
  /** How they were invoked (`mode`), with counts. */
  modes: Record<string, number>;
}

export function summarize(executions: readonly Pick<Execution, 'status' | 'durationMs' | 'mode'>[]): RecentSummary {
  const done = executions.filter((e) => TERMINAL.has(e.status));
  const durations = done.map((e) => e.durationMs).filter((d): d is number => typeof d === 'number');
  const modes: Record<string, number> = {};
  for (const e of executions) modes[e.mode] = (modes[e.mode] ?? 0) + 1;
  return {
    finished: done.length,
    successRate: done.length === 0 ? null : done.filter((e) => e.status === 'succeeded').length / done.length,
    p50: percentile(durations, 50),
    p99: percentile(durations, 99),
    modes,
  };
}

/**
 * Throughput and latency over time from finished executions seen live: one point per `bucketMs`
 * window, the last `keep` windows. Windows without executions count 0 and have no latency.
 */
export class Series {
  private buckets = new Map<number, number[]>();
  constructor(
    private readonly bucketMs: number,
    private readonly keep: number,
  ) {}

  add(atMs: number, durationMs: number | null): void {
    const b = Math.floor(atMs / this.bucketMs) * this.bucketMs;
    let list = this.buckets.get(b);
    if (!list) this.buckets.set(b, (list = []));
    list.push(durationMs ?? Number.NaN);
  }

  /** [times in s, per-second rate, p50 ms, p99 ms] up to `nowMs`, for uPlot. */
  data(nowMs: number): [number[], number[], (number | null)[], (number | null)[]] {
    const last = Math.floor(nowMs / this.bucketMs) * this.bucketMs;
    const first = last - (this.keep - 1) * this.bucketMs;
    for (const b of this.buckets.keys()) if (b < first) this.buckets.delete(b);
    const t: number[] = [];
    const rate: number[] = [];
    const p50: (number | null)[] = [];
    const p99: (number | null)[] = [];
    for (let b = first; b <= last; b += this.bucketMs) {
      const list = this.buckets.get(b) ?? [];
      const ds = list.filter((d) => !Number.isNaN(d));
      t.push(b / 1000);
      rate.push(list.length / (this.bucketMs / 1000));
      p50.push(percentile(ds, 50));
      p99.push(percentile(ds, 99));
    }
    return [t, rate, p50, p99];
  }
}
