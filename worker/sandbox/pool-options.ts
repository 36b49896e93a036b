/**
 * Options of the sandbox pool → resolveSandboxPoolOptions() → one frozen, validated object.
 * Defaults live in SANDBOX_POOL_DEFAULTS only. Validation happens once, here, with a message that
 * names the option; nothing else in the pool re-checks or re-defaults.
 */
import { existsSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { silentLogger, type Logger } from '../../common/logger.js';
import { FUNCTION_DEFAULTS } from '../../common/records.js';
import { OptionsError } from '../../common/options-error.js';
import { resolveIsolation, type Isolation, type IsolationLimits, type IsolationMode } from './isolation.js';

export const SANDBOX_POOL_DEFAULTS = {
  /** Hard cap of live runtime processes (busy, warm idle, prewarmed, dying). */
  maxProcesses: 16,
  /** A warm process idle this long is killed, ms. */
  idleTtlMs: 300_000,
  /** Generic processes kept started ahead of need, without code. */
  prewarm: 2,
  /** Heap limit of prewarmed processes, MB; only functions with this memoryMb can take them. */
  prewarmMemoryMb: FUNCTION_DEFAULTS.memoryMb,
  /** A child that has not said `ready` by then is killed, ms. */
  startTimeoutMs: 10_000,
  /**
   * When warm processes fill maxProcesses, one idle at least this long is evicted (LRU) to keep
   * the prewarmed reserve, ms. Processes reused more often than this are never evicted for it, so
   * a busy function at full concurrency does not trade its warm processes for prewarmed ones.
   */
  reserveEvictIdleMs: 1_000,
  /** The OS boundary (bubblewrap); `insecure` only when the operator asked for it. */
  isolation: 'namespaces',
  /** Keep V8's compiled code per function version (code-dir.ts); needs the OS boundary's private /tmp. */
  compileCache: true,
} as const;

/** What happened to a runtime process; for metrics and tests. */
export type ProcessEvent =
  | { type: 'spawned'; pid: number | undefined; memoryMb: number; prewarm: boolean }
  | { type: 'exited'; pid: number | undefined; key: string | null; code: number | null; signal: string | null; reason: string };

export interface SandboxPoolOptions {
  maxProcesses?: number;
  idleTtlMs?: number;
  prewarm?: number;
  prewarmMemoryMb?: number;
  startTimeoutMs?: number;
  reserveEvictIdleMs?: number;
  logger?: Logger;
  /** The compiled runtime entry script (runtime.js). */
  runtimePath?: string;
  onProcessEvent?: (event: ProcessEvent) => void;
  /** `namespaces` (default): refuse to start without the OS boundary. `insecure`: permission model only. */
  isolation?: IsolationMode;
  /** Overrides of the sandbox's rlimits and /tmp size. */
  isolationLimits?: Partial<IsolationLimits>;
  /** bubblewrap's path when it is not in /usr/bin or /bin. */
  bwrapPath?: string;
  compileCache?: boolean;
}

export interface ResolvedSandboxPoolOptions {
  readonly maxProcesses: number;
  readonly idleTtlMs: number;
  readonly prewarm: number;
  readonly prewarmMemoryMb: number;
  readonly startTimeoutMs: number;
  readonly reserveEvictIdleMs: number;
  readonly logger: Logger;
  readonly runtimePath: string;
  readonly onProcessEvent: ((event: ProcessEvent) => void) | null;
  readonly isolation: Isolation;
  /** On only with the OS boundary: the cache is written in the sandbox's private /tmp. */
  readonly compileCache: boolean;
}

/**
 * runtime.js next to this module when running from dist/; otherwise (TypeScript sources under
 * vitest) the compiled copy in <repo>/dist, since the child must run plain JavaScript.
 */
export function defaultRuntimePath(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const sibling = join(here, 'runtime.js');
  if (existsSync(sibling)) return sibling;
  return join(here, '..', '..', 'dist', 'worker', 'sandbox', 'runtime.js');
}

export function resolveSandboxPoolOptions(opts: SandboxPoolOptions = {}): ResolvedSandboxPoolOptions {
  const d = SANDBOX_POOL_DEFAULTS;
  const maxProcesses = integer('maxProcesses', opts.maxProcesses ?? d.maxProcesses, 1);
  const prewarm = integer('prewarm', opts.prewarm ?? d.prewarm, 0);
  if (prewarm > maxProcesses) throw new OptionsError('prewarm', `sandbox pool option prewarm (${prewarm}) must not exceed maxProcesses (${maxProcesses})`);
  const runtimePath = opts.runtimePath ?? defaultRuntimePath();
  if (!existsSync(runtimePath)) {
    throw new OptionsError('runtimePath', `sandbox runtime script not found at ${runtimePath}: build it with \`npx tsc -p tsconfig.json\``);
  }
  const isolation = opts.isolation ?? d.isolation;
  if (isolation !== 'namespaces' && isolation !== 'insecure')
    throw new OptionsError('isolation', `sandbox pool option isolation must be 'namespaces' or 'insecure', got ${String(isolation)}`);
  const compileCache = opts.compileCache ?? d.compileCache;
  if (typeof compileCache !== 'boolean')
    throw new OptionsError('compileCache', `sandbox pool option compileCache must be a boolean, got ${String(compileCache)}`);
  // The permission model compares real paths: a symlinked path would deny the script itself.
  const realRuntimePath = realpathSync(runtimePath);
  return Object.freeze({
    maxProcesses,
    idleTtlMs: integer('idleTtlMs', opts.idleTtlMs ?? d.idleTtlMs, 1),
    prewarm,
    prewarmMemoryMb: integer('prewarmMemoryMb', opts.prewarmMemoryMb ?? d.prewarmMemoryMb, 16),
    startTimeoutMs: integer('startTimeoutMs', opts.startTimeoutMs ?? d.startTimeoutMs, 1),
    reserveEvictIdleMs: integer('reserveEvictIdleMs', opts.reserveEvictIdleMs ?? d.reserveEvictIdleMs, 0),
    logger: opts.logger ?? silentLogger,
    runtimePath: realRuntimePath,
    onProcessEvent: opts.onProcessEvent ?? null,
    // Probes the boundary once: a worker that cannot build it fails here, at start.
    isolation: resolveIsolation(isolation, realRuntimePath, {
      ...(opts.isolationLimits ? { limits: opts.isolationLimits } : {}),
      ...(opts.bwrapPath ? { bwrapPath: opts.bwrapPath } : {}),
    }),
    compileCache: compileCache && isolation === 'namespaces',
  });
}

function integer(name: string, value: unknown, min: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new OptionsError(name, `sandbox pool option ${name} must be an integer ≥ ${min}, got ${String(value)}`);
  }
  return value;
}
