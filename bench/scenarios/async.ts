/**
 * Scenario 3 — async: N async invokes sent as fast as they are accepted (50 connections).
 * Accept rate counts 202s per second; a sample of the 202s is checked against the data dir the
 * moment the answer arrives (the execution must already be written: durable before its 202).
 * Completion throughput is N over the time from the first 202 to the last `finishedAt`.
 * The design floor (lib/floor.ts, `durableDir`) then takes the same load, warm-up included: the
 * same processes and transports, doing only what the design's store must at least (a
 * group-committed journal entry before each 202, one file per execution once it has run).
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { makeDataDir, releaseDataDir } from '../lib/data-dirs.js';
import { DurabilityProbe } from '../lib/durability-probe.js';
import { startFloor } from '../lib/floor.js';
import { EVENT_BODY, TRIVIAL_CODE } from '../lib/handlers.js';
import { invokeSync, putFunction, request, sleep, terminalCount } from '../lib/http.js';
import { describeLoad, runLoad, type LoadResult } from '../lib/load.js';
import { ceilingAt, pctOf, type Scenario, type ScenarioContext, type ScenarioOutput } from '../lib/scenario.js';
import { startStack } from '../lib/stack.js';

const FN = 'bench-async';
/** Every n-th 202 is checked on disk. */
const DURABLE_SAMPLE_EVERY = 20;

interface ListedExecution {
  id: string;
  mode: string;
  status: string;
  finishedAt: string | null;
}

async function listAll(url: string): Promise<ListedExecution[]> {
  const out: ListedExecution[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < 1000; page++) {
    const q: string = `/v1/executions?function=${FN}&limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const res = await request<{ executions: ListedExecution[]; nextCursor: string | null }>(url, 'GET', q, undefined, 30_000);
    if (res.status !== 200) throw new Error(`list executions: ${res.status} ${JSON.stringify(res.body)}`);
    out.push(...res.body.executions);
    cursor = res.body.nextCursor;
    if (!cursor) break;
  }
  return out;
}

/** The sync warm-up both TaskForge and the floor get before the async load. */
const warmUp = async (url: string, path: string, cfg: ScenarioContext['cfg']): Promise<string> =>
  describeLoad(
    await runLoad({ url, path, body: EVENT_BODY, expectStatus: 200, connections: cfg.workers * cfg.capacity * 2, durationSeconds: cfg.warmupSeconds }),
  );

/** Reads `count` every 100 ms until it reaches `target` or `timeoutMs` has passed; the last reading. */
async function countUntil(count: () => Promise<number> | number, target: number, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let n = await count();
  while (n < target && Date.now() < deadline) {
    await sleep(100);
    n = await count();
  }
  return n;
}

/**
 * Completions per second from the first 202 (wall ms) to the last finish; when not all finished,
 * to now, so unfinished work lowers the rate instead of being left out.
 */
function completionPerSecond(finished: number, firstAcceptWall: number, lastFinishWall: number | null): { seconds: number; rate: number } {
  const seconds = ((lastFinishWall ?? Date.now()) - firstAcceptWall) / 1000;
  return { seconds, rate: finished / seconds };
}

/** The floor's files in `dir`/executions (temp files left out) and the latest one's mtime. */
function floorFiles(dir: string): { count: number; lastMs: number } {
  const ex = join(dir, 'executions');
  const names = readdirSync(ex).filter((n) => !n.startsWith('.'));
  return { count: names.length, lastMs: names.reduce((last, n) => Math.max(last, statSync(join(ex, n)).mtimeMs), 0) };
}

/**
 * The async load on the design floor: accept rate, and completions per second from the first 202
 * to the last execution file written (to now, if some were not written within `timeoutMs`).
 */
async function floorAsync(
  cfg: ScenarioContext['cfg'],
  progress: ScenarioContext['progress'],
): Promise<{ r: LoadResult; completionRate: number; complete: boolean }> {
  const dir = await makeDataDir('floor-async');
  const floor = await startFloor(cfg.workers, cfg.capacity, 'design', { durableDir: dir });
  try {
    const path = '/v1/functions/floor/invoke';
    progress(`design floor warm-up: ${await warmUp(floor.url, `${path}?mode=sync`, cfg)}`);
    const r = await runLoad({
      url: floor.url,
      path: `${path}?mode=async`,
      body: EVENT_BODY,
      connections: cfg.asyncConnections,
      amount: cfg.asyncInvokes,
      maxSeconds: cfg.asyncSendMaxSeconds,
      expectStatus: 202,
    });
    const complete = (await countUntil(() => floorFiles(dir).count, r.ok, cfg.asyncCompleteTimeoutMs)) >= r.ok;
    const files = floorFiles(dir);
    const { rate: completionRate } = completionPerSecond(files.count, performance.timeOrigin + r.firstOkAt, complete ? files.lastMs : null);
    progress(`design floor async: accept ${describeLoad(r)}; completion: ${files.count} files written → ${Math.round(completionRate)}/s`);
    return { r, completionRate, complete };
  } finally {
    await floor.close();
    await releaseDataDir(dir);
  }
}

/**
 * `cfg.sustainSeconds` of async submits as fast as they are accepted, on a warm stack with
 * nothing queued: do the workers keep up? What finished by the end of the window, over what was
 * accepted in it (a backlog that grows shows as a share below 100 %).
 */
async function sustained(url: string, cfg: ScenarioContext['cfg']): Promise<{ r: LoadResult; completedShare: number }> {
  const before = await terminalCount(url);
  const r = await runLoad({
    url,
    path: `/v1/functions/${FN}/invoke`,
    body: EVENT_BODY,
    connections: cfg.asyncConnections,
    durationSeconds: cfg.sustainSeconds,
    expectStatus: 202,
  });
  const finished = (await terminalCount(url)) - before;
  return { r, completedShare: r.ok > 0 ? (100 * finished) / r.ok : NaN };
}

async function taskforgeAsync({ cfg, ceiling, progress }: ScenarioContext): Promise<ScenarioOutput> {
  const stack = await startStack({ workers: cfg.workers, capacity: cfg.capacity });
  try {
    await putFunction(stack.url, FN, TRIVIAL_CODE);
    await invokeSync(stack.url, FN);
    progress(`warm-up: ${await warmUp(stack.url, `/v1/functions/${FN}/invoke?mode=sync`, cfg)}`);
    const baseline = await terminalCount(stack.url);

    const probe = new DurabilityProbe(stack.dataDir);
    let answered = 0;
    let sampled = 0;
    let durable = 0;
    const r = await runLoad({
      url: stack.url,
      path: `/v1/functions/${FN}/invoke`,
      body: EVENT_BODY,
      connections: cfg.asyncConnections,
      amount: cfg.asyncInvokes,
      maxSeconds: cfg.asyncSendMaxSeconds,
      expectStatus: 202,
      onBody: (status, body) => {
        if (status !== 202 || ++answered % DURABLE_SAMPLE_EVERY !== 0) return;
        sampled++;
        const id = (JSON.parse(body) as { executionId: string }).executionId;
        if (probe.isOnDisk(id)) durable++;
      },
    });
    progress(`async accept: ${describeLoad(r)}; on disk at 202: ${durable}/${sampled} sampled`);
    const firstAcceptWall = performance.timeOrigin + r.firstOkAt;

    const done = await countUntil(async () => (await terminalCount(stack.url)) - baseline, r.ok, cfg.asyncCompleteTimeoutMs);
    const complete = done >= r.ok;
    const listed = (await listAll(stack.url)).filter((e) => e.mode === 'async');
    const finished = listed.filter((e) => e.finishedAt).map((e) => Date.parse(e.finishedAt!));
    const lastFinish = finished.reduce((a, b) => Math.max(a, b), 0);
    const byStatus: Record<string, number> = {};
    for (const e of listed) byStatus[e.status] = (byStatus[e.status] ?? 0) + 1;
    const { seconds: completionSeconds, rate: completionRate } = completionPerSecond(finished.length, firstAcceptWall, complete ? lastFinish : null);
    progress(
      `async completion: ${finished.length} finished in ${completionSeconds.toFixed(2)} s → ${Math.round(completionRate)}/s ${JSON.stringify(byStatus)}`,
    );

    const sustain = await sustained(stack.url, cfg);
    progress(`async sustained ${cfg.sustainSeconds} s: ${describeLoad(sustain.r)}; finished by its end: ${sustain.completedShare.toFixed(1)} % of accepted`);

    const ceil = ceilingAt(ceiling, cfg.asyncConnections);
    const notes = [
      `${cfg.asyncInvokes} invokes over ${cfg.asyncConnections} connections; ${cfg.workers} workers × capacity ${cfg.capacity}.`,
      `sustained: ${cfg.sustainSeconds} s of async invokes over ${cfg.asyncConnections} connections as fast as accepted, then the executions finished by the end of the window over those accepted in it.`,
    ];
    if (sampled !== durable)
      notes.push(`${sampled - durable} of ${sampled} sampled 202s were not on disk (execution file or journal) when the answer arrived.`);
    if (!complete) notes.push(`only ${done} of ${r.ok} accepted executions finished within ${cfg.asyncCompleteTimeoutMs} ms.`);
    if (r.ok < cfg.asyncInvokes) notes.push(`only ${r.ok} of ${cfg.asyncInvokes} invokes were accepted within ${cfg.asyncSendMaxSeconds} s.`);
    if (r.unexpected + r.errors + r.timeouts) notes.push(`non-202 answers: ${JSON.stringify(r.statusCounts)}, errors ${r.errors}, timeouts ${r.timeouts}.`);
    return {
      numbers: {
        invokes: cfg.asyncInvokes,
        accepted: r.ok,
        acceptPerSecond: r.rps,
        acceptPctOfCeiling: pctOf(r.rps, ceil?.rps),
        acceptLatencyP50Ms: r.latency.p50,
        acceptLatencyP99Ms: r.latency.p99,
        statusCounts: r.statusCounts,
        durableSampled: sampled,
        durableAtAccept: durable,
        finished: finished.length,
        byStatus,
        completionSeconds,
        completionPerSecond: completionRate,
        completionPctOfCeiling: pctOf(completionRate, ceil?.rps),
        complete,
        sustained: { seconds: cfg.sustainSeconds, acceptPerSecond: sustain.r.rps, completedShare: sustain.completedShare },
      },
      metrics: [
        { metric: 'accepted (202) /s', value: r.rps, unit: '/s', target: { op: '>=', value: 3000 } },
        { metric: 'accept % of ceiling c=50', value: pctOf(r.rps, ceil?.rps), unit: '%' },
        { metric: 'accept p50', value: r.latency.p50, unit: 'ms' },
        { metric: 'accept p99', value: r.latency.p99, unit: 'ms' },
        { metric: 'on disk at 202 (sampled)', value: sampled ? (100 * durable) / sampled : NaN, unit: '%', target: { op: '>=', value: 100 } },
        { metric: 'completed /s', value: completionRate, unit: '/s', target: { op: '>=', value: 3000 } },
        { metric: 'completion % of ceiling c=50', value: pctOf(completionRate, ceil?.rps), unit: '%' },
        { metric: `sustained ${cfg.sustainSeconds} s: accepted /s`, value: sustain.r.rps, unit: '/s' },
        {
          metric: `sustained ${cfg.sustainSeconds} s: finished by its end ÷ accepted`,
          value: sustain.completedShare,
          unit: '%',
          target: { op: '>=', value: 95 },
        },
      ],
      notes,
    };
  } finally {
    await stack.close();
  }
}

export const asyncScenario: Scenario = {
  name: 'async',
  title: '3 async invoke',
  async run(ctx) {
    const out = await taskforgeAsync(ctx);
    const floor = await floorAsync(ctx.cfg, ctx.progress);
    const { acceptPerSecond, completionPerSecond } = out.numbers as { acceptPerSecond: number; completionPerSecond: number };
    out.numbers.floor = {
      acceptPerSecond: floor.r.rps,
      acceptLatencyP50Ms: floor.r.latency.p50,
      acceptLatencyP99Ms: floor.r.latency.p99,
      completionPerSecond: floor.completionRate,
      complete: floor.complete,
    };
    out.metrics.push(
      { metric: 'design floor: accepted (202) /s', value: floor.r.rps, unit: '/s' },
      { metric: 'accepted /s ÷ design floor', value: pctOf(acceptPerSecond, floor.r.rps), unit: '%' },
      { metric: 'design floor: completed /s', value: floor.completionRate, unit: '/s' },
      { metric: 'completed /s ÷ design floor', value: pctOf(completionPerSecond, floor.completionRate), unit: '%' },
    );
    out.notes.push(
      `design floor (lib/floor.ts): gateway, scheduler and ${ctx.cfg.workers} workers × ${ctx.cfg.capacity} sandboxes forwarding over the same transports; the scheduler answers 202 once the invoke's journal entry is fdatasynced (one write and fdatasync for all that arrived meanwhile) and, when it has run, writes its file (temp + rename, no fsync) — the least the design's store does. Same load and warm-up; completion is counted from its first 202 to its last file's mtime.`,
    );
    if (!floor.complete) out.notes.push(`design floor: not every accepted execution's file was written within ${ctx.cfg.asyncCompleteTimeoutMs} ms.`);
    if (floor.r.unexpected + floor.r.errors + floor.r.timeouts)
      out.notes.push(`design floor: non-202 answers: ${JSON.stringify(floor.r.statusCounts)}, errors ${floor.r.errors}, timeouts ${floor.r.timeouts}.`);
    return out;
  },
};
