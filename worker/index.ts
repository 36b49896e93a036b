/**
 * The worker's public surface: start a worker process's agent and pool, or build an agent
 * around a pool of your own. Internals (stream sessions, runs, batching) stay private.
 */
export { startWorker, type StartWorkerOptions, type RunningWorker } from './main.js';
export { createWorkerAgent, type WorkerAgent, type AgentState } from './agent.js';
export { resolveWorkerOptions, WORKER_DEFAULTS, AGENT_VERSION, type WorkerOptions, type ResolvedWorkerOptions, type PoolFactory } from './worker-options.js';
export type { SandboxPool } from './sandbox/types.js';
