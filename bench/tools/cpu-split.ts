/**
 * Where the CPU of an async burst goes, process by process: starts a stack, warms it up, sends N
 * async invokes of the trivial handler over 50 connections, waits until every one has finished,
 * and prints the CPU each part used per execution, from /proc (user + system time): gateway,
 * scheduler (its main thread, and its other threads: the file writer and libuv's pool), workers,
 * their sandboxes (the workers' children) and this process, the load generator. Usage:
 *   node dist/bench/tools/cpu-split.js [invokes, default 10000] [--capacity n, default 4]
 * The data dir is made under the OS temp dir: `TMPDIR=/dev/shm` puts it on tmpfs, which takes the
 * disk's price of creating files out of the figures.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { EVENT_BODY, TRIVIAL_CODE } from '../lib/handlers.js';
import { invokeSync, putFunction, sleep, terminalCount } from '../lib/http.js';
import { describeLoad, runLoad } from '../lib/load.js';
import { procStats, statFields } from '../lib/proc-memory.js';
import { startStack } from '../lib/stack.js';

const FN = 'bench-cpu-split';
const CONNECTIONS = 50;
const TICKS_PER_SECOND = 100;

/** utime + stime (+ the reaped children's when asked) of one stat line's fields after the command. */
const ticksOf = (fields: string[], withChildren: boolean): number =>
  Number(fields[11]) + Number(fields[12]) + (withChildren ? Number(fields[13]) + Number(fields[14]) : 0);

function taskFields(path: string): string[] | null {
  try {
    return statFields(readFileSync(path, 'utf8'));
  } catch {
    return null; // the thread ended meanwhile
  }
}

/** Ticks of one process's main thread and of all its other threads. */
function threadTicks(pid: number): { main: number; others: number } {
  let main = 0;
  let others = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    const f = taskFields(`/proc/${pid}/task/${tid}/stat`);
    if (!f) continue;
    if (Number(tid) === pid) main += ticksOf(f, false);
    else others += ticksOf(f, false);
  }
  return { main, others };
}

type Reading = Record<string, number>;

function read(roles: { gateway: number; scheduler: number; workers: number[] }): Reading {
  const stats = procStats();
  const own = (pid: number): number => {
    const s = stats.find((p) => p.pid === pid);
    return s ? ticksOf(s.fields, false) : 0;
  };
  // A sandbox that exited meanwhile is in its worker's reaped-children time; live ones count themselves.
  const sandboxes = stats.filter((p) => roles.workers.includes(p.ppid)).reduce((sum, p) => sum + ticksOf(p.fields, true), 0);
  const reaped = roles.workers.reduce((sum, pid) => {
    const s = stats.find((p) => p.pid === pid);
    return sum + (s ? Number(s.fields[13]) + Number(s.fields[14]) : 0);
  }, 0);
  const scheduler = threadTicks(roles.scheduler);
  const self = process.cpuUsage();
  return {
    gateway: own(roles.gateway),
    'scheduler, main thread': scheduler.main,
    'scheduler, other threads': scheduler.others,
    workers: roles.workers.reduce((sum, pid) => sum + own(pid), 0),
    sandboxes: sandboxes + reaped,
    'load generator': ((self.user + self.system) / 1e6) * TICKS_PER_SECOND,
  };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const capAt = args.indexOf('--capacity');
  const capacity = capAt >= 0 ? Number(args[capAt + 1]) : 4;
  const invokes = Number(args.find((a, i) => /^\d+$/.test(a) && (capAt < 0 || i !== capAt + 1)) ?? 10_000);
  if (!Number.isInteger(capacity) || capacity < 1 || !Number.isInteger(invokes) || invokes < 1) {
    throw new Error('usage: cpu-split.js [invokes] [--capacity n]');
  }
  const stack = await startStack({ workers: 2, capacity });
  try {
    await putFunction(stack.url, FN, TRIVIAL_CODE);
    await invokeSync(stack.url, FN);
    await runLoad({ url: stack.url, path: `/v1/functions/${FN}/invoke?mode=sync`, body: EVENT_BODY, connections: 16, durationSeconds: 2, expectStatus: 200 });
    const roles = { gateway: stack.gateway.pid, scheduler: stack.scheduler.proc.pid, workers: stack.workers.map((w) => w.pid) };
    const before = await terminalCount(stack.url);
    const start = read(roles);
    const startedAt = performance.now();
    const r = await runLoad({ url: stack.url, path: `/v1/functions/${FN}/invoke`, body: EVENT_BODY, connections: CONNECTIONS, amount: invokes, maxSeconds: 120, expectStatus: 202 });
    while ((await terminalCount(stack.url)) - before < r.ok) await sleep(50);
    const seconds = (performance.now() - startedAt) / 1000;
    const end = read(roles);
    console.log(`accept: ${describeLoad(r)}`);
    console.log(`${r.ok} executions finished in ${seconds.toFixed(2)} s → ${Math.round(r.ok / seconds)}/s, capacity ${capacity} × 2 workers, data in ${stack.dataDir}`);
    let total = 0;
    for (const [part, ticks] of Object.entries(end)) {
      const us = (((ticks - (start[part] ?? 0)) / TICKS_PER_SECOND) * 1e6) / r.ok;
      total += us;
      console.log(`${part.padEnd(26)} ${us.toFixed(0).padStart(6)} µs CPU per execution`);
    }
    console.log(`${'total'.padEnd(26)} ${total.toFixed(0).padStart(6)} µs CPU per execution (${((total * r.ok) / 1e6 / seconds).toFixed(2)} CPUs busy)`);
  } finally {
    await stack.close();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
