/**
 * Public surface of the sandbox: the pool factory, its options and the interface types.
 * Nothing else in this folder is meant to be imported from outside it.
 */
export { createSandboxPool, resolveSandboxPoolOptions, SANDBOX_POOL_DEFAULTS } from './pool.js';
export type { SandboxPoolOptions, ResolvedSandboxPoolOptions, ProcessEvent } from './pool.js';
export type * from './types.js';
