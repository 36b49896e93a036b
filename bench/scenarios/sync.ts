/**
 * Scenario 2 — warm sync invoke: `POST /v1/functions/{name}/invoke?mode=sync` of the trivial
 * handler at each concurrency, after a warm-up at the highest one so every sandbox the run will
 * use is already started. Only 200 answers count; throughput is also a % of the same-run ceiling,
 * and of the same run's design floor (this shape and its transports doing nothing else).
 */
import { EVENT_BODY, TRIVIAL_CODE } from '../lib/handlers.js';
import { invokeSync, putFunction } from '../lib/http.js';
import { floorPids, startFloor } from '../lib/floor.js';
import { describeLoad, runLoad, type LoadResult } from '../lib/load.js';
import type { Metric } from '../lib/report.js';
import { cpuPerExecution, loadWithSplit, readRoleCpu, splitText, type StackPids } from '../lib/role-cpu.js';
import { ceilingAt, floorAt, pctOf, type Scenario } from '../lib/scenario.js';
import { startStack } from '../lib/stack.js';

const FN = 'bench-sync';

/** `part taskforge / floor` in µs, for every part. */
const budgetText = (tf: Record<string, number>, floor: Record<string, number>): string =>
  Object.keys(tf)
    .map((part) => `${part} ${Math.round(tf[part]! * 1000)} / ${Math.round((floor[part] ?? NaN) * 1000)}`)
    .join(', ');

export const syncScenario: Scenario = {
  name: 'sync',
  title: '2 warm sync invoke',
  async run({ cfg, ceiling, profileDir, progress }) {
    const stack = await startStack({ workers: cfg.workers, capacity: cfg.capacity, profileDir });
    try {
      await putFunction(stack.url, FN, TRIVIAL_CODE);
      await invokeSync(stack.url, FN);
      const base = { url: stack.url, path: `/v1/functions/${FN}/invoke?mode=sync`, body: EVENT_BODY, expectStatus: 200 };
      const top = Math.max(...cfg.syncConcurrency);
      progress(`warm-up c=${top}: ${describeLoad(await runLoad({ ...base, connections: top, durationSeconds: cfg.warmupSeconds }))}`);
      const runs: LoadResult[] = [];
      const pids: StackPids = { gateway: stack.gateway.pid, scheduler: stack.scheduler.proc.pid, workers: stack.workers.map((w) => w.pid) };
      let split: Record<string, number> = {};
      // A profiled run measures only the highest concurrency, for at least 10 s, so the profile is of that load.
      const levels = profileDir ? [top] : cfg.syncConcurrency;
      for (const c of levels) {
        const seconds = profileDir ? Math.max(cfg.loadSeconds, 10) : cfg.loadSeconds;
        const before = readRoleCpu(pids);
        const r = await runLoad({ ...base, connections: c, durationSeconds: seconds });
        if (c === top && r.ok > 0) split = Object.fromEntries(cpuPerExecution(before, readRoleCpu(pids), r.ok).map(({ part, us }) => [part, us / 1000]));
        progress(`sync c=${c}: ${describeLoad(r)}`);
        runs.push(r);
      }
      await stack.close();
      // The budget: the same load on the design floor, CPU read the same way, in the same run.
      const floorStack = await startFloor(cfg.workers, cfg.capacity, 'design');
      let floor: { r: LoadResult; split: Record<string, number> };
      try {
        floor = await loadWithSplit(
          { ...base, url: floorStack.url, connections: top, durationSeconds: cfg.loadSeconds },
          cfg.warmupSeconds,
          floorPids(floorStack),
          'design floor',
          progress,
        );
      } finally {
        await floorStack.close();
      }
      progress(`c=${top} CPU ms per invoke: TaskForge ${splitText(split)}; design floor ${splitText(floor.split)} (${describeLoad(floor.r)})`);
      const metrics: Metric[] = [];
      const notes: string[] = [
        `${cfg.workers} workers × capacity ${cfg.capacity}; only 200 answers count as done.`,
        `CPU µs per invoke at c=${top} (/proc, TaskForge / design floor in the same run): ${budgetText(split, floor.split)}.`,
      ];
      const points = runs.map((r) => {
        const ceil = ceilingAt(ceiling, r.connections);
        const floor = floorAt(ceiling, r.connections);
        const pct = pctOf(r.rps, ceil?.rps);
        const pctFloor = pctOf(r.rps, floor?.rps);
        const p50Ratio = ceil ? r.latency.p50 / ceil.p50Ms : NaN;
        const p50FloorRatio = floor ? r.latency.p50 / floor.p50Ms : NaN;
        const c = r.connections;
        metrics.push({ metric: `req/s c=${c}`, value: r.rps, unit: 'req/s' });
        metrics.push({ metric: `req/s c=${c} % of ceiling`, value: pct, unit: '%', ...(c === top ? { target: { op: '>=' as const, value: 20 } } : {}) });
        metrics.push({ metric: `req/s c=${c} % of design floor`, value: pctFloor, unit: '%' });
        metrics.push({ metric: `p50 c=${c}`, value: r.latency.p50, unit: 'ms' });
        metrics.push({ metric: `p99 c=${c}`, value: r.latency.p99, unit: 'ms' });
        if (c === Math.min(...levels) && c === Math.min(...cfg.syncConcurrency)) {
          metrics.push({ metric: `p50 c=${c} ÷ ceiling p50`, value: p50Ratio, unit: '×', target: { op: '<=', value: 3 } });
          metrics.push({ metric: `p50 c=${c} ÷ design floor p50`, value: p50FloorRatio, unit: '×' });
        }
        const bad = r.unexpected + r.errors + r.timeouts;
        if (bad) notes.push(`c=${c}: ${bad} requests not answered 200 (${JSON.stringify(r.statusCounts)}, errors ${r.errors}, timeouts ${r.timeouts}).`);
        return {
          connections: c,
          rps: r.rps,
          p50Ms: r.latency.p50,
          p99Ms: r.latency.p99,
          meanMs: r.latency.mean,
          ok: r.ok,
          notOk: bad,
          statusCounts: r.statusCounts,
          pctOfCeiling: pct,
          p50VsCeiling: p50Ratio,
          pctOfFloor: pctFloor,
          p50VsFloor: p50FloorRatio,
        };
      });
      for (const part of Object.keys(split)) {
        metrics.push({
          metric: `c=${top} CPU per invoke: ${part} (design floor ${Math.round((floor.split[part] ?? NaN) * 1000)})`,
          value: split[part]! * 1000,
          unit: 'µs',
        });
      }
      const cpu = { taskforge: split, floor: floor.split, floorRps: floor.r.rps };
      return { numbers: { workers: cfg.workers, capacity: cfg.capacity, points, cpuMsPerInvoke: cpu }, metrics, notes };
    } finally {
      await stack.close();
    }
  },
};
