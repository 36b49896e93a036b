/**
 * How busy the machine was during a scenario, and how much of that was not the suite: CPU time
 * from /proc/stat (whole machine) minus the CPU time of this process's tree (every live
 * descendant's own and reaped-children time, from /proc/<pid>/stat). A benchmark on a machine
 * shared with other work reads low; this says by how much it was shared.
 */
import { readFileSync } from 'node:fs';
import { procStats } from './proc-memory.js';
import { availableParallelism } from 'node:os';

interface Reading {
  machineTotal: number;
  machineBusy: number;
  own: number;
}

export interface CpuShare {
  /** Average CPUs busy on the machine. */
  machineCpus: number;
  /** Average CPUs used by the suite's own processes. */
  ownCpus: number;
  /** Average CPUs used by everything else. */
  otherCpus: number;
}

function machineTicks(): { total: number; busy: number } {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (guest time is already inside user)
  const total = fields.slice(0, 8).reduce((a, b) => a + b, 0);
  return { total, busy: total - fields[3]! - fields[4]! };
}

function treeTicks(root: number): number {
  const children = new Map<number, number[]>();
  const ticks = new Map<number, number>();
  for (const { pid, ppid, fields: f } of procStats()) {
    // utime stime cutime cstime are fields 14-17 of stat, 11-14 after the command.
    ticks.set(pid, Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]));
    (children.get(ppid) ?? children.set(ppid, []).get(ppid)!).push(pid);
  }
  let sum = 0;
  const stack = [root];
  while (stack.length) {
    const pid = stack.pop()!;
    sum += ticks.get(pid) ?? 0;
    stack.push(...(children.get(pid) ?? []));
  }
  return sum;
}

function read(): Reading | null {
  try {
    const m = machineTicks();
    return { machineTotal: m.total, machineBusy: m.busy, own: treeTicks(process.pid) };
  } catch {
    return null; // not Linux
  }
}

/** Starts measuring; `stop()` returns the averages since, or null where /proc is missing. */
export function measureCpuShare(): { stop(): CpuShare | null } {
  const start = read();
  return {
    stop() {
      const end = read();
      if (!start || !end || end.machineTotal <= start.machineTotal) return null;
      const cpus = availableParallelism();
      const perCpu = (end.machineTotal - start.machineTotal) / cpus;
      const machineCpus = (end.machineBusy - start.machineBusy) / perCpu;
      const ownCpus = Math.min(machineCpus, (end.own - start.own) / perCpu);
      return { machineCpus, ownCpus, otherCpus: Math.max(0, machineCpus - ownCpus) };
    },
  };
}
