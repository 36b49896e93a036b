/**
 * Scenario 1 — the ceiling: a bare Fastify app (lib/ceiling-server.ts) running the same trivial
 * handler in-process, loaded exactly like TaskForge's sync invoke at each concurrency. Beside it,
 * the design floor (lib/floor.ts): TaskForge's processes and transports doing nothing but
 * forwarding, loaded the same way — the best any implementation of this design can do here —
 * and two other shapes of the same path, doing as little, at the lowest and highest concurrency:
 * the gateway inside the scheduler, and one process with the sandboxes (which shape would reach
 * the targets); and the machine's baseline (lib/machine-baseline.ts): what a process round trip
 * and a file creation cost here, the two costs TaskForge adds to the ceiling's path.
 */
import { join } from 'node:path';
import { makeDataDir } from '../lib/data-dirs.js';
import { startFloor, type FloorShape } from '../lib/floor.js';
import { describeLoad, runLoad } from '../lib/load.js';
import { fileCreateCpuUs, processRoundTrip } from '../lib/machine-baseline.js';
import { EVENT_BODY } from '../lib/handlers.js';
import { spawnNode } from '../lib/proc.js';
import type { BenchConfig } from '../lib/config.js';
import { pctOf, type CeilingPoint, type Scenario } from '../lib/scenario.js';

const SERVER = join(import.meta.dirname, '..', 'lib', 'ceiling-server.js');
/** ms between round trips for the "after idle" baseline: about a CPU-bound invoke's gap. */
const IDLE_GAP_MS = 4;
const PATH = '/v1/functions/ceiling/invoke';

/** The other shapes, measured beside the design floor; named as the report shows them. */
const OTHER_SHAPES: ReadonlyArray<{ shape: FloorShape; label: string }> = [
  { shape: 'http-in-scheduler', label: 'shape: HTTP in the scheduler' },
  { shape: 'single-process', label: 'shape: one process + sandboxes' },
];

/** A warm-up at the highest concurrency, then one measured run at each (default: every one). */
async function loadPoints(cfg: BenchConfig, url: string, label: string, progress: (m: string) => void, levels = cfg.syncConcurrency): Promise<CeilingPoint[]> {
  const base = { url, path: PATH, body: EVENT_BODY, expectStatus: 200 };
  await runLoad({ ...base, connections: Math.max(...cfg.syncConcurrency), durationSeconds: cfg.warmupSeconds });
  const points: CeilingPoint[] = [];
  for (const c of levels) {
    const r = await runLoad({ ...base, connections: c, durationSeconds: cfg.loadSeconds });
    progress(`${label} c=${c}: ${describeLoad(r)}`);
    points.push({ connections: c, rps: r.rps, p50Ms: r.latency.p50, p99Ms: r.latency.p99 });
  }
  return points;
}

export const ceilingScenario: Scenario = {
  name: 'ceiling',
  title: '1 ceiling (bare Fastify)',
  async run({ cfg, progress }) {
    const proc = spawnNode('ceiling', [SERVER]);
    try {
      const { line } = await proc.waitForLine('ceiling listening', 15_000);
      const points = await loadPoints(cfg, `http://127.0.0.1:${line.port as number}`, 'ceiling', progress);
      await proc.stop();
      const floorStack = await startFloor(cfg.workers, cfg.capacity);
      let floor: CeilingPoint[];
      try {
        floor = await loadPoints(cfg, floorStack.url, 'design floor', progress);
      } finally {
        await floorStack.close();
      }
      const low = Math.min(...cfg.syncConcurrency);
      const high = Math.max(...cfg.syncConcurrency);
      // The targets' two concurrencies only: enough to say whether a shape reaches them.
      const shapes: Partial<Record<FloorShape, CeilingPoint[]>> = {};
      for (const { shape, label } of OTHER_SHAPES) {
        const other = await startFloor(cfg.workers, cfg.capacity, shape);
        try {
          shapes[shape] = await loadPoints(cfg, other.url, label, progress, [...new Set([low, high])]);
        } finally {
          await other.close();
        }
      }
      const ceilingP = (c: number): CeilingPoint => points.find((p) => p.connections === c)!;
      const busy = await processRoundTrip(cfg.quick ? 2_000 : 5_000, 0);
      const idle = await processRoundTrip(cfg.quick ? 200 : 500, IDLE_GAP_MS);
      const fileUs = fileCreateCpuUs(join(await makeDataDir('machine-baseline'), 'files'), cfg.quick ? 500 : 1_000);
      progress(
        `machine: process round trip ${busy.wallUsP50.toFixed(0)} µs, CPU ${busy.cpuUs.toFixed(0)} µs back to back, ${idle.cpuUs.toFixed(0)} µs after ${IDLE_GAP_MS} ms idle; file create ${fileUs.toFixed(0)} µs CPU`,
      );
      return {
        numbers: { points, floor, shapes, machine: { roundTripBusy: busy, roundTripAfterIdle: idle, fileCreateCpuUs: fileUs } },
        metrics: [
          ...points.flatMap((p) => [
            { metric: `req/s c=${p.connections}`, value: p.rps, unit: 'req/s' },
            { metric: `p50 c=${p.connections}`, value: p.p50Ms, unit: 'ms' },
            { metric: `p99 c=${p.connections}`, value: p.p99Ms, unit: 'ms' },
          ]),
          ...floor.flatMap((f, i) => [
            { metric: `design floor: req/s c=${f.connections}`, value: f.rps, unit: 'req/s' },
            { metric: `design floor: req/s c=${f.connections} % of ceiling`, value: pctOf(f.rps, points[i]!.rps), unit: '%' },
            { metric: `design floor: p50 c=${f.connections}`, value: f.p50Ms, unit: 'ms' },
            ...(f.connections === low ? [{ metric: `design floor: p50 c=${low} ÷ ceiling p50`, value: f.p50Ms / points[i]!.p50Ms, unit: '×' }] : []),
          ]),
          ...OTHER_SHAPES.flatMap(({ shape, label }) =>
            shapes[shape]!.flatMap((p) => [
              { metric: `${label}: req/s c=${p.connections}`, value: p.rps, unit: 'req/s' },
              ...(p.connections === high ? [{ metric: `${label}: req/s c=${high} % of ceiling`, value: pctOf(p.rps, ceilingP(high).rps), unit: '%' }] : []),
              { metric: `${label}: p50 c=${p.connections}`, value: p.p50Ms, unit: 'ms' },
              ...(p.connections === low ? [{ metric: `${label}: p50 c=${low} ÷ ceiling p50`, value: p.p50Ms / ceilingP(low).p50Ms, unit: '×' }] : []),
            ]),
          ),
          { metric: 'process round trip (IPC), back to back: wall p50', value: busy.wallUsP50, unit: 'µs' },
          { metric: 'process round trip, back to back: CPU', value: busy.cpuUs, unit: 'µs' },
          { metric: `process round trip, after ${IDLE_GAP_MS} ms idle: CPU`, value: idle.cpuUs, unit: 'µs' },
          { metric: 'file create + rename (no fsync): CPU', value: fileUs, unit: 'µs' },
        ],
        notes: [
          `design floor: gateway (Fastify), scheduler and ${cfg.workers} workers × ${cfg.capacity} sandboxes in their own processes, gRPC bidi streams between gateway, scheduler and workers and Node IPC to the sandboxes as in TaskForge, doing nothing but forwarding (no validation, records, disk or protobuf): the best any implementation of this design, with these transports, can reach on this machine.`,
          `other shapes, doing as little as the design floor, at c=${low} and c=${high}: HTTP in the scheduler (scheduler with Fastify → ${cfg.workers} workers over gRPC → sandboxes over IPC: 3 processes on the path); one process + sandboxes (Fastify with ${cfg.workers * cfg.capacity} sandboxes over IPC: 2 processes on the path).`,
          `machine baseline: CPU of both processes per IPC round trip; a sync invoke makes four process round trips (client, gateway, scheduler, worker, sandbox) and the store creates about one file per execution.`,
        ],
      };
    } finally {
      await proc.stop();
    }
  },
};
