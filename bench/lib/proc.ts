/**
 * Child processes of the suite: spawn a Node script, wait (bounded) for a JSON log line that says
 * it is ready, stop it with SIGTERM and then SIGKILL after a grace period. Every process started
 * here is tracked so that a failed or timed-out scenario can kill exactly what it started, by pid.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

export const STOP_GRACE_MS = 5_000;
const OUTPUT_KEEP_CHARS = 64 * 1024;

export interface Proc {
  readonly name: string;
  readonly child: ChildProcess;
  readonly pid: number;
  /** performance.now() at spawn. */
  readonly spawnedAt: number;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** The last 64 KiB of stdout and stderr, for error messages. */
  output(): string;
  /** Resolves with the first JSON log line whose `msg` matches, and when it arrived. */
  waitForLine(msg: string, timeoutMs: number): Promise<{ line: Record<string, unknown>; atMs: number }>;
  /** SIGTERM, then SIGKILL after STOP_GRACE_MS. Idempotent. */
  stop(): Promise<void>;
}

const live = new Set<Proc>();

/**
 * A compiled child script of bench/lib (`name`.js): beside this module when the suite runs from
 * dist/, or in dist/ when this module runs from source (tests).
 */
export function libChildScript(name: string): string {
  const beside = join(import.meta.dirname, `${name}.js`);
  return existsSync(beside) ? beside : join(import.meta.dirname, '..', '..', 'dist', 'bench', 'lib', `${name}.js`);
}

export function spawnNode(name: string, args: string[], opts: { nodeArgs?: string[]; env?: NodeJS.ProcessEnv } = {}): Proc {
  const spawnedAt = performance.now();
  const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: opts.env ?? process.env,
  });
  if (child.pid === undefined) throw new Error(`${name}: spawn failed`);
  let out = '';
  let partial = '';
  const lineWaiters: Array<{ msg: string; resolve: (v: { line: Record<string, unknown>; atMs: number }) => void }> = [];
  const keep = (s: string): void => {
    out += s;
    if (out.length > OUTPUT_KEEP_CHARS * 2) out = out.slice(-OUTPUT_KEEP_CHARS);
  };
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    keep(chunk);
    const atMs = performance.now();
    const lines = (partial + chunk).split('\n');
    partial = lines.pop() ?? '';
    for (const text of lines) {
      if (lineWaiters.length === 0 || !text.startsWith('{')) continue;
      let line: Record<string, unknown>;
      try {
        line = JSON.parse(text) as Record<string, unknown>;
      } catch {
        continue;
      }
      for (let i = lineWaiters.length - 1; i >= 0; i--) {
        if (line.msg === lineWaiters[i]!.msg) lineWaiters.splice(i, 1)[0]!.resolve({ line, atMs });
      }
    }
  });
  child.stderr.setEncoding('utf8').on('data', keep);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );

  let stopping: Promise<void> | null = null;
  const proc: Proc = {
    name,
    child,
    pid: child.pid,
    spawnedAt,
    exited,
    output: () => out,
    waitForLine(msg, timeoutMs) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${name}: no '${msg}' line within ${timeoutMs} ms\n${out.slice(-4000)}`)), timeoutMs);
        const done = (v: { line: Record<string, unknown>; atMs: number }): void => {
          clearTimeout(timer);
          resolve(v);
        };
        lineWaiters.push({ msg, resolve: done });
        void exited.then(({ code, signal }) => {
          clearTimeout(timer);
          reject(new Error(`${name}: exited (${code ?? signal}) before '${msg}'\n${out.slice(-4000)}`));
        });
      });
    },
    stop() {
      stopping ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGTERM');
          const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
          await exited;
          clearTimeout(timer);
        }
        live.delete(proc);
      })();
      return stopping;
    },
  };
  live.add(proc);
  return proc;
}

/** Stops every process this module started and has not stopped yet. */
export async function stopAll(): Promise<void> {
  await Promise.all([...live].map((p) => p.stop()));
}

/** Synchronous last resort on exit: SIGKILL what is still alive. */
export function killAllNow(): void {
  for (const p of live) {
    if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
  }
}
