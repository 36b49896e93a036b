/**
 * Scenario 10 — the peer a Node team would use instead: BullMQ on Debian's redis-server, jobs
 * submitted through a small Fastify endpoint (lib/bullmq-child.ts) so both sides pay for HTTP,
 * and run by BullMQ workers with the same trivial handler and the same concurrency as the async
 * scenario's TaskForge workers. Once with Redis's `appendfsync always` (a 202 means the job is on
 * disk, as TaskForge's 202 does) and once with `everysec` (BullMQ's usual setting, which can lose
 * the last second of jobs). The same load as scenario 3: N submits over 50 connections; accept
 * rate over the load, completion rate from the first 202 to the last job completed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { performance } from 'node:perf_hooks';
import { Queue } from 'bullmq';
import { makeDataDir, releaseDataDir } from '../lib/data-dirs.js';
import { EVENT_BODY } from '../lib/handlers.js';
import { sleep } from '../lib/http.js';
import { describeLoad, runLoad } from '../lib/load.js';
import { libChildScript, spawnNode } from '../lib/proc.js';
import type { Metric } from '../lib/report.js';
import type { Scenario, ScenarioContext } from '../lib/scenario.js';

export const REDIS_SERVER = '/usr/bin/redis-server';
const QUEUE = 'bench';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function startRedis(dir: string, fsync: 'always' | 'everysec'): Promise<{ port: number; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn(
    REDIS_SERVER,
    ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--appendfsync', fsync, '--save', '', '--daemonize', 'no'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  await new Promise<void>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`redis-server did not start: ${out.slice(-500)}`)), 10_000);
    child.stdout.setEncoding('utf8').on('data', (c: string) => {
      out += c;
      if (out.includes('Ready to accept connections')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => reject(new Error(`redis-server exited ${code}: ${out.slice(-500)}`)));
  });
  return { port, child };
}

interface PeerRun {
  fsync: 'always' | 'everysec';
  acceptedPerSecond: number;
  completedPerSecond: number;
  accepted: number;
  p50Ms: number;
  p99Ms: number;
}

async function measure(ctx: ScenarioContext, fsync: 'always' | 'everysec'): Promise<PeerRun> {
  const { cfg, progress } = ctx;
  const dir = await makeDataDir(`redis-${fsync}`);
  const redis = await startRedis(dir, fsync);
  const api = spawnNode('bullmq-api', [libChildScript('bullmq-child'), 'api', String(redis.port)]);
  // As many workers and slots as scenario 3 gives TaskForge.
  const workers = Array.from({ length: cfg.workers }, (_, i) =>
    spawnNode(`bullmq-worker-${i}`, [libChildScript('bullmq-child'), 'worker', String(redis.port), String(cfg.capacity)]),
  );
  // Waited for together: a child's line is only seen by a waiter already there.
  const ready = Promise.all([api.waitForLine('listening', 20_000), ...workers.map((w) => w.waitForLine('ready', 20_000))]);
  const queue = new Queue(QUEUE, { connection: { host: '127.0.0.1', port: redis.port, maxRetriesPerRequest: null } });
  try {
    const [{ line }] = await ready;
    const url = `http://127.0.0.1:${Number(line.port)}`;
    await runLoad({ url, path: '/jobs', body: EVENT_BODY, connections: cfg.asyncConnections, durationSeconds: cfg.warmupSeconds, expectStatus: 202 });
    const before = (await queue.getJobCounts('completed')).completed ?? 0;
    const load = await runLoad({
      url,
      path: '/jobs',
      body: EVENT_BODY,
      connections: cfg.asyncConnections,
      amount: cfg.asyncInvokes,
      expectStatus: 202,
      maxSeconds: cfg.asyncSendMaxSeconds,
    });
    progress(`bullmq (appendfsync ${fsync}): ${describeLoad(load)}`);
    const target = before + load.ok;
    const deadline = performance.now() + cfg.asyncCompleteTimeoutMs;
    let completed = before;
    while (completed < target && performance.now() < deadline) {
      await sleep(50);
      completed = (await queue.getJobCounts('completed')).completed ?? 0;
    }
    const doneAt = performance.now();
    const run: PeerRun = {
      fsync,
      acceptedPerSecond: load.rps,
      completedPerSecond: (completed - before) / ((doneAt - load.firstOkAt) / 1000),
      accepted: load.ok,
      p50Ms: load.latency.p50,
      p99Ms: load.latency.p99,
    };
    progress(`bullmq (appendfsync ${fsync}): ${run.acceptedPerSecond.toFixed(0)} accepted/s, ${run.completedPerSecond.toFixed(0)} completed/s`);
    return run;
  } finally {
    await queue.close().catch(() => undefined);
    await Promise.all([api, ...workers].map((p) => p.stop()));
    redis.child.kill('SIGTERM');
    await new Promise((r) => (redis.child.exitCode === null ? redis.child.once('exit', r) : r(null)));
    await releaseDataDir(dir);
  }
}

export const bullmqScenario: Scenario = {
  name: 'bullmq',
  title: '10 BullMQ on Redis (peer)',
  timeoutMs: 300_000,
  async run(ctx) {
    if (!existsSync(REDIS_SERVER)) throw new Error(`${REDIS_SERVER} is missing: make bench installs redis-server (apt-get)`);
    const always = await measure(ctx, 'always');
    const everysec = await measure(ctx, 'everysec');
    const metrics: Metric[] = [];
    for (const r of [always, everysec]) {
      metrics.push(
        { metric: `appendfsync ${r.fsync}: accepted /s`, value: r.acceptedPerSecond, unit: '/s' },
        { metric: `appendfsync ${r.fsync}: completed /s`, value: r.completedPerSecond, unit: '/s' },
        { metric: `appendfsync ${r.fsync}: submit p50`, value: r.p50Ms, unit: 'ms' },
        { metric: `appendfsync ${r.fsync}: submit p99`, value: r.p99Ms, unit: 'ms' },
      );
    }
    const notes = [
      `${ctx.cfg.asyncInvokes} jobs over ${ctx.cfg.asyncConnections} connections to a Fastify endpoint that adds each to a BullMQ queue and answers 202; ${ctx.cfg.workers} BullMQ workers × concurrency ${ctx.cfg.capacity}, the same trivial handler; compare with scenario 3 (TaskForge async) in the same run.`,
    ];
    return { numbers: { always, everysec }, metrics, notes };
  },
};
