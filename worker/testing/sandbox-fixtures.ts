/**
 * Test-only builders for sandbox pool tests against real runtime processes: unique function
 * versions, run requests, and pools that are closed after each test.
 */
import { createHash } from 'node:crypto';
import { createSandboxPool, type ProcessEvent, type SandboxPoolOptions } from '../sandbox/pool.js';
import type { RunRequest, SandboxFunction, SandboxPool } from '../sandbox/types.js';

let seq = 0;
const pools: SandboxPool[] = [];

/** A function version with a name no other test uses, so warm processes never leak between tests. */
export function fn(code: string, over: Partial<SandboxFunction> = {}, prefix = 'fn'): SandboxFunction {
  seq += 1;
  const codeSha256 = createHash('sha256').update(code).digest('hex');
  return { name: `${prefix}${seq}`, version: 1, handler: 'default', timeoutMs: 10_000, memoryMb: 128, env: {}, codeSha256, code, ...over };
}

export function req(f: SandboxFunction, over: Partial<RunRequest> = {}): RunRequest {
  seq += 1;
  return { executionId: `ex_${seq}`, fn: f, inputJson: 'null', attempt: 1, deadlineMs: Date.now() + f.timeoutMs, ...over };
}

/** A started pool (no prewarmed processes unless asked) that records its process events. */
export async function startPool(opts: SandboxPoolOptions = {}): Promise<{ pool: SandboxPool; events: ProcessEvent[] }> {
  const events: ProcessEvent[] = [];
  const pool = createSandboxPool({ prewarm: 0, ...opts, onProcessEvent: (e) => events.push(e) });
  pools.push(pool);
  await pool.start();
  return { pool, events };
}

/** Registers a pool made elsewhere so closePools() ends it too. */
export function track(pool: SandboxPool): SandboxPool {
  pools.push(pool);
  return pool;
}

/** For afterEach: closes every pool the test started. */
export async function closePools(): Promise<void> {
  await Promise.all(pools.splice(0).map((p) => p.close()));
}
