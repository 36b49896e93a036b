/**
 * Scenario 9 — delayed scale: delayed executions not yet due (queued with a scheduledFor 1 h to
 * 30 days ahead, lib/records.ts) written straight into a data dir, then the scheduler is started
 * on it and timed from spawn to its 'scheduler listening' line, like store-scale does for
 * terminal records. Each delayed record goes into the due index (one heap, one timer), not a
 * timer each, so start-up should cost about what the same number of terminal records costs.
 * After start-up, GET /v1/stats must say they are all queued and none is in the ready queue.
 */
import { performance } from 'node:perf_hooks';
import { makeDataDir, releaseDataDir } from '../lib/data-dirs.js';
import { TRIVIAL_CODE } from '../lib/handlers.js';
import { request } from '../lib/http.js';
import type { Metric } from '../lib/report.js';
import { writeDelayedExecutions } from '../lib/records.js';
import type { Scenario } from '../lib/scenario.js';
import { registerFunction, startGateway, startScheduler, type SchedulerStart } from '../lib/stack.js';
import { median } from '../lib/stats.js';

const FN = 'bench-delayed';
/** The size the target is stated for. */
const TARGET_RECORDS = 100_000;

export const delayedScaleScenario: Scenario = {
  name: 'delayed-scale',
  title: '9 delayed scale',
  async run({ cfg, progress }) {
    const dataDir = await makeDataDir('delayed');
    try {
      await registerFunction(dataDir, FN, TRIVIAL_CODE);
      const sizes = [...cfg.storeSizes].sort((a, b) => a - b);
      const points = [];
      const metrics: Metric[] = [];
      const notes: string[] = [];
      let written = 0;
      for (const size of sizes) {
        const t0 = performance.now();
        await writeDelayedExecutions(dataDir, FN, size - written, written);
        written = size;
        progress(`delayed: ${size.toLocaleString('en-US')} delayed records on disk (wrote in ${((performance.now() - t0) / 1000).toFixed(1)} s)`);
        const readyMs: number[] = [];
        const startupMs: number[] = [];
        let sched: SchedulerStart | null = null;
        for (let run = 0; run < cfg.storeStartupRuns; run++) {
          sched = await startScheduler(dataDir);
          readyMs.push(sched.readyMs);
          startupMs.push(Number(sched.line.startupMs));
          if (run < cfg.storeStartupRuns - 1) await sched.proc.stop();
        }
        if (!sched) throw new Error(`delayed-scale needs at least one start-up run (storeStartupRuns is ${cfg.storeStartupRuns})`);
        const last = sched;
        const gateway = await startGateway(last).catch(async (err: unknown) => {
          await last.proc.stop();
          throw err;
        });
        let stats: { executions: { queued: number }; queueDepth: number };
        try {
          const res = await request<{ executions: { queued: number }; queueDepth: number }>(gateway.url, 'GET', '/v1/stats');
          if (res.status !== 200) throw new Error(`stats: ${res.status} ${JSON.stringify(res.body)}`);
          stats = res.body;
        } finally {
          await gateway.proc.stop();
          await last.proc.stop();
        }
        if (stats.executions.queued !== size) notes.push(`${size} delayed records written but ${stats.executions.queued} are queued.`);
        if (stats.queueDepth !== 0) notes.push(`${stats.queueDepth} delayed records are in the ready queue before their time.`);
        const point = {
          records: size,
          spawnToListeningMs: median(readyMs),
          startupMsLogged: median(startupMs),
          queued: stats.executions.queued,
          queueDepth: stats.queueDepth,
        };
        points.push(point);
        progress(
          `delayed ${size}: start-up ${Math.round(point.spawnToListeningMs)} ms (startupMs ${point.startupMsLogged}), queued ${point.queued}, ready ${point.queueDepth}`,
        );
        const k = `${Math.round(size / 1000)}k`;
        const note = size === TARGET_RECORDS ? undefined : `target is for ${TARGET_RECORDS / 1000}k`;
        metrics.push({
          metric: `start-up, ${k} delayed (spawn → listening)`,
          value: point.spawnToListeningMs,
          unit: 'ms',
          target: { op: '<=', value: 5000 },
          ...(note ? { targetNote: note } : {}),
        });
        metrics.push({ metric: `startupMs logged, ${k} delayed`, value: point.startupMsLogged, unit: 'ms' });
      }
      notes.unshift(`start-up is the median of ${cfg.storeStartupRuns} run(s) with the files in the page cache.`);
      return { numbers: { points }, metrics, notes };
    } finally {
      await releaseDataDir(dataDir);
    }
  },
};
