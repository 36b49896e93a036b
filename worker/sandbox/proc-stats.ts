/**
 * What a runtime process really uses, read from /proc (Linux): resident memory and CPU time.
 * The pool trusts these, never what the child reports about itself. Every reader answers null
 * where /proc is missing or the process is gone; none throws.
 */
import { readFileSync } from 'node:fs';

/** USER_HZ: the unit of utime/stime in /proc/<pid>/stat; 100 on every Linux architecture Node runs on. */
const CLOCK_TICKS_PER_S = 100;
const PAGE_BYTES = 4096;

function read(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

/**
 * The innermost process under `pid`, following first children: for a sandbox started as
 * prlimit → bwrap → (bwrap's init in the PID namespace) → node, the node process; for a
 * directly spawned node, `pid` itself. Null once the process is gone.
 */
export function innermostPid(pid: number): number | null {
  let current = pid;
  for (let depth = 0; depth < 8; depth++) {
    const children = read(`/proc/${current}/task/${current}/children`);
    if (children === null) return depth === 0 ? null : current;
    const first = Number(children.trim().split(' ')[0]);
    if (!Number.isInteger(first) || first <= 0) return current;
    current = first;
  }
  return current;
}

/** Resident set size in bytes. */
export function rssBytes(pid: number): number | null {
  const statm = read(`/proc/${pid}/statm`);
  if (statm === null) return null;
  const resident = Number(statm.split(' ')[1]);
  return Number.isFinite(resident) ? resident * PAGE_BYTES : null;
}

/** User + system CPU time of the process (all its threads), ms. */
export function cpuTimeMs(pid: number): number | null {
  const stat = read(`/proc/${pid}/stat`);
  if (stat === null) return null;
  // The command name (field 2) may hold spaces and parentheses: count fields after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return Number.isFinite(utime) && Number.isFinite(stime) ? ((utime + stime) * 1000) / CLOCK_TICKS_PER_S : null;
}
