/**
 * Scenarios 9 and 10 — triggers (docs/TOPICS.md, docs/CRON.md).
 *
 * fan-out: events published to a topic with `fanOutSubscribers` subscribers, as fast as they are
 * accepted (`asyncConnections` connections). Events/s counts 202s; executions/s accepted is that
 * times the subscribers (each 202 means all of them are durable); executions/s completed is every
 * started execution over the time from the first 202 to the moment all are terminal.
 *
 * cron-lateness: `cronFunctions` functions with an every-second schedule for `cronSeconds`; the
 * lateness of a tick is its execution's `createdAt` − `trigger.tick` (when it was accepted) and
 * `startedAt` − `trigger.tick` (when it began to run).
 */
import { performance } from 'node:perf_hooks';
import { TRIVIAL_CODE } from '../lib/handlers.js';
import { clientFor, putFunction, sleep, terminalCount } from '../lib/http.js';
import { describeLoad, runLoad } from '../lib/load.js';
import type { Scenario } from '../lib/scenario.js';
import { startStack } from '../lib/stack.js';
import { summarize } from '../lib/stats.js';

const TOPIC = 'bench.fan-out';

export const fanOutScenario: Scenario = {
  name: 'fan-out',
  title: '9 topic fan-out',
  async run({ cfg, progress }) {
    const stack = await startStack({ workers: cfg.workers, capacity: cfg.capacity });
    try {
      for (let i = 0; i < cfg.fanOutSubscribers; i++) {
        await putFunction(stack.url, `bench-sub-${i}`, TRIVIAL_CODE, { triggers: [{ type: 'topic', topic: TOPIC }] });
      }
      const before = await terminalCount(stack.url);
      const path = `/v1/topics/${TOPIC}/events`;
      const warm = await runLoad({ url: stack.url, path, body: '{"n":1}', expectStatus: 202, connections: 4, amount: 50 });
      progress(`warm-up: ${describeLoad(warm)}`);
      const load = await runLoad({
        url: stack.url,
        path,
        body: '{"n":1}',
        expectStatus: 202,
        connections: cfg.asyncConnections,
        amount: cfg.fanOutEvents,
        maxSeconds: cfg.asyncSendMaxSeconds,
      });
      progress(`publish: ${describeLoad(load)}`);
      const started = (warm.ok + load.ok) * cfg.fanOutSubscribers;
      const deadline = Date.now() + cfg.asyncCompleteTimeoutMs;
      let done = (await terminalCount(stack.url)) - before;
      while (done < started && Date.now() < deadline) {
        await sleep(100);
        done = (await terminalCount(stack.url)) - before;
      }
      const completeSeconds = (performance.now() - load.firstOkAt) / 1000;
      const completedPerSecond = (done - warm.ok * cfg.fanOutSubscribers) / completeSeconds;
      const eventsPerSecond = load.rps;
      return {
        numbers: {
          subscribers: cfg.fanOutSubscribers,
          events: load.ok,
          eventsPerSecond,
          p50Ms: load.latency.p50,
          p99Ms: load.latency.p99,
          started,
          done,
          completedPerSecond,
        },
        metrics: [
          { metric: `events/s accepted (${cfg.fanOutSubscribers} subscribers, c=${cfg.asyncConnections})`, value: eventsPerSecond, unit: '/s' },
          { metric: 'executions/s accepted (durable at the 202)', value: eventsPerSecond * cfg.fanOutSubscribers, unit: '/s' },
          { metric: 'executions/s completed (first 202 → all terminal)', value: completedPerSecond, unit: '/s' },
          { metric: 'publish p50', value: load.latency.p50, unit: 'ms' },
          { metric: 'publish p99', value: load.latency.p99, unit: 'ms' },
        ],
        notes: [
          `${load.ok} events × ${cfg.fanOutSubscribers} subscribers; ${done} of ${started} executions terminal at the end${load.unexpected ? `; ${load.unexpected} answers were not 202` : ''}.`,
        ],
      };
    } finally {
      await stack.close();
    }
  },
};

interface CronRecord {
  createdAt: string;
  startedAt: string | null;
  trigger: { type: string; tick?: string } | null;
}

export const cronLatenessScenario: Scenario = {
  name: 'cron-lateness',
  title: '10 cron lateness',
  async run({ cfg, progress }) {
    const stack = await startStack({ workers: cfg.workers, capacity: cfg.capacity });
    try {
      const names = Array.from({ length: cfg.cronFunctions }, (_, i) => `bench-cron-${i}`);
      for (const name of names) await putFunction(stack.url, name, TRIVIAL_CODE, { triggers: [{ type: 'cron', schedule: '* * * * * *' }] });
      progress(`${names.length} every-second triggers for ${cfg.cronSeconds} s`);
      await sleep(cfg.cronSeconds * 1000);
      const client = clientFor(stack.url);
      const accepted: number[] = [];
      const started: number[] = [];
      for (const name of names) {
        for (const e of (await client.listExecutions({ function: name, limit: 500 })).executions as CronRecord[]) {
          if (e.trigger?.type !== 'cron' || !e.trigger.tick) continue;
          const tick = Date.parse(e.trigger.tick);
          accepted.push(Date.parse(e.createdAt) - tick);
          if (e.startedAt) started.push(Date.parse(e.startedAt) - tick);
        }
      }
      const a = summarize(accepted);
      const s = summarize(started);
      return {
        numbers: { functions: names.length, seconds: cfg.cronSeconds, ticks: accepted.length, accepted: a, started: s },
        metrics: [
          { metric: `ticks fired (${names.length} triggers × ~${cfg.cronSeconds} s)`, value: accepted.length, unit: '' },
          { metric: 'lateness to accept p50', value: a.p50, unit: 'ms' },
          { metric: 'lateness to accept p99', value: a.p99, unit: 'ms' },
          { metric: 'lateness to start running p99', value: s.p99, unit: 'ms' },
        ],
        notes: ['lateness = createdAt (or startedAt) − trigger.tick; records keep ms precision.'],
      };
    } finally {
      await stack.close();
    }
  },
};
