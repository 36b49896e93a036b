/**
 * A real TaskForge stack for integration tests: the scheduler and gateway in this process on
 * port 0 (real gRPC and HTTP servers), each worker a real `taskforge worker` child process
 * (processes.ts), and a temp data dir per stack. Nothing here is a fake: auth is on, and `request` sends the
 * admin key the scheduler wrote to `<data-dir>/admin.key` at its first start (`requestAs` sends
 * another key, or none).
 */
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readTokenFile } from '../../common/grpc-auth.js';
import { silentLogger } from '../../common/logger.js';
import type { GatewayAppOptions } from '../../gateway/app.js';
import { startGateway } from '../../gateway/main.js';
import { startScheduler, type SchedulerHandle } from '../../scheduler/server.js';
import type { SchedulerOptionsInput } from '../../scheduler/options.js';
import type { RegisteredWorker } from '../../scheduler/worker-registry.js';
import { CLI, spawnComponent, type ComponentProcess } from './processes.js';

/** A `taskforge worker` child process, registered with the stack's scheduler as `id`. */
export interface WorkerProcess extends ComponentProcess {
  name: string;
  id: string;
}

export type Reply = { status: number; body: any; headers: Headers };

export interface Stack {
  url: string;
  dataDir: string;
  /** The admin key from `<data-dir>/admin.key`. */
  adminKey: string;
  scheduler: SchedulerHandle;
  gatewayPort: number;
  workers: WorkerProcess[];
  startWorker(opts?: WorkerStartOptions): Promise<WorkerProcess>;
  restartScheduler(opts?: SchedulerOptionsInput): Promise<void>;
  /** An HTTP call with the admin key. */
  request(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<Reply>;
  /** An HTTP call with `key` (null: no authorization header). */
  requestAs(key: string | null, method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<Reply>;
  close(): Promise<void>;
}

export interface WorkerStartOptions {
  capacity?: number;
  name?: string;
  /** Extra arguments for `taskforge worker`. */
  args?: string[];
  /** Descriptors the worker inherits beyond stdio, by number (as a shell's `exec 251<file` would leave them). */
  inherit?: Record<number, number>;
}

export interface StackOptions {
  workers?: number;
  capacity?: number;
  scheduler?: SchedulerOptionsInput;
  /** Requests per second per key at the gateway (its default when absent). */
  rateLimit?: number;
  /** Other gateway app options (e.g. sse). */
  gateway?: Partial<GatewayAppOptions>;
  dataDir?: string;
}

/** The admin key a scheduler wrote at its first start into `dataDir`. */
export async function readAdminKey(dataDir: string): Promise<string> {
  return (await readFile(join(dataDir, 'admin.key'), 'utf8')).trim();
}

let counter = 0;

export async function startStack(opts: StackOptions = {}): Promise<Stack> {
  if (!existsSync(CLI)) throw new Error('dist/ is missing: run `make build` (make test does it) before the integration tests');
  const dataDir = opts.dataDir ?? (await mkdtemp(join(tmpdir(), 'taskforge-test-')));
  const schedOpts: SchedulerOptionsInput = { port: 0, dataDir, heartbeatIntervalMs: 200, ...opts.scheduler };
  let scheduler = await startScheduler(schedOpts);
  const adminKey = await readAdminKey(dataDir);
  // Wired like `taskforge dev`: the gateway and workers use the tokens the scheduler wrote.
  const gatewayFor = (s: SchedulerHandle) =>
    startGateway({
      port: 0,
      host: '127.0.0.1',
      scheduler: s.address,
      logger: silentLogger,
      client: { controlToken: readTokenFile(s.tokenFiles.control) },
      app: { ...(opts.rateLimit !== undefined && { rateLimit: opts.rateLimit }), ...opts.gateway },
    });
  let gateway = await gatewayFor(scheduler);
  const workers: WorkerProcess[] = [];

  const startWorker = async (w: WorkerStartOptions = {}): Promise<WorkerProcess> => {
    const name = w.name ?? `w${++counter}`;
    const registered = new Promise<RegisteredWorker>((resolve) => {
      const onReg = (rw: RegisteredWorker): void => {
        if (rw.name === name) {
          scheduler.internals.registry.events.off('registered', onReg);
          resolve(rw);
        }
      };
      scheduler.internals.registry.events.on('registered', onReg);
    });
    const args = [
      'worker',
      '--scheduler',
      scheduler.address,
      '--join-token-file',
      scheduler.tokenFiles.join,
      '--capacity',
      String(w.capacity ?? opts.capacity ?? 2),
      '--name',
      name,
      '--log-level',
      'warn',
      ...(w.args ?? []),
    ];
    const p = spawnComponent(args, { env: { TASKFORGE_TEST_SECRET: 'worker-secret' }, ...(w.inherit && { inherit: w.inherit }) });
    const rw = await Promise.race([
      registered,
      p.exited.then((code) => {
        throw new Error(`worker ${name} exited (${code}) before registering:\n${p.output()}`);
      }),
    ]);
    const wp: WorkerProcess = { ...p, name, id: rw.id };
    workers.push(wp);
    return wp;
  };

  for (let i = 0; i < (opts.workers ?? 1); i++) await startWorker();

  const stack: Stack = {
    get url() {
      return `http://127.0.0.1:${gateway.port}`;
    },
    dataDir,
    adminKey,
    get scheduler() {
      return scheduler;
    },
    get gatewayPort() {
      return gateway.port;
    },
    workers,
    startWorker,
    async restartScheduler(more: SchedulerOptionsInput = {}) {
      const port = scheduler.port;
      await scheduler.close();
      scheduler = await startScheduler({ ...schedOpts, port, ...more });
      await gateway.close();
      gateway = await gatewayFor(scheduler);
    },
    request(method, path, body, headers = {}) {
      return stack.requestAs(adminKey, method, path, body, headers);
    },
    async requestAs(key, method, path, body, headers = {}) {
      const init: RequestInit = { method, headers: { ...(key !== null && { authorization: `Bearer ${key}` }), ...headers } };
      if (body !== undefined) {
        init.body = typeof body === 'string' ? body : JSON.stringify(body);
        (init.headers as Record<string, string>)['content-type'] ??= 'application/json';
      }
      const res = await fetch(`${stack.url}${path}`, init);
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = text ? JSON.parse(text) : null;
      } catch {
        // leave as text
      }
      return { status: res.status, body: parsed, headers: res.headers };
    },
    async close() {
      await Promise.all(workers.map((w) => w.kill('SIGKILL')));
      await gateway.close();
      await scheduler.close();
      if (!opts.dataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
  return stack;
}

/** Waits for the named event on an emitter, failing after `ms` instead of hanging the suite. */
export async function eventWithin<T extends unknown[]>(emitter: NodeJS.EventEmitter, event: string, ms: number): Promise<T> {
  const ac = new AbortController();
  const t = setTimeout(() => ac.abort(), ms);
  try {
    return (await once(emitter, event, { signal: ac.signal })) as T;
  } finally {
    clearTimeout(t);
  }
}

export const fn = (code: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({ code, ...extra });
