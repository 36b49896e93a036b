/**
 * Memory of a process and its children, read from /proc (Linux): VmRSS from /proc/<pid>/status,
 * Pss from /proc/<pid>/smaps_rollup (shared pages split between the processes sharing them, so
 * a sum of Pss does not count Node's shared code once per sandbox), children by their ppid.
 * Under the OS boundary a worker's child is the wrapper (prlimit → bwrap → setpriv → node),
 * so a sandbox is the whole tree under that child, not the child alone.
 */
import { readdirSync, readFileSync } from 'node:fs';

export interface ProcMemory {
  pid: number;
  rssBytes: number;
  /** null when smaps_rollup is not readable. */
  pssBytes: number | null;
}

function kbField(text: string, field: string): number | null {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text);
  return m ? Number(m[1]) * 1024 : null;
}

export function processMemory(pid: number): ProcMemory | null {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return null;
  }
  let pss: number | null = null;
  try {
    pss = kbField(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'), 'Pss');
  } catch {
    // older kernels or restricted /proc
  }
  return { pid, rssBytes: kbField(status, 'VmRSS') ?? 0, pssBytes: pss };
}

/** The fields of a /proc/<pid>/stat (or task/<tid>/stat) line after the command name (field 3 on). */
export function statFields(stat: string): string[] {
  // The command name may hold spaces and parentheses: fields start after the last ')'.
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** Every process's pid, ppid and the /proc/<pid>/stat fields after the command name (field 3 on). */
export function procStats(): Array<{ pid: number; ppid: number; fields: string[] }> {
  const out: Array<{ pid: number; ppid: number; fields: string[] }> = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue;
    }
    const fields = statFields(stat);
    out.push({ pid: Number(entry), ppid: Number(fields[1]), fields });
  }
  return out;
}

/** Direct children of `pid`. */
export function childPids(pid: number, stats = procStats()): number[] {
  return stats.filter((p) => p.ppid === pid).map((p) => p.pid);
}

/** Every process below `pid` (children, theirs, …), in no particular order. */
export function descendantPids(pid: number, stats = procStats()): number[] {
  const out: number[] = [];
  for (let frontier = [pid]; frontier.length > 0;) {
    const next = stats.filter((p) => frontier.includes(p.ppid)).map((p) => p.pid);
    out.push(...next);
    frontier = next;
  }
  return out;
}

/**
 * One sandbox's memory: the tree under a worker's child. RSS is its largest process's (the node
 * running the function; the wrappers hold ~2 MiB each and share little), PSS is the tree's sum.
 */
export function sandboxMemory(childPid: number, stats = procStats()): ProcMemory | null {
  const tree = [childPid, ...descendantPids(childPid, stats)].map(processMemory).filter((m): m is ProcMemory => m !== null);
  if (tree.length === 0) return null;
  const largest = tree.reduce((a, b) => (b.rssBytes > a.rssBytes ? b : a));
  const pss = tree.every((m) => m.pssBytes !== null) ? tree.reduce((sum, m) => sum + m.pssBytes!, 0) : null;
  return { pid: largest.pid, rssBytes: largest.rssBytes, pssBytes: pss };
}

export const MiB = 1024 * 1024;
