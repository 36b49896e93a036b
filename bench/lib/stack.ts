/**
 * A production-shaped TaskForge stack for one scenario: the scheduler, the gateway and each worker
 * are separate `taskforge` processes (dist/cli/main.js) on 127.0.0.1, with a data dir of its own
 * (data-dirs.ts: removed with the run, not with the stack).
 *
 * Ports: the scheduler and the gateway listen on port 0 and report the port they got in their
 * 'listening' line, so two stacks never race for a port picked as free.
 *
 * Log levels: workers run at `warn` (they log every execution at info). The scheduler and the
 * gateway run at `info` because their 'listening' lines are the readiness signals (the
 * scheduler's carries `startupMs`); neither logs anything per execution at info. Readiness of the
 * gateway is then `GET /readyz`, of workers `GET /v1/workers` — bounded waits at start, never on
 * an invoke path.
 *
 * BENCH_PROFILE=1 adds `--cpu-prof` to every process (profiles are written when they stop).
 *
 * Auth is on, as in production: every request carries the admin key the scheduler wrote to its
 * data dir (http.ts useApiKey). The per-key rate limit is raised out of reach (BENCH_RATE_LIMIT)
 * so the bench measures the limiter's cost, not its limit.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeDataDir, releaseDataDir } from './data-dirs.js';
import { putFunction, request, useApiKey, waitFor } from './http.js';
import { spawnNode, type Proc } from './proc.js';

export const CLI = join(import.meta.dirname, '..', '..', 'cli', 'main.js');

/** A scheduler starting on 1M records (store-scale) may take longer than a minute. */
const READY_TIMEOUT_MS = 180_000;
/** Requests per second per key at the bench's gateway: far above any load it generates. */
const BENCH_RATE_LIMIT = 1_000_000;

export interface StackOptions {
  workers: number;
  capacity: number;
  /** Runtime processes a worker may keep (its --max-sandboxes); the product default when absent. */
  maxSandboxes?: number;
  /** Extra environment of the worker processes. */
  workerEnv?: NodeJS.ProcessEnv;
  /** Use this data dir (kept on close) instead of a fresh one (released on close). */
  dataDir?: string;
  /** Write CPU profiles of every process under this directory. */
  profileDir?: string | null;
}

export interface SchedulerStart {
  proc: Proc;
  grpcPort: number;
  /** The token files it wrote into its data dir, for the gateway and workers. */
  tokenFiles: { join: string; control: string };
  /** Spawn to 'scheduler listening', ms. */
  readyMs: number;
  /** The line itself (startupMs, executions, functions, …). */
  line: Record<string, unknown>;
  /** The admin API key from the data dir's admin.key. */
  apiKey: string;
}

export interface Stack {
  url: string;
  dataDir: string;
  scheduler: SchedulerStart;
  gateway: Proc;
  workers: Proc[];
  close(): Promise<void>;
}

const nodeArgs = (profileDir: string | null | undefined, role: string): string[] =>
  profileDir ? ['--cpu-prof', `--cpu-prof-dir=${join(profileDir, role)}`] : [];

export async function startScheduler(dataDir: string, profileDir?: string | null): Promise<SchedulerStart> {
  const proc = spawnNode('scheduler', [CLI, 'scheduler', '--grpc-port', '0', '--data-dir', dataDir, '--log-level', 'info'], {
    nodeArgs: nodeArgs(profileDir, 'scheduler'),
  });
  try {
    const { line, atMs } = await proc.waitForLine('scheduler listening', READY_TIMEOUT_MS);
    const grpcPort = line.port as number;
    const tokenFiles = { join: join(dataDir, 'join.token'), control: join(dataDir, 'control.token') };
    const apiKey = (await readFile(join(dataDir, 'admin.key'), 'utf8')).trim();
    return { proc, grpcPort, tokenFiles, readyMs: atMs - proc.spawnedAt, line, apiKey };
  } catch (err) {
    await proc.stop();
    throw err;
  }
}

export async function startGateway(scheduler: SchedulerStart, profileDir?: string | null): Promise<{ proc: Proc; url: string }> {
  const args = [
    CLI,
    'gateway',
    '--port',
    '0',
    '--scheduler',
    `127.0.0.1:${scheduler.grpcPort}`,
    '--control-token-file',
    scheduler.tokenFiles.control,
    '--rate-limit',
    String(BENCH_RATE_LIMIT),
    '--log-level',
    'info',
  ];
  const proc = spawnNode('gateway', args, { nodeArgs: nodeArgs(profileDir, 'gateway') });
  try {
    const url = (await proc.waitForLine('gateway listening', READY_TIMEOUT_MS)).line.url as string;
    useApiKey(url, scheduler.apiKey);
    await waitFor('gateway /readyz', READY_TIMEOUT_MS, async () => ((await request(url, 'GET', '/readyz', undefined, 2000)).status === 200 ? true : undefined));
    return { proc, url };
  } catch (err) {
    await proc.stop();
    throw new Error(`${(err as Error).message}\n${proc.output().slice(-2000)}`, { cause: err });
  }
}

let workerSeq = 0;

export async function startWorkers(url: string, scheduler: SchedulerStart, opts: StackOptions): Promise<Proc[]> {
  const names: string[] = [];
  const procs: Proc[] = [];
  for (let i = 0; i < opts.workers; i++) {
    const name = `bench-w${++workerSeq}`;
    names.push(name);
    procs.push(
      spawnNode(
        name,
        [
          CLI,
          'worker',
          '--scheduler',
          `127.0.0.1:${scheduler.grpcPort}`,
          '--join-token-file',
          scheduler.tokenFiles.join,
          '--capacity',
          String(opts.capacity),
          ...(opts.maxSandboxes ? ['--max-sandboxes', String(opts.maxSandboxes)] : []),
          '--name',
          name,
          '--log-level',
          'warn',
        ],
        {
          nodeArgs: nodeArgs(opts.profileDir, 'worker'),
          env: { ...process.env, ...opts.workerEnv },
        },
      ),
    );
  }
  try {
    await waitFor(`${names.length} workers ready`, READY_TIMEOUT_MS, async () => {
      for (const p of procs) if (p.child.exitCode !== null) throw new Error(`${p.name} exited: ${p.output().slice(-2000)}`);
      const res = await request<{ workers: Array<{ name: string; status: string }> }>(url, 'GET', '/v1/workers', undefined, 2000);
      const ready = new Set(res.body.workers.filter((w) => w.status === 'ready').map((w) => w.name));
      return names.every((n) => ready.has(n)) ? true : undefined;
    });
    return procs;
  } catch (err) {
    await Promise.all(procs.map((p) => p.stop()));
    throw err;
  }
}

export async function startStack(opts: StackOptions): Promise<Stack> {
  const ownDir = !opts.dataDir;
  const dataDir = opts.dataDir ?? (await makeDataDir('stack'));
  const started: Proc[] = [];
  try {
    const scheduler = await startScheduler(dataDir, opts.profileDir);
    started.push(scheduler.proc);
    const gateway = await startGateway(scheduler, opts.profileDir);
    started.push(gateway.proc);
    const workers = await startWorkers(gateway.url, scheduler, opts);
    started.push(...workers);
    let closing: Promise<void> | null = null;
    return {
      url: gateway.url,
      dataDir,
      scheduler,
      gateway: gateway.proc,
      workers,
      close: () =>
        (closing ??= (async () => {
          // Workers first (they drain), then the gateway, then the scheduler (it flushes the store).
          await Promise.all(workers.map((w) => w.stop()));
          await gateway.proc.stop();
          await scheduler.proc.stop();
          if (ownDir) await releaseDataDir(dataDir);
        })()),
    };
  } catch (err) {
    for (const p of started.reverse()) await p.stop();
    if (ownDir) await releaseDataDir(dataDir);
    throw err;
  }
}

/** Registers one function in `dataDir` through a scheduler and gateway started for it and stopped after. */
export async function registerFunction(dataDir: string, name: string, code: string): Promise<void> {
  const s = await startScheduler(dataDir);
  const g = await startGateway(s).catch(async (err: unknown) => {
    await s.proc.stop();
    throw err;
  });
  try {
    await putFunction(g.url, name, code);
  } finally {
    await g.proc.stop();
    await s.proc.stop();
  }
}
