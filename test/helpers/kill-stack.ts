/**
 * The stack the scheduler-kill fault tests share: a `taskforge scheduler` child process (so it
 * can be SIGKILLed), worker processes joining it, and an in-process gateway, on a temp data dir.
 * `restartScheduler` SIGKILLs the scheduler and starts a new one on the same port and data dir
 * (and the same `--store`, when one is given).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readTokenFile } from '../../common/grpc-auth.js';
import { silentLogger } from '../../common/logger.js';
import { startGateway, type RunningGateway } from '../../gateway/main.js';
import { startSchedulerProcess, startWorkerProcess, tokenFiles, type ComponentProcess, type SchedulerProcess } from './processes.js';
import { readAdminKey } from './stack.js';

export interface KillStack {
  dataDir: string;
  /** The gateway's base URL. */
  base: string;
  /** The admin key. */
  key: string;
  /** The scheduler running now (a new one after each restart). */
  scheduler: SchedulerProcess;
  /** SIGKILL, `downMs` later a new scheduler on the same port and data dir; resolves once it listens. */
  restartScheduler(downMs?: number): Promise<void>;
  close(): Promise<void>;
}

export interface KillStackOptions {
  tmpPrefix: string;
  workers: string[];
  capacity?: number;
  /** `--store` for every scheduler started (e.g. a PostgreSQL URL); absent: the file store in the data dir. */
  store?: string;
}

export async function startKillStack(opts: KillStackOptions): Promise<KillStack> {
  const dataDir = await mkdtemp(join(tmpdir(), opts.tmpPrefix));
  const procs: ComponentProcess[] = [];
  let gateway: RunningGateway | undefined;
  const close = async (): Promise<void> => {
    for (const p of procs.splice(0)) await p.kill();
    await gateway?.close();
    await rm(dataDir, { recursive: true, force: true });
  };
  const storeArgs = opts.store === undefined ? [] : ['--store', opts.store];
  try {
    const first = await startSchedulerProcess(dataDir, 0, storeArgs);
    procs.push(first);
    for (const name of opts.workers) procs.push(await startWorkerProcess(first.address, dataDir, name, opts.capacity ?? 4));
    const controlToken = readTokenFile(tokenFiles(dataDir).control);
    gateway = await startGateway({ port: 0, host: '127.0.0.1', scheduler: first.address, logger: silentLogger, client: { controlToken } });
    const stack: KillStack = {
      dataDir,
      base: `http://127.0.0.1:${gateway.port}`,
      key: await readAdminKey(dataDir),
      scheduler: first,
      async restartScheduler(downMs = 0) {
        await stack.scheduler.kill('SIGKILL');
        if (downMs > 0) await new Promise((res) => setTimeout(res, downMs));
        // Where the workers and the gateway look for it again.
        stack.scheduler = await startSchedulerProcess(dataDir, first.port, storeArgs);
        procs.push(stack.scheduler);
      },
      close,
    };
    return stack;
  } catch (err) {
    await close();
    throw err;
  }
}
