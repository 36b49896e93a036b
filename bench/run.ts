/**
 * `make bench`: runs every scenario in order — the bare-Fastify ceiling first, so every other
 * throughput can be stated as a share of it — prints a table and writes bench/results/latest.{md,json}.
 *
 * Environment: BENCH_QUICK=1 (short runs, small data, every scenario), BENCH_ONLY=sync,async
 * (a subset; the ceiling always runs), BENCH_PROFILE=1 (CPU profiles of the sync scenario's
 * processes, written to a temp dir and summarised by tools/profile-summary.js).
 * Missing a target is a result, not an error: the exit code is non-zero only when a scenario failed to run.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { benchConfig } from './lib/config.js';
import { measureCpuShare } from './lib/cpu-share.js';
import { createRunDataRoot, removeRunDataRoot, removeRunDataRootNow } from './lib/data-dirs.js';
import { killAllNow, stopAll } from './lib/proc.js';
import { machine, textTable, writeResults, type RunReport, type ScenarioResult } from './lib/report.js';
import type { Ceiling, Scenario, ScenarioContext } from './lib/scenario.js';
import { asyncScenario } from './scenarios/async.js';
import { ceilingScenario } from './scenarios/ceiling.js';
import { bullmqScenario } from './scenarios/bullmq.js';
import { bundleSizeScenario } from './scenarios/bundle-size.js';
import { coldStartScenario } from './scenarios/cold-start.js';
import { delayedScaleScenario } from './scenarios/delayed-scale.js';
import { cpuBoundScenario } from './scenarios/cpu-bound.js';
import { memoryScenario } from './scenarios/memory.js';
import { storeScaleScenario } from './scenarios/store-scale.js';
import { liveWatchersScenario } from './scenarios/live-watchers.js';
import { syncScenario } from './scenarios/sync.js';
import { cronLatenessScenario, fanOutScenario } from './scenarios/triggers.js';

const REPO_ROOT = join(import.meta.dirname, '..', '..');

/** Above this average CPU use by other processes, a scenario's numbers are flagged. */
const OTHER_LOAD_WARN_CPUS = 0.2;

// store-scale and delayed-scale write the most files (100k): last, so no other scenario shares a disk they just filled.
const SCENARIOS: Scenario[] = [
  ceilingScenario,
  syncScenario,
  liveWatchersScenario,
  asyncScenario,
  bullmqScenario,
  fanOutScenario,
  cronLatenessScenario,
  coldStartScenario,
  bundleSizeScenario,
  cpuBoundScenario,
  memoryScenario,
  storeScaleScenario,
  delayedScaleScenario,
];

function selected(env: NodeJS.ProcessEnv): Scenario[] {
  const only = env.BENCH_ONLY?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (!only?.length) return SCENARIOS;
  const unknown = only.filter((n) => !SCENARIOS.some((s) => s.name === n));
  if (unknown.length) throw new Error(`BENCH_ONLY: unknown scenario(s) ${unknown.join(', ')}; known: ${SCENARIOS.map((s) => s.name).join(', ')}`);
  return SCENARIOS.filter((s) => s.name === 'ceiling' || only.includes(s.name));
}

function command(env: NodeJS.ProcessEnv): string {
  const vars = ['BENCH_QUICK', 'BENCH_ONLY', 'BENCH_PROFILE'].filter((k) => env[k]).map((k) => `${k}=${env[k]}`);
  return [...vars, 'make bench'].join(' ');
}

async function withTimeout<T>(what: string, ms: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms / 1000} s`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function main(): Promise<number> {
  const cfg = benchConfig();
  const scenarios = selected(process.env);
  const t0 = performance.now();
  const stamp = (): string => `[${((performance.now() - t0) / 1000).toFixed(1).padStart(6)} s]`;
  const profileDir = process.env.BENCH_PROFILE === '1' ? await mkdtemp(join(tmpdir(), 'taskforge-bench-profile-')) : null;
  const report: RunReport = {
    command: command(process.env),
    quick: cfg.quick,
    startedAt: new Date().toISOString(),
    seconds: 0,
    machine: machine(),
    ceiling: null,
    scenarios: [],
  };
  console.log(`${stamp()} TaskForge bench (${cfg.quick ? 'quick' : 'full'}): ${scenarios.map((s) => s.name).join(', ')}`);
  let ceiling: Ceiling | null = null;
  let failed = 0;
  await createRunDataRoot();
  for (const s of scenarios) {
    const ctx: ScenarioContext = {
      cfg,
      ceiling,
      profileDir: s.name === 'sync' ? profileDir : null,
      progress: (m) => console.log(`${stamp()} ${s.name}: ${m}`),
    };
    console.log(`${stamp()} ${s.title} …`);
    const started = performance.now();
    const share = measureCpuShare();
    const result: ScenarioResult = { name: s.name, title: s.title, numbers: {}, metrics: [], notes: [], seconds: 0 };
    try {
      const out = await withTimeout(s.name, s.timeoutMs ?? cfg.scenarioTimeoutMs, s.run(ctx));
      Object.assign(result, out);
      if (s.name === 'ceiling') {
        ceiling = out.numbers as unknown as Ceiling;
        report.ceiling = out.numbers;
      }
    } catch (err) {
      failed++;
      // Results get pasted into docs and issues: no paths of this machine in them.
      result.error = ((err as Error).stack ?? String(err)).replaceAll(REPO_ROOT, '.').replaceAll(tmpdir(), '$TMPDIR');
      console.log(`${stamp()} ${s.name} FAILED: ${result.error}`);
      await stopAll();
    }
    result.seconds = (performance.now() - started) / 1000;
    const cpu = share.stop();
    if (cpu) {
      result.numbers.cpuShare = cpu;
      result.metrics.push({ metric: 'CPUs used by other processes (avg)', value: cpu.otherCpus, unit: `of ${report.machine.cpus}` });
      if (cpu.otherCpus > OTHER_LOAD_WARN_CPUS) {
        result.notes.push(
          `other processes used ${cpu.otherCpus.toFixed(2)} CPUs on average during this scenario: its numbers are lower than on an idle machine.`,
        );
      }
    }
    console.log(`${stamp()} ${s.name} done in ${result.seconds.toFixed(1)} s`);
    report.scenarios.push(result);
  }
  // Every scenario's data goes at once, after the last one (see lib/data-dirs.ts).
  await removeRunDataRoot();
  report.seconds = (performance.now() - t0) / 1000;
  const files = await writeResults(report);
  console.log(`\n${textTable(report)}\n`);
  for (const s of report.scenarios) for (const n of s.notes) console.log(`  ${s.title}: ${n}`);
  console.log(`\n${report.command}: ${Math.round(report.seconds)} s · results in ${files.md} and ${files.json}`);
  if (profileDir) console.log(`CPU profiles in ${profileDir} — summarise with: node dist/bench/tools/profile-summary.js ${profileDir}`);
  return failed ? 1 : 0;
}

process.on('SIGINT', () => {
  killAllNow();
  removeRunDataRootNow();
  process.exit(130);
});

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error((err as Error).stack ?? String(err));
    killAllNow();
    removeRunDataRootNow();
    process.exit(1);
  },
);
