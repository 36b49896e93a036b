/**
 * Scenario 1 — the ceiling: a bare Fastify app (lib/ceiling-server.ts) running the same trivial
 * handler in-process, loaded exactly like TaskForge's sync invoke at each concurrency.
 */
import { join } from 'node:path';
import { describeLoad, runLoad } from '../lib/load.js';
import { EVENT_BODY } from '../lib/handlers.js';
import { spawnNode } from '../lib/proc.js';
import type { CeilingPoint, Scenario } from '../lib/scenario.js';

const SERVER = join(import.meta.dirname, '..', 'lib', 'ceiling-server.js');

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
      return {
        numbers: { points },
        metrics: points.flatMap((p) => [
          { metric: `req/s c=${p.connections}`, value: p.rps, unit: 'req/s' },
          { metric: `p50 c=${p.connections}`, value: p.p50Ms, unit: 'ms' },
          { metric: `p99 c=${p.connections}`, value: p.p99Ms, unit: 'ms' },
        ]),
        notes: [],
      };
    } finally {
      await proc.stop();
    }
  },
};
