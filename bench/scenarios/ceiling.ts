/**
 * Scenario 1 — the ceiling: a bare Fastify app (lib/ceiling-server.ts) running the same trivial
 * handler in-process, loaded exactly like TaskForge's sync invoke at each concurrency. Beside it,
 * the machine's baseline (lib/machine-baseline.ts): what a process round trip and a file creation
 * cost here, the two costs TaskForge adds to the ceiling's path.
 */
import { join } from 'node:path';
import { makeDataDir } from '../lib/data-dirs.js';
import { describeLoad, runLoad } from '../lib/load.js';
import { fileCreateCpuUs, processRoundTrip } from '../lib/machine-baseline.js';
import { EVENT_BODY } from '../lib/handlers.js';
import { spawnNode } from '../lib/proc.js';
import type { CeilingPoint, Scenario } from '../lib/scenario.js';

const SERVER = join(import.meta.dirname, '..', 'lib', 'ceiling-server.js');
/** ms between round trips for the "after idle" baseline: about a CPU-bound invoke's gap. */
const IDLE_GAP_MS = 4;

export const ceilingScenario: Scenario = {
  name: 'ceiling',
  title: '1 ceiling (bare Fastify)',
  async run({ cfg, progress }) {
    const proc = spawnNode('ceiling', [SERVER]);
    try {
      const { line } = await proc.waitForLine('ceiling listening', 15_000);
      const url = `http://127.0.0.1:${line.port as number}`;
      const base = { url, path: '/v1/functions/ceiling/invoke', body: EVENT_BODY, expectStatus: 200 };
      await runLoad({ ...base, connections: 50, durationSeconds: cfg.warmupSeconds });
      const points: CeilingPoint[] = [];
      for (const c of cfg.syncConcurrency) {
        const r = await runLoad({ ...base, connections: c, durationSeconds: cfg.loadSeconds });
        progress(`ceiling c=${c}: ${describeLoad(r)}`);
        points.push({ connections: c, rps: r.rps, p50Ms: r.latency.p50, p99Ms: r.latency.p99 });
      }
      await proc.stop();
      const busy = await processRoundTrip(cfg.quick ? 2_000 : 5_000, 0);
      const idle = await processRoundTrip(cfg.quick ? 200 : 500, IDLE_GAP_MS);
      const fileUs = fileCreateCpuUs(join(await makeDataDir('machine-baseline'), 'files'), cfg.quick ? 500 : 1_000);
      progress(
        `machine: process round trip ${busy.wallUsP50.toFixed(0)} µs, CPU ${busy.cpuUs.toFixed(0)} µs back to back, ${idle.cpuUs.toFixed(0)} µs after ${IDLE_GAP_MS} ms idle; file create ${fileUs.toFixed(0)} µs CPU`,
      );
      return {
        numbers: { points, machine: { roundTripBusy: busy, roundTripAfterIdle: idle, fileCreateCpuUs: fileUs } },
        metrics: [
          ...points.flatMap((p) => [
            { metric: `req/s c=${p.connections}`, value: p.rps, unit: 'req/s' },
            { metric: `p50 c=${p.connections}`, value: p.p50Ms, unit: 'ms' },
            { metric: `p99 c=${p.connections}`, value: p.p99Ms, unit: 'ms' },
          ]),
          { metric: 'process round trip (IPC), back to back: wall p50', value: busy.wallUsP50, unit: 'µs' },
          { metric: 'process round trip, back to back: CPU', value: busy.cpuUs, unit: 'µs' },
          { metric: `process round trip, after ${IDLE_GAP_MS} ms idle: CPU`, value: idle.cpuUs, unit: 'µs' },
          { metric: 'file create + rename (no fsync): CPU', value: fileUs, unit: 'µs' },
        ],
        notes: [
          `machine baseline: CPU of both processes per IPC round trip; a sync invoke makes four process round trips (client, gateway, scheduler, worker, sandbox) and the store creates about one file per execution.`,
        ],
      };
    } finally {
      await proc.stop();
    }
  },
};
