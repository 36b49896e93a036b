/**
 * Scenario 7 — memory: RSS (and PSS) of one worker process and of each of its runtime children,
 * idle, with 1 warm function and with N warm functions (each registered and invoked once). The
 * pool's own cap on live processes decides how many stay warm; the scenario reports how many did.
 */
import { TRIVIAL_CODE } from '../lib/handlers.js';
import { invokeSync, putFunction, request, sleep } from '../lib/http.js';
import { MiB, childPids, processMemory, sandboxMemory, type ProcMemory } from '../lib/proc-memory.js';
import type { Metric } from '../lib/report.js';
import type { Scenario } from '../lib/scenario.js';
import { startStack } from '../lib/stack.js';
import { summarize } from '../lib/stats.js';

/** ms after the last invoke before reading /proc, so refills and GC have settled. */
const SETTLE_MS = 1000;

interface Snapshot {
  functions: number;
  /** fn@version the scheduler lists as warm on the worker. */
  warmReported: number;
  workerRssMiB: number;
  sandboxes: number;
  sandboxRssP50MiB: number;
  sandboxRssMaxMiB: number;
  sandboxPssP50MiB: number | null;
  totalRssMiB: number;
  totalPssMiB: number | null;
}

async function snapshot(url: string, workerPid: number, functions: number): Promise<Snapshot> {
  await sleep(SETTLE_MS);
  const worker = processMemory(workerPid);
  if (!worker) throw new Error('worker process is gone');
  const kids = childPids(workerPid)
    .map((pid) => sandboxMemory(pid))
    .filter((m): m is ProcMemory => m !== null);
  const workers = (await request<{ workers: Array<{ warm: string[] }> }>(url, 'GET', '/v1/workers')).body.workers;
  const rss = summarize(kids.map((k) => k.rssBytes / MiB));
  const pssKnown = worker.pssBytes !== null && kids.every((k) => k.pssBytes !== null);
  const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);
  return {
    functions,
    warmReported: workers[0]?.warm.length ?? 0,
    workerRssMiB: worker.rssBytes / MiB,
    sandboxes: kids.length,
    sandboxRssP50MiB: rss.p50,
    sandboxRssMaxMiB: rss.max,
    sandboxPssP50MiB: pssKnown ? summarize(kids.map((k) => k.pssBytes! / MiB)).p50 : null,
    totalRssMiB: (worker.rssBytes + sum(kids.map((k) => k.rssBytes))) / MiB,
    totalPssMiB: pssKnown ? (worker.pssBytes! + sum(kids.map((k) => k.pssBytes!))) / MiB : null,
  };
}

const describe = (s: Snapshot): string =>
  `${s.functions} fn: worker ${s.workerRssMiB.toFixed(1)} MiB, ${s.sandboxes} sandboxes (${s.warmReported} warm) p50 ${s.sandboxRssP50MiB.toFixed(1)} / max ${s.sandboxRssMaxMiB.toFixed(1)} MiB RSS, total ${s.totalRssMiB.toFixed(1)} MiB RSS${s.totalPssMiB !== null ? ` / ${s.totalPssMiB.toFixed(1)} MiB PSS` : ''}`;

export const memoryScenario: Scenario = {
  name: 'memory',
  title: '7 memory',
  async run({ cfg, progress }) {
    // Room for every function to stay warm (plus the prewarmed ones), so 50 warm sandboxes are measured.
    const stack = await startStack({ workers: 1, capacity: cfg.capacity, maxSandboxes: cfg.memoryFunctions + 8 });
    try {
      const pid = stack.workers[0]!.pid;
      const idle = await snapshot(stack.url, pid, 0);
      progress(`memory ${describe(idle)}`);
      const warmUp = async (from: number, to: number): Promise<void> => {
        for (let i = from; i < to; i++) {
          await putFunction(stack.url, `mem-${i}`, `${TRIVIAL_CODE}// mem-${i}\n`);
          await invokeSync(stack.url, `mem-${i}`);
        }
      };
      await warmUp(0, 1);
      const one = await snapshot(stack.url, pid, 1);
      progress(`memory ${describe(one)}`);
      await warmUp(1, cfg.memoryFunctions);
      const many = await snapshot(stack.url, pid, cfg.memoryFunctions);
      progress(`memory ${describe(many)}`);
      const notes = ["RSS counts shared pages (Node's code) in every process; PSS splits them, so PSS totals are the memory really used."];
      if (many.warmReported < cfg.memoryFunctions) {
        notes.push(`${cfg.memoryFunctions} functions invoked, but the worker kept ${many.warmReported} warm: the worker's --max-sandboxes cap was reached.`);
      }
      const n = cfg.memoryFunctions;
      const metrics: Metric[] = [
        { metric: 'worker RSS, idle', value: idle.workerRssMiB, unit: 'MiB' },
        { metric: 'worker RSS, 1 warm fn', value: one.workerRssMiB, unit: 'MiB' },
        { metric: 'sandboxes (warm) with 1 fn', value: one.sandboxes, unit: `(${one.warmReported} warm)` },
        { metric: 'sandbox RSS max, 1 warm fn', value: one.sandboxRssMaxMiB, unit: 'MiB' },
        { metric: 'worker + sandboxes RSS, 1 fn', value: one.totalRssMiB, unit: 'MiB' },
        { metric: `worker RSS, ${n} fns`, value: many.workerRssMiB, unit: 'MiB' },
        { metric: `sandboxes (warm) with ${n} fns`, value: many.sandboxes, unit: `(${many.warmReported} warm)` },
        { metric: `warm sandbox RSS p50, ${n} fns`, value: many.sandboxRssP50MiB, unit: 'MiB', target: { op: '<=', value: 45 } },
        { metric: `sandbox RSS max, ${n} fns`, value: many.sandboxRssMaxMiB, unit: 'MiB' },
        { metric: `worker + sandboxes RSS, ${n} fns`, value: many.totalRssMiB, unit: 'MiB' },
        { metric: `worker + sandboxes PSS, ${n} fns`, value: many.totalPssMiB ?? NaN, unit: 'MiB' },
      ];
      return { numbers: { idle, one, many }, metrics, notes };
    } finally {
      await stack.close();
    }
  },
};
