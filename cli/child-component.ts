/**
 * A TaskForge component as a child process of this one (`node cli/main.js <command> …`), the
 * way `taskforge dev` starts its stack and `taskforge pool` its workers: own process group, an
 * IPC channel the child reports readiness on (`{ ready: <command> }`, components.ts) and whose
 * loss makes the child shut itself down, and its stdout/stderr handed over line by line.
 * It only spawns and reports: when to stop, restart or kill a child is the caller's decision.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('./main.js', import.meta.url));

export interface ChildComponent {
  label: string;
  proc: ChildProcess;
  /** Settles with the exit code (1 when ended by a signal). */
  exited: Promise<number>;
  /** Resolves when the child says it is up; rejects (with `exitCode`) when it exits before. */
  ready: Promise<void>;
}

export interface SpawnChildOptions {
  /** Every line the child prints, stdout and stderr alike. */
  onLine: (line: string, label: string) => void;
  env?: NodeJS.ProcessEnv;
}

export function spawnChildComponent(label: string, args: readonly string[], opts: SpawnChildOptions): ChildComponent {
  // Own process group: a terminal's Ctrl-C reaches the parent alone, which stops the children in
  // order. The IPC channel closes if the parent dies, and the child then shuts itself down.
  const proc = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'], env: opts.env ?? process.env, detached: true });
  const exited = new Promise<number>((res) => proc.on('exit', (code, signal) => res(code ?? (signal ? 1 : 0))));
  const ready = new Promise<void>((resolve, reject) => {
    let up = false;
    proc.on('message', (m: unknown) => {
      if (!up && m && typeof m === 'object' && 'ready' in m) {
        up = true;
        resolve();
      }
    });
    void exited.then((code) => {
      if (!up) reject(Object.assign(new Error(`${label} exited with code ${code} before it was ready`), { exitCode: code }));
    });
  });
  // A spawn failure (no such binary) arrives as 'error' and then 'exit'; the exit says it all.
  proc.on('error', () => undefined);
  createInterface({ input: proc.stdout! }).on('line', (line) => opts.onLine(line, label));
  createInterface({ input: proc.stderr! }).on('line', (line) => opts.onLine(line, label));
  return { label, proc, exited, ready };
}

/** Whether the child has not exited yet. */
export const isRunning = (c: ChildComponent): boolean => c.proc.exitCode === null && c.proc.signalCode === null;
