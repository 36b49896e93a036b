/**
 * Scenario 8 — what idle work costs the invoke path: warm sync invokes at c=1 (latency) and c=50
 * (throughput) on a stack with nothing else to do, and on a second stack whose store holds
 * `cfg.delayedBacklog` delayed executions (due hours to days ahead, so they wait in the due index
 * the whole time), without and with `cfg.idleWatchers` open `GET /v1/events` streams (each watching
 * a function that is never invoked, the way a dashboard tab on another function sits). Rounds
 * rotate through the three cases so drift of the machine falls on all of them. The claim
 * (docs/API-PLATFORM.md "Live views", docs/QUEUEING.md): neither costs the invoke path more than
 * 5 % — each stream is filtered in the scheduler by function, and delayed executions sit in one
 * heap with one timer, outside the ready queue.
 */
import { request as httpRequest, type ClientRequest } from 'node:http';
import { makeDataDir } from '../lib/data-dirs.js';
import { EVENT_BODY, TRIVIAL_CODE } from '../lib/handlers.js';
import { authHeaders, invokeSync, putFunction } from '../lib/http.js';
import { describeLoad, runLoad, type LoadResult } from '../lib/load.js';
import { writeDelayedExecutions } from '../lib/records.js';
import type { Metric } from '../lib/report.js';
import type { Scenario } from '../lib/scenario.js';
import { registerFunction, startStack, type Stack } from '../lib/stack.js';
import { median } from '../lib/stats.js';

const FN = 'bench-live';
const DELAYED_FN = 'bench-live-delayed';

/** Opens `n` event streams and resolves once every one has answered 200. */
async function openWatchers(url: string, n: number): Promise<ClientRequest[]> {
  const u = new URL(`${url}/v1/events?function=bench-never-invoked`);
  const open = (): Promise<ClientRequest> =>
    new Promise((resolve, reject) => {
      const req = httpRequest(u, { headers: authHeaders(url), agent: false }, (res) => {
        if (res.statusCode !== 200) reject(new Error(`watcher: HTTP ${res.statusCode}`));
        else resolve(req);
        res.resume();
      });
      req.on('error', reject);
      req.end();
    });
  const out: ClientRequest[] = [];
  for (let i = 0; i < n; i += 50) out.push(...(await Promise.all(Array.from({ length: Math.min(50, n - i) }, open))));
  return out;
}

type Case = 'idle' | 'delayed' | 'delayed + watchers';
const CASES: readonly Case[] = ['idle', 'delayed', 'delayed + watchers'];

interface Point {
  c1: LoadResult;
  c50: LoadResult;
}

export const liveWatchersScenario: Scenario = {
  name: 'live-watchers',
  title: '8 idle work beside invokes',
  timeoutMs: 600_000,
  async run({ cfg, progress }) {
    const backlogDir = await makeDataDir('backlog');
    await registerFunction(backlogDir, DELAYED_FN, TRIVIAL_CODE);
    await writeDelayedExecutions(backlogDir, DELAYED_FN, cfg.delayedBacklog);
    progress(`${cfg.delayedBacklog.toLocaleString('en-US')} delayed executions written`);
    const stacks: Stack[] = [];
    try {
      const idle = await startStack({ workers: cfg.workers, capacity: cfg.capacity });
      stacks.push(idle);
      const backlog = await startStack({ workers: cfg.workers, capacity: cfg.capacity, dataDir: backlogDir });
      stacks.push(backlog);
      for (const s of stacks) {
        await putFunction(s.url, FN, TRIVIAL_CODE);
        await invokeSync(s.url, FN);
      }
      const base = { path: `/v1/functions/${FN}/invoke?mode=sync`, body: EVENT_BODY, expectStatus: 200 };
      for (const s of stacks)
        progress(`warm-up c=50: ${describeLoad(await runLoad({ ...base, url: s.url, connections: 50, durationSeconds: cfg.warmupSeconds }))}`);
      const measure = async (url: string, label: string): Promise<Point> => {
        const c1 = await runLoad({ ...base, url, connections: 1, durationSeconds: cfg.loadSeconds });
        const c50 = await runLoad({ ...base, url, connections: 50, durationSeconds: cfg.loadSeconds });
        progress(`${label}: c=1 ${describeLoad(c1)}; c=50 ${describeLoad(c50)}`);
        return { c1, c50 };
      };
      const points: Record<Case, Point[]> = { idle: [], delayed: [], 'delayed + watchers': [] };
      const run = async (c: Case, round: number): Promise<Point> => {
        const label = `round ${round + 1}, ${c === 'idle' ? 'idle' : `${cfg.delayedBacklog} delayed${c === 'delayed' ? '' : ` + ${cfg.idleWatchers} watchers`}`}`;
        if (c !== 'delayed + watchers') return measure(c === 'idle' ? idle.url : backlog.url, label);
        const watchers = await openWatchers(backlog.url, cfg.idleWatchers);
        try {
          return await measure(backlog.url, label);
        } finally {
          for (const w of watchers) w.destroy();
        }
      };
      for (let round = 0; round < cfg.liveRounds; round++) {
        // Each round starts with the next case, so a machine that speeds up or slows down during
        // the scenario does not always favour the same one.
        for (let i = 0; i < CASES.length; i++) {
          const c = CASES[(round + i) % CASES.length]!;
          points[c].push(await run(c, round));
        }
      }
      const summary = Object.fromEntries(
        CASES.map((c) => [c, { p50C1: median(points[c].map((p) => p.c1.latency.p50)), rpsC50: median(points[c].map((p) => p.c50.rps)) }]),
      ) as Record<Case, { p50C1: number; rpsC50: number }>;
      const metrics: Metric[] = [];
      for (const c of CASES) {
        metrics.push({ metric: `${c}: sync c=1 p50 (median of rounds)`, value: summary[c].p50C1, unit: 'ms' });
        metrics.push({ metric: `${c}: sync c=50 req/s`, value: summary[c].rpsC50, unit: 'req/s' });
      }
      const both = summary['delayed + watchers'];
      metrics.push(
        { metric: 'delayed ÷ idle: c=50 req/s', value: summary.delayed.rpsC50 / summary.idle.rpsC50, unit: '×' },
        { metric: 'watchers ÷ none (both with delayed): c=50 req/s', value: both.rpsC50 / summary.delayed.rpsC50, unit: '×' },
        { metric: 'delayed + watchers ÷ idle: c=50 req/s', value: both.rpsC50 / summary.idle.rpsC50, unit: '×', target: { op: '>=', value: 0.95 } },
        { metric: 'delayed + watchers ÷ idle: c=1 p50', value: both.p50C1 / summary.idle.p50C1, unit: '×', target: { op: '<=', value: 1.05 } },
      );
      return {
        numbers: { idleWatchers: cfg.idleWatchers, delayedBacklog: cfg.delayedBacklog, rounds: cfg.liveRounds, summary },
        metrics,
        notes: [
          `${cfg.liveRounds} rounds of ${cfg.loadSeconds} s per case, alternating; two stacks of ${cfg.workers} workers × capacity ${cfg.capacity}, one empty, one with ${cfg.delayedBacklog.toLocaleString('en-US')} delayed executions; watchers filter on a function that is never invoked.`,
        ],
      };
    } finally {
      await Promise.all(stacks.map((s) => s.close()));
    }
  },
};
