/**
 * Scenario 5 — CPU-bound: a handler doing a fixed amount of work that takes ~5 ms of CPU alone
 * (calibrated here, at start), sync-invoked with enough connections to keep 2 workers full.
 * Throughput is compared with the machine's theoretical rate, cores ÷ 5 ms, and with the same
 * handler run back to back in one bare process per core (lib/cpu-baseline.ts): what the machine
 * gives this work with no platform at all. Where the difference goes is read from /proc during
 * the measured run (lib/role-cpu.ts): CPU per execution of the sandboxes, of the gateway,
 * scheduler and workers, and of the load generator. The handler reports the CPU it used, and it
 * is invoked alone afterwards, so the 5 ms can be checked in the sandbox.
 */
import { availableParallelism } from 'node:os';
import { bareCpuRate } from '../lib/cpu-baseline.js';
import { EVENT_BODY, calibrateBurn, cpuCode } from '../lib/handlers.js';
import { invokeSync, putFunction } from '../lib/http.js';
import { describeLoad, runLoad } from '../lib/load.js';
import { cpuPerExecution, readRoleCpu } from '../lib/role-cpu.js';
import { ceilingAt, pctOf, type Scenario } from '../lib/scenario.js';
import { startStack } from '../lib/stack.js';
import { summarize } from '../lib/stats.js';

const FN = 'bench-cpu';
const ALONE_SAMPLES = 20;

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
    const stack = await startStack({ workers: cfg.workers, capacity: cfg.capacity });
    try {
      await putFunction(stack.url, FN, cpuCode(iterations));
      await invokeSync(stack.url, FN);
      const base = { url: stack.url, path: `/v1/functions/${FN}/invoke?mode=sync`, body: EVENT_BODY, expectStatus: 200, connections: cfg.cpuConnections };
      progress(`cpu warm-up: ${describeLoad(await runLoad({ ...base, durationSeconds: cfg.cpuWarmupSeconds }))}`);
      const pids = { gateway: stack.gateway.pid, scheduler: stack.scheduler.proc.pid, workers: stack.workers.map((w) => w.pid) };
      const cpuBefore = readRoleCpu(pids);
      const r = await runLoad({ ...base, durationSeconds: cfg.loadSeconds });
      const cpuAfter = readRoleCpu(pids);
      // No execution answered: no split to show (the notes below say what the answers were).
      const split: Record<string, number> = r.ok > 0 ? Object.fromEntries(cpuPerExecution(cpuBefore, cpuAfter, r.ok).map(({ part, us }) => [part, us / 1000])) : {};
      const sandboxMs = split.sandboxes ?? NaN;
      const platformMs = (split.gateway ?? NaN) + (split['scheduler, main thread'] ?? NaN) + (split['scheduler, other threads'] ?? NaN) + (split.workers ?? NaN);
      const alone: number[] = [];
      const sandboxCpu: number[] = [];
      for (let i = 0; i < ALONE_SAMPLES; i++) {
        const body = (await invokeSync(stack.url, FN)).body;
        alone.push(Number(body.durationMs));
        sandboxCpu.push(Number(body.output?.cpuMs));
      }
      const aloneMs = summarize(alone).p50;
      const sandboxCpuMs = summarize(sandboxCpu).p50;
      const pct = (100 * r.rps) / theoretical;
      const splitText = Object.entries(split).map(([part, ms]) => `${part} ${ms.toFixed(2)}`).join(', ');
      const ceil = ceilingAt(ceiling, cfg.cpuConnections);
      progress(`cpu-bound: ${describeLoad(r)} = ${pct.toFixed(1)} % of ${Math.round(theoretical)}/s; handler alone ${aloneMs} ms (${sandboxCpuMs.toFixed(2)} ms CPU in the sandbox)`);
      progress(`cpu-bound: CPU ms per execution: ${splitText}`);
      const notes = [
        `${iterations.toLocaleString('en-US')} loop iterations = ${calibratedMs.toFixed(2)} ms CPU in the bench process, ${sandboxCpuMs.toFixed(2)} ms in a sandbox; ${cfg.workers} workers × capacity ${cfg.capacity}, ${cfg.cpuConnections} connections, ${cfg.cpuWarmupSeconds} s warm-up.`,
        `bare baseline: the same handler back to back in ${cores} plain processes for ${cfg.cpuBaselineSeconds} s, ${Math.round(bare.perSecond)} calls/s.`,
        `CPU ms per execution during the measured run (/proc): ${splitText}.`,
      ];
      if (r.unexpected + r.errors + r.timeouts) notes.push(`non-200 answers: ${JSON.stringify(r.statusCounts)}, errors ${r.errors}, timeouts ${r.timeouts}.`);
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
        },
        metrics: [
          { metric: 'req/s', value: r.rps, unit: 'req/s' },
          { metric: `% of theoretical (${cores} cores ÷ ${cfg.cpuMs} ms)`, value: pct, unit: '%', target: { op: '>=', value: 80 } },
          { metric: `same handler in ${cores} bare processes: % of theoretical`, value: barePct, unit: '%' },
          { metric: 'req/s ÷ bare processes', value: pctOf(r.rps, bare.perSecond), unit: '%' },
          { metric: 'CPU per execution: sandboxes (handler included)', value: sandboxMs, unit: 'ms' },
          { metric: 'CPU per execution: gateway + scheduler + workers', value: platformMs, unit: 'ms' },
          { metric: `% of trivial-handler ceiling c=${ceil?.connections ?? '?'}`, value: pctOf(r.rps, ceil?.rps), unit: '%' },
          { metric: 'p50', value: r.latency.p50, unit: 'ms' },
          { metric: 'handler CPU in the sandbox, alone (p50)', value: sandboxCpuMs, unit: 'ms' },
          { metric: 'execution durationMs, alone (p50)', value: aloneMs, unit: 'ms' },
        ],
        notes,
      };
    } finally {
      await stack.close();
    }
  },
};
