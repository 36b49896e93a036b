/**
 * Scenario 6 — store scale: execution records written straight into a data dir (lib/records.ts),
 * then the scheduler is started on it and timed from spawn to its 'scheduler listening' line (the
 * line's own `startupMs` is reported too), and `GET /v1/executions?limit=50` is timed one request
 * at a time through a gateway. The data set grows in place from the smaller size to the larger.
 * The files were just written, so they are in the page cache: this is a warm-cache start-up.
 */
import { performance } from 'node:perf_hooks';
import { processMemory } from '../lib/proc-memory.js';
import { makeDataDir, releaseDataDir } from '../lib/data-dirs.js';
import { TRIVIAL_CODE } from '../lib/handlers.js';
import { request } from '../lib/http.js';
import type { Metric } from '../lib/report.js';
import { writeExecutions } from '../lib/records.js';
import type { Scenario } from '../lib/scenario.js';
import { registerFunction, startGateway, startScheduler, type SchedulerStart } from '../lib/stack.js';
import { median, summarize } from '../lib/stats.js';

const FN = 'bench-store';
const LIST = '/v1/executions?limit=50';
const LIST_WARMUP = 10;
/** The size the targets are stated for. */
const TARGET_RECORDS = 100_000;
/** The size of the second start-up target: ≤ 20 s and ≤ 1.5 GiB of scheduler RSS. */
const BIG_TARGET_RECORDS = 1_000_000;

export const storeScaleScenario: Scenario = {
  name: 'store-scale',
  title: '6 store scale',
  // Writing 1M records and starting on them twice takes minutes.
  timeoutMs: 1_200_000,
  async run({ cfg, progress }) {
    const dataDir = await makeDataDir('store');
    try {
      await registerFunction(dataDir, FN, TRIVIAL_CODE);
      const sizes = [...cfg.storeSizes, ...(cfg.storeBigSize > 0 ? [cfg.storeBigSize] : [])].sort((a, b) => a - b);
      const points = [];
      const metrics: Metric[] = [];
      let written = 0;
      for (const size of sizes) {
        const t0 = performance.now();
        await writeExecutions(dataDir, FN, size - written, written);
        written = size;
        progress(`store: ${size.toLocaleString('en-US')} records on disk (wrote in ${((performance.now() - t0) / 1000).toFixed(1)} s)`);
        const readyMs: number[] = [];
        const startupMs: number[] = [];
        let loaded = -1;
        let rssBytes = NaN;
        let sched: SchedulerStart | null = null;
        for (let run = 0; run < cfg.storeStartupRuns; run++) {
          sched = await startScheduler(dataDir);
          readyMs.push(sched.readyMs);
          startupMs.push(Number(sched.line.startupMs));
          loaded = Number(sched.line.executions);
          rssBytes = processMemory(sched.proc.pid)?.rssBytes ?? NaN;
          if (run < cfg.storeStartupRuns - 1) await sched.proc.stop();
        }
        // The last run's scheduler stays up for the list requests: there must have been one.
        if (!sched) throw new Error(`store-scale needs at least one start-up run (storeStartupRuns is ${cfg.storeStartupRuns})`);
        const gateway = await startGateway(sched).catch(async (err: unknown) => {
          await sched.proc.stop();
          throw err;
        });
        let list;
        let listed = 0;
        try {
          for (let i = 0; i < LIST_WARMUP; i++) await request(gateway.url, 'GET', LIST);
          const samples: number[] = [];
          for (let i = 0; i < cfg.listSamples; i++) {
            const res = await request<{ executions: unknown[] }>(gateway.url, 'GET', LIST);
            if (res.status !== 200) throw new Error(`list: ${res.status} ${JSON.stringify(res.body)}`);
            listed = res.body.executions.length;
            samples.push(res.ms);
          }
          list = summarize(samples);
        } finally {
          await gateway.proc.stop();
          await sched.proc.stop();
        }
        const point = {
          records: size,
          loaded,
          spawnToListeningMs: median(readyMs),
          startupMsLogged: median(startupMs),
          allSpawnToListeningMs: readyMs,
          listP50Ms: list.p50,
          listP99Ms: list.p99,
          listed,
          rssMiB: rssBytes / 2 ** 20,
        };
        points.push(point);
        progress(
          `store ${size}: start-up ${Math.round(point.spawnToListeningMs)} ms (startupMs ${point.startupMsLogged}), list p50 ${list.p50.toFixed(2)} ms p99 ${list.p99.toFixed(2)} ms`,
        );
        const k = `${Math.round(size / 1000)}k`;
        const note = size === TARGET_RECORDS ? undefined : `target is for ${TARGET_RECORDS / 1000}k`;
        metrics.push({
          metric: `start-up, ${k} records (spawn → listening)`,
          value: point.spawnToListeningMs,
          unit: 'ms',
          target: { op: '<=', value: 5000 },
          ...(note ? { targetNote: note } : {}),
        });
        metrics.push({ metric: `startupMs logged, ${k}`, value: point.startupMsLogged, unit: 'ms' });
        metrics.push({
          metric: `list limit=50 p50, ${k}`,
          value: list.p50,
          unit: 'ms',
          target: { op: '<=', value: 20 },
          ...(note ? { targetNote: note } : {}),
        });
        metrics.push({ metric: `list limit=50 p99, ${k}`, value: list.p99, unit: 'ms' });
        const big = size === BIG_TARGET_RECORDS;
        metrics.push({ metric: `scheduler RSS after start-up, ${k}`, value: point.rssMiB, unit: 'MiB', ...(big ? { target: { op: '<=', value: 1536 } } : {}) });
        if (big) metrics.push({ metric: `start-up, ${k} records ≤ 20 s`, value: point.spawnToListeningMs / 1000, unit: 's', target: { op: '<=', value: 20 } });
      }
      const notes = [
        `start-up is the median of ${cfg.storeStartupRuns} run(s) with the files in the page cache; list latency over ${cfg.listSamples} sequential requests.`,
      ];
      for (const p of points) {
        if (p.loaded !== p.records) notes.push(`${p.records} records written but the scheduler loaded ${p.loaded}.`);
        if (p.listed !== 50) notes.push(`list returned ${p.listed} executions, not 50.`);
      }
      return { numbers: { points }, metrics, notes };
    } finally {
      await releaseDataDir(dataDir);
    }
  },
};
