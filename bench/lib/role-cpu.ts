/**
 * CPU time of each part of a running stack, from /proc (user + system, Linux): gateway,
 * scheduler (its main thread, and its other threads: the file writer and libuv's pool), workers,
 * their sandboxes (every process below a worker — under the OS boundary node runs under bwrap's
 * wrappers — live or already reaped) and this process, the load
 * generator. Two readings around a load run, divided by the executions it made, tell where an
 * execution's CPU goes.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describeLoad, runLoad, type LoadResult } from './load.js';
import { descendantPids, procStats, statFields } from './proc-memory.js';

const TICKS_PER_SECOND = 100;

export interface StackPids {
  gateway: number;
  scheduler: number;
  workers: readonly number[];
}

/** Seconds of CPU per part. */
export type RoleCpu = Record<string, number>;

/** utime + stime (+ the reaped children's when asked) of one stat line's fields after the command. */
const ticksOf = (fields: string[], withChildren: boolean): number =>
  Number(fields[11]) + Number(fields[12]) + (withChildren ? Number(fields[13]) + Number(fields[14]) : 0);

function taskFields(path: string): string[] | null {
  try {
    return statFields(readFileSync(path, 'utf8'));
  } catch {
    return null; // the thread (or process) ended meanwhile
  }
}

/** Ticks of one process's main thread and of all its other threads. */
function threadTicks(pid: number): { main: number; others: number } {
  let main = 0;
  let others = 0;
  let tids: string[] = [];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    // the process is gone
  }
  for (const tid of tids) {
    const f = taskFields(`/proc/${pid}/task/${tid}/stat`);
    if (!f) continue;
    if (Number(tid) === pid) main += ticksOf(f, false);
    else others += ticksOf(f, false);
  }
  return { main, others };
}

export function readRoleCpu(pids: StackPids): RoleCpu {
  const stats = procStats();
  const own = (pid: number, withChildren: boolean): number => {
    const s = stats.find((p) => p.pid === pid);
    return s ? ticksOf(s.fields, withChildren) : 0;
  };
  // A sandbox process that exited meanwhile is in its parent's reaped-children time (the worker's,
  // or a live wrapper's); live ones count themselves.
  const below = new Set(pids.workers.flatMap((w) => descendantPids(w, stats)));
  const live = stats.filter((p) => below.has(p.pid)).reduce((sum, p) => sum + ticksOf(p.fields, true), 0);
  const reaped = pids.workers.reduce((sum, pid) => sum + own(pid, true) - own(pid, false), 0);
  const scheduler = threadTicks(pids.scheduler);
  const self = process.cpuUsage();
  return {
    gateway: own(pids.gateway, false) / TICKS_PER_SECOND,
    'scheduler, main thread': scheduler.main / TICKS_PER_SECOND,
    'scheduler, other threads': scheduler.others / TICKS_PER_SECOND,
    workers: pids.workers.reduce((sum, pid) => sum + own(pid, false), 0) / TICKS_PER_SECOND,
    sandboxes: (live + reaped) / TICKS_PER_SECOND,
    'load generator': (self.user + self.system) / 1e6,
  };
}

/** CPU µs per execution of each part between two readings, in the readings' order. */
export function cpuPerExecution(before: RoleCpu, after: RoleCpu, executions: number): Array<{ part: string; us: number }> {
  if (!(executions > 0)) throw new RangeError(`executions must be a positive number, got ${executions}`);
  return Object.keys(after).map((part) => ({ part, us: ((after[part]! - (before[part] ?? 0)) * 1e6) / executions }));
}

/**
 * A warm-up, then the measured run between two /proc readings of `pids`: the run and its CPU ms
 * per execution by part (empty when no execution answered as expected: there is nothing to divide by).
 */
export async function loadWithSplit(
  load: Parameters<typeof runLoad>[0],
  warmupSeconds: number,
  pids: StackPids,
  label: string,
  progress: (message: string) => void,
): Promise<{ r: LoadResult; split: Record<string, number> }> {
  progress(`${label} warm-up: ${describeLoad(await runLoad({ ...load, durationSeconds: warmupSeconds }))}`);
  const before = readRoleCpu(pids);
  const r = await runLoad(load);
  const after = readRoleCpu(pids);
  const split = r.ok > 0 ? Object.fromEntries(cpuPerExecution(before, after, r.ok).map(({ part, us }) => [part, us / 1000])) : {};
  return { r, split };
}

/** `part ms, …` of a split, for progress lines and notes. */
export const splitText = (split: Record<string, number>): string =>
  Object.entries(split)
    .map(([part, ms]) => `${part} ${ms.toFixed(2)}`)
    .join(', ');
