/**
 * What this machine charges for the two things TaskForge does on every invoke and a bare Fastify
 * app does not: crossing to another process and creating a file. Measured in every run beside the
 * ceiling, because on virtual machines both vary by an order of magnitude and explain most of the
 * gap between TaskForge and the ceiling.
 *
 * - Process round trip: one IPC message to a child and back, CPU of both processes per trip,
 *   back to back and after an idle gap (as between the invokes of a lightly loaded or CPU-bound
 *   stack). Where waking a process is expensive, the idle case costs several times more.
 * - File create: temp file created, written, closed and renamed into place, as the store writes an
 *   execution file (without fsync), CPU per file. On an ext4 without a journal this grows with the
 *   inodes deleted in the last minutes (see data-dirs.ts), so it also shows whether the disk is fair.
 */
import { fork } from 'node:child_process';
import { closeSync, mkdirSync, openSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { libChildScript } from './proc.js';

const ECHO_CHILD = libChildScript('echo-child');

export interface RoundTrip {
  trips: number;
  gapMs: number;
  /** Wall time per trip, not counting the gap, µs (median). */
  wallUsP50: number;
  /** CPU of parent and child together per trip, µs (mean). */
  cpuUs: number;
}

const cpuOf = (u: NodeJS.CpuUsage): number => u.user + u.system;

/**
 * `trips` round trips to a fresh child, each sent `gapMs` after the previous answer (0: at once).
 * Rejects if the child dies; `script` replaces the echo child (tests).
 */
export async function processRoundTrip(trips: number, gapMs: number, warmup = 200, script = ECHO_CHILD): Promise<RoundTrip> {
  const child = fork(script, [], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  // One listener each for the whole run: the reply (or failure) goes to the one request in flight.
  let pending: { resolve: (m: unknown) => void; reject: (e: Error) => void } | null = null;
  const settle = (fn: (p: NonNullable<typeof pending>) => void): void => {
    const p = pending;
    pending = null;
    if (p) fn(p);
  };
  child.on('message', (m: unknown) => settle((p) => p.resolve(m)));
  child.on('error', (err: Error) => settle((p) => p.reject(err)));
  child.on('exit', (code, signal) => settle((p) => p.reject(new Error(`echo child exited (${code ?? signal})`))));
  const ask = (m: unknown): Promise<unknown> =>
    new Promise((resolve, reject) => {
      pending = { resolve, reject };
      child.send(m as string | number);
    });
  try {
    const usage = async (): Promise<number> => cpuOf(((await ask('usage')) as { usage: NodeJS.CpuUsage }).usage);
    const wait = (ms: number): Promise<void> => new Promise((r) => (ms > 0 ? setTimeout(r, ms) : setImmediate(r)));
    for (let i = 0; i < warmup; i++) await ask(i);
    const walls: number[] = [];
    const childBefore = await usage();
    const selfBefore = process.cpuUsage();
    for (let i = 0; i < trips; i++) {
      await wait(gapMs);
      const t = performance.now();
      await ask(i);
      walls.push((performance.now() - t) * 1000);
    }
    const self = cpuOf(process.cpuUsage(selfBefore));
    const childCpu = (await usage()) - childBefore;
    walls.sort((a, b) => a - b);
    return { trips, gapMs, wallUsP50: walls[Math.floor(walls.length / 2)]!, cpuUs: (self + childCpu) / trips };
  } finally {
    child.kill();
  }
}

/** CPU per file of `files` atomic file creations (temp, write, close, rename) in a new `dir`, µs. */
export function fileCreateCpuUs(dir: string, files: number): number {
  mkdirSync(dir, { recursive: true });
  const data = `${JSON.stringify({ id: 'x'.repeat(24), status: 'succeeded', output: { ok: true } })}\n`;
  const before = process.cpuUsage();
  for (let i = 0; i < files; i++) {
    const tmp = join(dir, `.f${i}.json.tmp`);
    const fd = openSync(tmp, 'wx');
    writeFileSync(fd, data);
    closeSync(fd);
    renameSync(tmp, join(dir, `f${i}.json`));
  }
  return cpuOf(process.cpuUsage(before)) / files;
}
