/**
 * Starts one worker process's pieces: the real sandbox pool and the agent that feeds it.
 * It installs nothing on process signals and never exits the process — the CLI owns SIGTERM
 * (calling close()) and decides when to exit (e.g. once `closed` settles after a scheduler Drain).
 */
import type { SandboxPoolOptions } from './sandbox/pool.js';
import { createWorkerAgent, type WorkerAgent } from './agent.js';
import type { WorkerOptions } from './worker-options.js';

export interface StartWorkerOptions extends Omit<WorkerOptions, 'pool' | 'poolFactory'> {
  /** Passed to createSandboxPool; the agent's logger is used unless one is given here. */
  poolOptions?: SandboxPoolOptions;
}

export interface RunningWorker {
  id: string;
  /** Drains and closes agent and pool. Idempotent. */
  close(): Promise<void>;
  /** Settles when the worker has closed, by close() or by a Drain from the scheduler. */
  closed: Promise<void>;
}

export async function startWorker(opts: StartWorkerOptions = {}): Promise<RunningWorker> {
  const { poolOptions, ...agentOptions } = opts;
  // Loaded on demand so the agent and its tests never load the sandbox implementation.
  const { createSandboxPool } = await import('./sandbox/pool.js');
  const pool = createSandboxPool({ ...(opts.logger ? { logger: opts.logger.child({ component: 'sandbox' }) } : {}), ...poolOptions });
  await pool.start();
  let agent: WorkerAgent;
  try {
    // The agent takes the started pool and closes it on close().
    agent = createWorkerAgent({ ...agentOptions, pool });
    await agent.start();
  } catch (err) {
    await pool.close().catch(() => {});
    throw err;
  }
  return { id: agent.id, close: () => agent.close(), closed: agent.closed };
}
