/**
 * Scenario 8 — idle live-view clients: warm sync invokes at c=1 with no `GET /v1/events` client
 * and with `cfg.idleWatchers` of them open (each watching a function that is never invoked, the
 * way a dashboard tab on another function sits), in alternating rounds on the same stack so
 * drift of the machine falls on both sides. The claim (docs/API-PLATFORM.md "Live views"): idle watchers
 * cost the invoke path nothing measurable — each client's stream is filtered in the scheduler by
 * function, so a change meets only the watchers it matches.
 */
import { request as httpRequest, type ClientRequest } from 'node:http';
import { EVENT_BODY, TRIVIAL_CODE } from '../lib/handlers.js';
import { authHeaders, invokeSync, putFunction } from '../lib/http.js';
import { describeLoad, runLoad, type LoadResult } from '../lib/load.js';
import type { Scenario } from '../lib/scenario.js';
import { startStack } from '../lib/stack.js';
import { median } from '../lib/stats.js';

const FN = 'bench-live';

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

export const liveWatchersScenario: Scenario = {
  name: 'live-watchers',
  title: '8 idle live-view clients',
  async run({ cfg, progress }) {
    const stack = await startStack({ workers: cfg.workers, capacity: cfg.capacity });
    try {
      await putFunction(stack.url, FN, TRIVIAL_CODE);
      await invokeSync(stack.url, FN);
      const base = { url: stack.url, path: `/v1/functions/${FN}/invoke?mode=sync`, body: EVENT_BODY, expectStatus: 200, connections: 1 };
      progress(`warm-up c=1: ${describeLoad(await runLoad({ ...base, durationSeconds: cfg.warmupSeconds }))}`);
      const without: LoadResult[] = [];
      const withWatchers: LoadResult[] = [];
      for (let round = 0; round < cfg.liveRounds; round++) {
        const a = await runLoad({ ...base, durationSeconds: cfg.loadSeconds });
        progress(`round ${round + 1}, no watchers: ${describeLoad(a)}`);
        without.push(a);
        const watchers = await openWatchers(stack.url, cfg.idleWatchers);
        try {
          const b = await runLoad({ ...base, durationSeconds: cfg.loadSeconds });
          progress(`round ${round + 1}, ${cfg.idleWatchers} idle watchers: ${describeLoad(b)}`);
          withWatchers.push(b);
        } finally {
          for (const w of watchers) w.destroy();
        }
      }
      const p50Without = median(without.map((r) => r.latency.p50));
      const p50With = median(withWatchers.map((r) => r.latency.p50));
      const rpsWithout = median(without.map((r) => r.rps));
      const rpsWith = median(withWatchers.map((r) => r.rps));
      return {
        numbers: { idleWatchers: cfg.idleWatchers, rounds: cfg.liveRounds, p50Without, p50With, rpsWithout, rpsWith },
        metrics: [
          { metric: 'sync c=1 p50, no watchers (median of rounds)', value: p50Without, unit: 'ms' },
          { metric: `sync c=1 p50, ${cfg.idleWatchers} idle watchers`, value: p50With, unit: 'ms' },
          { metric: 'p50 with ÷ without', value: p50With / p50Without, unit: '×' },
          { metric: 'req/s with ÷ without', value: rpsWith / rpsWithout, unit: '×' },
        ],
        notes: [`${cfg.liveRounds} alternating rounds of ${cfg.loadSeconds} s; watchers filter on a function that is never invoked.`],
      };
    } finally {
      await stack.close();
    }
  },
};
