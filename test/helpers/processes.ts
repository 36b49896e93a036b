/**
 * TaskForge components as real child processes (`node dist/cli/main.js <command>`) — the one way
 * tests start one, whether a stack's worker or a fault test's scheduler it will SIGKILL, SIGSTOP or
 * restart: readiness by log line, servers on port 0 that say in that line which port they got, and
 * a small HTTP client. Everything a process prints is kept so a failure can show it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { IP } from './netns.js';

/** The built command line (make build): integration tests run the real entry point. */
export const CLI = join(import.meta.dirname, '..', '..', 'dist', 'cli', 'main.js');

/** Where a scheduler started on `dataDir` keeps the tokens workers and gateways need. */
export const tokenFiles = (dataDir: string): { join: string; control: string } => ({
  join: join(dataDir, 'join.token'),
  control: join(dataDir, 'control.token'),
});

export interface ComponentProcess {
  proc: ChildProcess;
  pid: number;
  /** Settles with the exit code (null when killed by a signal). */
  exited: Promise<number | null>;
  output(): string;
  /** Resolves with the first printed line (past or future) matching `re`; rejects after `ms` or on exit. */
  waitForLine(re: RegExp, ms: number): Promise<string>;
  /** SIGKILL (if still running) and wait for the exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

const MAX_OUTPUT = 2 * 1024 * 1024;

export interface SpawnOptions {
  /** Added to this process's environment. */
  env?: NodeJS.ProcessEnv;
  /** Descriptors the child inherits beyond stdio, by number (as a shell's `exec 251<file` would leave them). */
  inherit?: Record<number, number>;
  /**
   * A Linux network namespace to run in (`ip netns exec <netns> node …`; netns.ts makes them). ip
   * execs the command in place, so `pid` and signals are still the component's own.
   */
  netns?: string;
}

export function spawnComponent(args: string[], opts: SpawnOptions = {}): ComponentProcess {
  const stdio: Array<'ignore' | 'pipe' | number> = ['ignore', 'pipe', 'pipe'];
  for (const [at, fd] of Object.entries(opts.inherit ?? {})) {
    while (stdio.length < Number(at)) stdio.push('ignore');
    stdio[Number(at)] = fd;
  }
  const [command, argv] = opts.netns ? [IP, ['netns', 'exec', opts.netns, process.execPath, CLI, ...args]] : [process.execPath, [CLI, ...args]];
  const proc = spawn(command, argv, { stdio: stdio, env: { ...process.env, ...opts.env } });
  const lines: string[] = [];
  let size = 0;
  let partial = '';
  const watchers = new Set<(line: string) => void>();
  const onData = (d: Buffer): void => {
    const parts = (partial + d.toString()).split('\n');
    partial = parts.pop() ?? '';
    for (const line of parts) {
      lines.push(line);
      size += line.length;
      while (size > MAX_OUTPUT && lines.length > 1) size -= lines.shift()!.length;
      for (const w of [...watchers]) w(line);
    }
  };
  proc.stdout!.on('data', onData);
  proc.stderr!.on('data', onData);
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  let gone = false;
  void exited.then(() => (gone = true));
  const output = (): string => lines.join('\n') + (partial ? `\n${partial}` : '');
  const waitForLine = (re: RegExp, ms: number): Promise<string> =>
    new Promise((resolve, reject) => {
      const seen = lines.find((l) => re.test(l));
      if (seen !== undefined) return resolve(seen);
      const finish = (err: Error | null, line?: string): void => {
        clearTimeout(timer);
        watchers.delete(watch);
        if (err) reject(err);
        else resolve(line!);
      };
      const watch = (line: string): void => {
        if (re.test(line)) finish(null, line);
      };
      const timer = setTimeout(() => finish(new Error(`no line matching ${re} within ${ms} ms:\n${output().slice(-4000)}`)), ms);
      watchers.add(watch);
      void exited.then((code) => finish(new Error(`process exited (${code}) before printing ${re}:\n${output().slice(-4000)}`)));
    });
  return {
    proc,
    pid: proc.pid!,
    exited,
    output,
    waitForLine,
    async kill(signal: NodeJS.Signals = 'SIGKILL') {
      if (!gone) proc.kill(signal);
      await exited;
    },
  };
}

export interface SchedulerProcess extends ComponentProcess {
  /** The port it listens on, as its "scheduler listening" line says. */
  port: number;
  /** `127.0.0.1:<port>`, for workers and gateways. */
  address: string;
}

/**
 * `taskforge scheduler` on `dataDir`; resolves once it listens. On port 0 unless told a port: a
 * restart after a kill passes the port the first start got, so workers find it where they were.
 */
export async function startSchedulerProcess(dataDir: string, port = 0, args: string[] = []): Promise<SchedulerProcess> {
  const p = spawnComponent(['scheduler', '--grpc-port', String(port), '--data-dir', dataDir, '--log-level', 'info', ...args]);
  const listening = JSON.parse(await p.waitForLine(/"msg":"scheduler listening"/, 20_000)) as { port: number };
  return { ...p, port: listening.port, address: `127.0.0.1:${listening.port}` };
}

/** `taskforge worker` joining with the join token of the scheduler on `dataDir`; resolves once it is welcomed. */
export async function startWorkerProcess(scheduler: string, dataDir: string, name: string, capacity: number): Promise<ComponentProcess> {
  const p = spawnComponent([
    'worker',
    '--scheduler',
    scheduler,
    '--join-token-file',
    tokenFiles(dataDir).join,
    '--capacity',
    String(capacity),
    '--name',
    name,
    '--log-level',
    'info',
  ]);
  await p.waitForLine(/"msg":"welcomed"/, 20_000);
  return p;
}

export interface HttpReply {
  status: number;
  body: any;
}

/** One HTTP call with a JSON body and, when given, an API key; a refused connection is status 0. */
export async function http(base: string, method: string, path: string, body?: unknown, key?: string, extra: Record<string, string> = {}): Promise<HttpReply> {
  const headers: Record<string, string> = { ...extra, ...(key ? { authorization: `Bearer ${key}` } : {}) };
  const init: RequestInit = { method, headers };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    headers['content-type'] = 'application/json';
  }
  let res: Response;
  try {
    res = await fetch(`${base}${path}`, init);
  } catch {
    return { status: 0, body: null };
  }
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, body: parsed };
}

/** Runs `task` over `items` with at most `limit` at once. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, task: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await task(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return out;
}

/** A TCP port of 127.0.0.1 free right now (for a process that must be started on a known port). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
