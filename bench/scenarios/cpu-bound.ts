/**
 * Scenario 5 — CPU-bound: a handler doing a fixed amount of work that takes ~5 ms of CPU alone
 * (calibrated here, at start), sync-invoked with enough connections to keep 2 workers full.
 * Throughput is compared with the machine's theoretical rate, cores ÷ 5 ms, and with the same
 * handler run back to back in one bare process per core (lib/cpu-baseline.ts): what the machine
 * gives this work with no platform at all. Where the difference goes is read from /proc during
 * the measured run (lib/role-cpu.ts): CPU per execution of the sandboxes, of the gateway,
 * scheduler and workers, and of the load generator. The handler reports the CPU it used, and it
 * is invoked alone afterwards, so the 5 ms can be checked in the sandbox. The design floor
 * (lib/floor.ts) then runs the same handler in as many sandboxes, loaded and read the same way:
 * what TaskForge's shape alone leaves of the machine for this work.
 */
import { availableParallelism } from 'node:os';
import { bareCpuRate } from '../lib/cpu-baseline.js';
import { EVENT_BODY, calibrateBurn, cpuCode } from '../lib/handlers.js';
import { floorPids, startFloor } from '../lib/floor.js';
import { invokeSync, putFunction } from '../lib/http.js';
import { describeLoad, type LoadResult } from '../lib/load.js';
import { loadWithSplit, splitText } from '../lib/role-cpu.js';
import { ceilingAt, pctOf, type Scenario } from '../lib/scenario.js';
import { startStack } from '../lib/stack.js';
import { summarize } from '../lib/stats.js';

const FN = 'bench-cpu';
const ALONE_SAMPLES = 20;

/** What this scenario reads of a sync invoke's reply (the execution record): the handler returns its CPU ms. */
interface BurnReply {
  durationMs: number | null;
  output?: { cpuMs?: number } | null;
}

/** gateway + scheduler (all threads) + workers, ms per execution. */
const platformMsOf = (split: Record<string, number>): number =>
  (split.gateway ?? NaN) + (split['scheduler, main thread'] ?? NaN) + (split['scheduler, other threads'] ?? NaN) + (split.workers ?? NaN);

export const cpuBoundScenario: Scenario = {
  name: 'cpu-bound',
  title: '5 CPU-bound',
  async run({ cfg, ceiling, progress }) {
    const { iterations, cpuMs: calibratedMs } = await calibrateBurn(cfg.cpuMs);
    const cores = availableParallelism();
    const theoretical = cores / (cfg.cpuMs / 1000);
    const bare = await bareCpuRate(iterations, cores, cfg.cpuBaselineSeconds);
    const barePct = (100 * bare.perSecond) / theoretical;
    progress(`bare: ${cores} processes ran the handler ${Math.round(bare.perSecond)} times/s = ${barePct.toFixed(1)} % of ${Math.round(theoretical)}/s`);
    const load = {
      path: `/v1/functions/${FN}/invoke?mode=sync`,
      body: EVENT_BODY,
      expectStatus: 200,
      connections: cfg.cpuConnections,
      durationSeconds: cfg.loadSeconds,
    };
    const stack = await startStack({ workers: cfg.workers, capacity: cfg.capacity });
    let tf: { r: LoadResult; split: Record<string, number>; aloneMs: number; sandboxCpuMs: number };
    try {
      await putFunction(stack.url, FN, cpuCode(iterations));
      await invokeSync(stack.url, FN);
      const pids = { gateway: stack.gateway.pid, scheduler: stack.scheduler.proc.pid, workers: stack.workers.map((w) => w.pid) };
      const { r, split } = await loadWithSplit({ ...load, url: stack.url }, cfg.cpuWarmupSeconds, pids, 'cpu', progress);
      const alone: number[] = [];
      const sandboxCpu: number[] = [];
      for (let i = 0; i < ALONE_SAMPLES; i++) {
        const body = (await invokeSync<BurnReply>(stack.url, FN)).body;
        alone.push(Number(body.durationMs));
        sandboxCpu.push(Number(body.output?.cpuMs));
      }
      tf = { r, split, aloneMs: summarize(alone).p50, sandboxCpuMs: summarize(sandboxCpu).p50 };
    } finally {
      await stack.close();
    }
    const { r, split, aloneMs, sandboxCpuMs } = tf;
    const pct = (100 * r.rps) / theoretical;
    progress(
      `cpu-bound: ${describeLoad(r)} = ${pct.toFixed(1)} % of ${Math.round(theoretical)}/s; handler alone ${aloneMs} ms (${sandboxCpuMs.toFixed(2)} ms CPU in the sandbox)`,
    );
    progress(`cpu-bound: CPU ms per execution: ${splitText(split)}`);

    // The same load, warm-up included, on the design floor with the same handler and sandboxes.
    const floorStack = await startFloor(cfg.workers, cfg.capacity, 'design', { burn: iterations });
    let floor: { r: LoadResult; split: Record<string, number> };
    try {
      floor = await loadWithSplit({ ...load, url: floorStack.url }, cfg.cpuWarmupSeconds, floorPids(floorStack), 'design floor', progress);
    } finally {
      await floorStack.close();
    }
    const floorPct = (100 * floor.r.rps) / theoretical;
    progress(
      `design floor: ${describeLoad(floor.r)} = ${floorPct.toFixed(1)} % of ${Math.round(theoretical)}/s; CPU ms per execution: ${splitText(floor.split)}`,
    );

    const ceil = ceilingAt(ceiling, cfg.cpuConnections);
    const notes = [
      `${iterations.toLocaleString('en-US')} loop iterations = ${calibratedMs.toFixed(2)} ms CPU in the bench process, ${sandboxCpuMs.toFixed(2)} ms in a sandbox; ${cfg.workers} workers × capacity ${cfg.capacity}, ${cfg.cpuConnections} connections, ${cfg.cpuWarmupSeconds} s warm-up.`,
      `bare baseline: the same handler back to back in ${cores} plain processes for ${cfg.cpuBaselineSeconds} s, ${Math.round(bare.perSecond)} calls/s.`,
      `CPU ms per execution during the measured run (/proc): ${splitText(split)}.`,
      `design floor (lib/floor.ts: gateway, scheduler and ${cfg.workers} workers × ${cfg.capacity} sandboxes forwarding over the same transports, no records or disk), the same handler, connections and warm-up: ${describeLoad(floor.r)}; CPU ms per execution: ${splitText(floor.split)}.`,
    ];
    for (const [who, run] of [
      ['TaskForge', r],
      ['design floor', floor.r],
    ] as const) {
      if (run.unexpected + run.errors + run.timeouts)
        notes.push(`${who}: non-200 answers: ${JSON.stringify(run.statusCounts)}, errors ${run.errors}, timeouts ${run.timeouts}.`);
    }
    return {
      numbers: {
        cores,
        cpuMs: cfg.cpuMs,
        iterations,
        theoreticalPerSecond: theoretical,
        rps: r.rps,
        pctOfTheoretical: pct,
        bareProcesses: bare.processes,
        barePerSecond: bare.perSecond,
        barePctOfTheoretical: barePct,
        pctOfBare: pctOf(r.rps, bare.perSecond),
        cpuMsPerExecution: split,
        p50Ms: r.latency.p50,
        p99Ms: r.latency.p99,
        handlerAloneMs: aloneMs,
        calibratedCpuMs: calibratedMs,
        sandboxCpuMs,
        pctOfCeiling: pctOf(r.rps, ceil?.rps),
        floor: { rps: floor.r.rps, pctOfTheoretical: floorPct, p50Ms: floor.r.latency.p50, cpuMsPerExecution: floor.split },
        pctOfFloor: pctOf(r.rps, floor.r.rps),
      },
      metrics: [
        { metric: 'req/s', value: r.rps, unit: 'req/s' },
        { metric: `% of theoretical (${cores} cores ÷ ${cfg.cpuMs} ms)`, value: pct, unit: '%', target: { op: '>=', value: 80 } },
        { metric: `same handler in ${cores} bare processes: % of theoretical`, value: barePct, unit: '%' },
        { metric: 'req/s ÷ bare processes', value: pctOf(r.rps, bare.perSecond), unit: '%' },
        { metric: 'design floor, same handler: % of theoretical', value: floorPct, unit: '%' },
        { metric: 'req/s ÷ design floor', value: pctOf(r.rps, floor.r.rps), unit: '%' },
        { metric: 'CPU per execution: sandboxes (handler included)', value: split.sandboxes ?? NaN, unit: 'ms' },
        { metric: 'CPU per execution: gateway + scheduler + workers', value: platformMsOf(split), unit: 'ms' },
        { metric: 'design floor: CPU per execution: sandboxes', value: floor.split.sandboxes ?? NaN, unit: 'ms' },
        { metric: 'design floor: CPU per execution: gateway + scheduler + workers', value: platformMsOf(floor.split), unit: 'ms' },
        { metric: `% of trivial-handler ceiling c=${ceil?.connections ?? '?'}`, value: pctOf(r.rps, ceil?.rps), unit: '%' },
        { metric: 'p50', value: r.latency.p50, unit: 'ms' },
        { metric: 'handler CPU in the sandbox, alone (p50)', value: sandboxCpuMs, unit: 'ms' },
        { metric: 'execution durationMs, alone (p50)', value: aloneMs, unit: 'ms' },
      ],
      notes,
    };
  },
};
