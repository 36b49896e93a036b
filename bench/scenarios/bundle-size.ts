/**
 * Scenario 4b — cold start by bundle size, with and without the worker's compile cache
 * (worker/sandbox/code-dir.ts; `TASKFORGE_NO_COMPILE_CACHE=1` turns it off): one function per
 * size (1 KB, 1 MiB, 3 MiB of code), invoked with pauses longer than the worker's sandbox idle
 * time (`TASKFORGE_SANDBOX_IDLE_MS`), so every invoke is a cold start in a fresh prewarmed process
 * of the same version. The first invoke of a version (which writes the cache) is left out.
 */
import { invokeSync, putFunction, sleep } from '../lib/http.js';
import type { Metric } from '../lib/report.js';
import type { Scenario, ScenarioContext } from '../lib/scenario.js';
import { startStack } from '../lib/stack.js';
import { summarize, type Summary } from '../lib/stats.js';

const SIZES = [
  { label: '1 KB', bytes: 1024 },
  { label: '1 MiB', bytes: 1024 * 1024 },
  { label: '3 MiB', bytes: 3 * 1024 * 1024 },
] as const;
/** A warm process idle this long is ended by the worker's pool; invokes are PACE_MS apart. */
const IDLE_MS = 150;
const PACE_MS = 500;

interface ColdReply {
  coldStart?: boolean | null;
  timings?: { initMs?: number } | null;
}

/**
 * An ES module of about `bytes`, shaped like a bundle: many small modules of functions, of which
 * the handler calls a few. Each one's text differs by `seed`, so nothing is shared by hash.
 */
export function syntheticBundle(bytes: number, seed: string): string {
  const head = [`// bundle ${seed}`, 'export default async (event) => {', '  const out = m0.run(event.n ?? 1) + m1.run(2);', '  return { out };', '};'].join(
    '\n',
  );
  const parts = [head];
  let size = head.length;
  for (let i = 0; size < bytes; i++) {
    const mod = [
      `var m${i} = {`,
      `  run(x) { let t = ${i}; for (let k = 0; k < 3; k++) t = (t * 31 + x + k) % 1000003; return this.fmt(t); },`,
      `  fmt(v) { return ['module ${i}', String(v).padStart(8, '0'), '${seed}'].join(':').length; },`,
      `  table: [${i}, ${i + 1}, ${i * 2}, 'value ${i}', { key: 'k${i}', nested: { deep: [${i % 7}, ${i % 11}] } }],`,
      `  check(a, b) { if (typeof a !== typeof b) throw new TypeError('mismatch ${i}'); return a === b ? 0 : a < b ? -1 : 1; },`,
      '};',
    ].join('\n');
    parts.push(mod);
    size += mod.length + 1;
  }
  return `${parts.join('\n')}\n`;
}

interface SizeRun {
  size: string;
  codeBytes: number;
  cold: Summary;
  initMs: Summary;
  notCold: number;
}

async function measure(ctx: ScenarioContext, cache: boolean): Promise<SizeRun[]> {
  const { cfg, progress } = ctx;
  const stack = await startStack({
    workers: 1,
    capacity: cfg.capacity,
    workerEnv: { TASKFORGE_SANDBOX_IDLE_MS: String(IDLE_MS), ...(cache ? {} : { TASKFORGE_NO_COMPILE_CACHE: '1' }) },
  });
  const runs: SizeRun[] = [];
  try {
    for (const size of SIZES) {
      const name = `bundle-${cache ? 'cached' : 'plain'}-${size.bytes}`;
      const code = syntheticBundle(size.bytes, name);
      await putFunction(stack.url, name, code);
      await invokeSync(stack.url, name, { n: 1 }); // the version's first cold start: writes the cache
      await sleep(PACE_MS);
      const cold: number[] = [];
      const init: number[] = [];
      let notCold = 0;
      for (let i = 0; i < cfg.coldFunctions; i++) {
        const res = await invokeSync<ColdReply | null>(stack.url, name, { n: 1 });
        cold.push(res.ms);
        init.push(Number(res.body?.timings?.initMs ?? NaN));
        if (res.body?.coldStart !== true) notCold++;
        await sleep(PACE_MS);
      }
      const run = { size: size.label, codeBytes: Buffer.byteLength(code), cold: summarize(cold), initMs: summarize(init), notCold };
      progress(`bundle ${size.label}, compile cache ${cache ? 'on' : 'off'}: first invoke p50 ${run.cold.p50.toFixed(1)} ms, initMs p50 ${run.initMs.p50}`);
      runs.push(run);
    }
    return runs;
  } finally {
    await stack.close();
  }
}

export const bundleSizeScenario: Scenario = {
  name: 'bundle-size',
  title: '4b cold start by bundle size',
  // Paced samples: 2 cases × 3 sizes × (samples + 1) × PACE_MS, plus a stack per case.
  timeoutMs: 240_000,
  async run(ctx) {
    const off = await measure(ctx, false);
    const on = await measure(ctx, true);
    const notes = [
      `${ctx.cfg.coldFunctions} cold starts per size and case, each in a fresh prewarmed process of the same version (the worker ends warm processes idle ${IDLE_MS} ms), ${PACE_MS} ms apart; latency is the client's, of a sync invoke; initMs is the worker's load time.`,
    ];
    const notCold = [...off, ...on].reduce((n, r) => n + r.notCold, 0);
    if (notCold) notes.push(`${notCold} invokes were not reported as cold starts.`);
    const metrics: Metric[] = [];
    for (let i = 0; i < SIZES.length; i++) {
      const [a, b] = [off[i]!, on[i]!];
      metrics.push(
        { metric: `${a.size}: first invoke p50, cache off`, value: a.cold.p50, unit: 'ms' },
        { metric: `${a.size}: first invoke p50, cache on`, value: b.cold.p50, unit: 'ms' },
        { metric: `${a.size}: initMs p50, cache off`, value: a.initMs.p50, unit: 'ms' },
        { metric: `${a.size}: initMs p50, cache on`, value: b.initMs.p50, unit: 'ms' },
      );
    }
    return { numbers: { off, on }, metrics, notes };
  },
};
