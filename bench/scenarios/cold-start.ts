/**
 * Scenario 4 — cold start: register fresh functions (each with distinct code, so nothing is
 * cached by hash) and time each one's first sync invoke, on one worker, with the prewarmed pool
 * on and then off (`TASKFORGE_PREWARM=0` in the worker's environment), beside the warm latency of
 * the same function measured the same way. Cold starts are paced so the pool can refill between
 * them, as it would between real deploys.
 */
import { TRIVIAL_CODE } from '../lib/handlers.js';
import { invokeSync, putFunction, sleep } from '../lib/http.js';
import { childPids } from '../lib/proc-memory.js';
import type { Metric } from '../lib/report.js';
import type { Scenario, ScenarioContext } from '../lib/scenario.js';
import { startStack } from '../lib/stack.js';
import { summarize, type Summary } from '../lib/stats.js';

/** ms the worker's set of runtime children must stay unchanged to count as settled. */
const SETTLE_STABLE_MS = 600;
const SETTLE_MAX_MS = 8_000;

/** What this scenario reads of a sync invoke's reply (the execution record). */
interface ColdReply {
  coldStart?: boolean | null;
  timings?: { initMs?: number } | null;
}

interface ColdRun {
  prewarm: boolean;
  /** Runtime processes the worker had before the first invoke. */
  idleChildren: number;
  cold: Summary;
  /** The worker's own view: timings.initMs of each first invoke. */
  initMs: Summary;
  notCold: number;
  warm: Summary;
}

/** Waits until the worker's children stop changing (prewarming done), bounded. */
async function settledChildren(pid: number): Promise<number> {
  const deadline = Date.now() + SETTLE_MAX_MS;
  let last = childPids(pid).sort().join(',');
  let since = Date.now();
  while (Date.now() < deadline) {
    await sleep(100);
    const now = childPids(pid).sort().join(',');
    if (now !== last) {
      last = now;
      since = Date.now();
    } else if (Date.now() - since >= SETTLE_STABLE_MS) break;
  }
  return last ? last.split(',').length : 0;
}

async function measure(ctx: ScenarioContext, prewarm: boolean): Promise<ColdRun> {
  const { cfg, progress } = ctx;
  const stack = await startStack({ workers: 1, capacity: cfg.capacity, workerEnv: prewarm ? {} : { TASKFORGE_PREWARM: '0' } });
  try {
    const idleChildren = await settledChildren(stack.workers[0]!.pid);
    const label = prewarm ? 'on' : 'off';
    const cold: number[] = [];
    const init: number[] = [];
    let notCold = 0;
    let last = '';
    for (let i = 0; i < cfg.coldFunctions; i++) {
      last = `cold-${label}-${i}`;
      await putFunction(stack.url, last, `${TRIVIAL_CODE}// ${last}\n`);
      const res = await invokeSync<ColdReply | null>(stack.url, last);
      cold.push(res.ms);
      init.push(Number(res.body?.timings?.initMs ?? NaN));
      if (res.body?.coldStart !== true) notCold++;
      await sleep(cfg.coldPaceMs);
    }
    const warm: number[] = [];
    for (let i = 0; i < cfg.warmSamples; i++) warm.push((await invokeSync(stack.url, last)).ms);
    const run = { prewarm, idleChildren, cold: summarize(cold), initMs: summarize(init), notCold, warm: summarize(warm) };
    progress(
      `cold start, prewarm ${label}: ${idleChildren} idle runtime processes; first invoke p50 ${run.cold.p50.toFixed(1)} ms p99 ${run.cold.p99.toFixed(1)} ms (initMs p50 ${run.initMs.p50}); warm p50 ${run.warm.p50.toFixed(2)} ms`,
    );
    return run;
  } finally {
    await stack.close();
  }
}

export const coldStartScenario: Scenario = {
  name: 'cold-start',
  title: '4 cold start',
  async run(ctx) {
    const on = await measure(ctx, true);
    const off = await measure(ctx, false);
    const notes = [
      `${ctx.cfg.coldFunctions} fresh functions per case, one worker, ${ctx.cfg.coldPaceMs} ms between cold starts; latency is the client's, of a sync invoke.`,
    ];
    if (off.idleChildren > 0) {
      notes.push(`TASKFORGE_PREWARM=0 was not honoured: the worker still kept ${off.idleChildren} idle runtime processes, so "prewarm off" is not measured.`);
    }
    if (on.idleChildren === 0) notes.push('the worker kept no prewarmed processes with the pool on.');
    if (on.notCold + off.notCold) notes.push(`${on.notCold + off.notCold} first invokes were not reported as cold starts.`);
    const metrics: Metric[] = [
      { metric: 'first invoke p50, prewarm on', value: on.cold.p50, unit: 'ms', target: { op: '<=', value: 20 } },
      { metric: 'first invoke p99, prewarm on', value: on.cold.p99, unit: 'ms' },
      { metric: 'first invoke p50, prewarm off', value: off.idleChildren > 0 ? NaN : off.cold.p50, unit: 'ms' },
      { metric: 'first invoke p99, prewarm off', value: off.idleChildren > 0 ? NaN : off.cold.p99, unit: 'ms' },
      { metric: 'sandbox initMs p50, prewarm on', value: on.initMs.p50, unit: 'ms' },
      { metric: 'sandbox initMs p50, prewarm off', value: off.idleChildren > 0 ? NaN : off.initMs.p50, unit: 'ms' },
      { metric: 'warm invoke p50 (same client)', value: on.warm.p50, unit: 'ms' },
    ];
    return { numbers: { on, off }, metrics, notes };
  },
};
