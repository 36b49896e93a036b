/**
 * Worker agent options: what the caller may pass, the defaults, and the frozen resolved object
 * every other worker module reads. Validation happens here, once, with a message that names the
 * option; nothing downstream re-checks or mutates these values.
 */
import { hostname } from 'node:os';
import { nanoid } from 'nanoid';
import { OptionsError } from '../common/options-error.js';
import { isToken, type TlsIdentity } from '../common/grpc-auth.js';
import { silentLogger, type Logger } from '../common/logger.js';
import { parseSchedulerList } from '../common/scheduler-list.js';
import type { SandboxPool } from './sandbox/types.js';

export const AGENT_VERSION = '0.1.0';

export const WORKER_DEFAULTS = {
  schedulerAddress: '127.0.0.1:50051',
  /** Concurrent executions; each needs its own runtime process, so this bounds memory too. */
  capacity: 4,
  /** ms; used until the scheduler's Welcome names its own interval. */
  heartbeatIntervalMs: 1000,
  /** ms that close()/Drain waits for in-flight runs before aborting them. */
  drainGraceMs: 30_000,
  /** ms; first reconnect window. */
  reconnectBaseMs: 100,
  /** ms; largest reconnect window. */
  reconnectCapMs: 5000,
  /** ms a connect attempt may take to get a Welcome before it is abandoned and retried. */
  welcomeTimeoutMs: 10_000,
  /** Finished-while-disconnected executions whose messages are kept for the next stream. */
  maxPendingResults: 1000,
  /** ms a log line may wait to be batched with others before it is sent. */
  logFlushMs: 20,
  /**
   * ms a run must still be going before its Started is sent; 0 = at once. A Result carries the
   * same fields, so a fast run skips a message and a store write on the scheduler.
   */
  startedReportDelayMs: 50,
  /** ms close() waits for aborted runs to report before closing the stream anyway. */
  abortSettleMs: 2000,
} as const;

/** Creates the pool when none is injected; the agent then starts and closes it. */
export type PoolFactory = (ctx: { logger: Logger }) => Promise<SandboxPool>;

export interface WorkerOptions {
  /**
   * `host:port[,host:port...]`: the schedulers to join; the agent uses the one that accepts it
   * and moves to the next (with backoff) when that one goes away.
   */
  schedulerAddress?: string;
  /** The scheduler's join token (`<data-dir>/join.token`), sent on every Connect. */
  joinToken?: string;
  /** mTLS identity for the scheduler connection; plaintext when absent. */
  tls?: TlsIdentity;
  /** Defaults to `w_` + nanoid, generated once per agent and kept across reconnects. */
  workerId?: string;
  /** Defaults to `<hostname>-<pid>`. */
  name?: string;
  capacity?: number;
  heartbeatIntervalMs?: number;
  drainGraceMs?: number;
  reconnectBaseMs?: number;
  reconnectCapMs?: number;
  welcomeTimeoutMs?: number;
  maxPendingResults?: number;
  logFlushMs?: number;
  startedReportDelayMs?: number;
  abortSettleMs?: number;
  logger?: Logger;
  /** An already started pool. The agent closes it on close(). */
  pool?: SandboxPool;
  /** Used when no pool is given: creates (and the agent starts) the pool. */
  poolFactory?: PoolFactory;
  /** Jitter source for reconnect backoff; tests pin it. */
  random?: () => number;
}

export interface ResolvedWorkerOptions {
  readonly schedulerAddress: string;
  /** `schedulerAddress` split and checked, in the order given. */
  readonly schedulerAddresses: readonly string[];
  readonly joinToken: string | null;
  readonly tls: TlsIdentity | null;
  readonly workerId: string;
  readonly name: string;
  readonly capacity: number;
  readonly heartbeatIntervalMs: number;
  readonly drainGraceMs: number;
  readonly reconnectBaseMs: number;
  readonly reconnectCapMs: number;
  readonly welcomeTimeoutMs: number;
  readonly maxPendingResults: number;
  readonly logFlushMs: number;
  readonly startedReportDelayMs: number;
  readonly abortSettleMs: number;
  readonly logger: Logger;
  readonly pool: SandboxPool | null;
  readonly poolFactory: PoolFactory;
  readonly random: () => number;
}

/** Imports the sandbox pool only when it is needed, so the agent loads (and tests run) without it. */
export const defaultPoolFactory: PoolFactory = async ({ logger }) => {
  const { createSandboxPool } = await import('./sandbox/pool.js');
  return createSandboxPool({ logger });
};

export function resolveWorkerOptions(opts: WorkerOptions = {}): ResolvedWorkerOptions {
  const d = WORKER_DEFAULTS;
  const schedulerAddress = opts.schedulerAddress ?? d.schedulerAddress;
  const resolved: ResolvedWorkerOptions = {
    schedulerAddress,
    schedulerAddresses: parseSchedulerList(schedulerAddress, 'schedulerAddress'),
    joinToken: opts.joinToken ?? null,
    tls: opts.tls ?? null,
    workerId: opts.workerId ?? `w_${nanoid()}`,
    name: opts.name ?? `${hostname()}-${process.pid}`,
    capacity: opts.capacity ?? d.capacity,
    heartbeatIntervalMs: opts.heartbeatIntervalMs ?? d.heartbeatIntervalMs,
    drainGraceMs: opts.drainGraceMs ?? d.drainGraceMs,
    reconnectBaseMs: opts.reconnectBaseMs ?? d.reconnectBaseMs,
    reconnectCapMs: opts.reconnectCapMs ?? d.reconnectCapMs,
    welcomeTimeoutMs: opts.welcomeTimeoutMs ?? d.welcomeTimeoutMs,
    maxPendingResults: opts.maxPendingResults ?? d.maxPendingResults,
    logFlushMs: opts.logFlushMs ?? d.logFlushMs,
    startedReportDelayMs: opts.startedReportDelayMs ?? d.startedReportDelayMs,
    abortSettleMs: opts.abortSettleMs ?? d.abortSettleMs,
    logger: opts.logger ?? silentLogger,
    pool: opts.pool ?? null,
    poolFactory: opts.poolFactory ?? defaultPoolFactory,
    random: opts.random ?? Math.random,
  };

  // Never echo the value: it is a secret.
  if (resolved.joinToken !== null && !isToken(resolved.joinToken)) invalid('joinToken', 'must be 32-512 printable characters without spaces');
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(resolved.workerId)) invalid('workerId', 'must match [A-Za-z0-9_-]{1,64}');
  if (resolved.name.length === 0 || resolved.name.length > 200) invalid('name', 'must be 1-200 characters');
  positiveInt('capacity', resolved.capacity, 1024);
  positiveInt('heartbeatIntervalMs', resolved.heartbeatIntervalMs);
  nonNegativeInt('drainGraceMs', resolved.drainGraceMs);
  positiveInt('reconnectBaseMs', resolved.reconnectBaseMs);
  positiveInt('reconnectCapMs', resolved.reconnectCapMs);
  if (resolved.reconnectCapMs < resolved.reconnectBaseMs) invalid('reconnectCapMs', 'must be >= reconnectBaseMs');
  positiveInt('welcomeTimeoutMs', resolved.welcomeTimeoutMs);
  positiveInt('maxPendingResults', resolved.maxPendingResults);
  positiveInt('logFlushMs', resolved.logFlushMs);
  nonNegativeInt('startedReportDelayMs', resolved.startedReportDelayMs);
  nonNegativeInt('abortSettleMs', resolved.abortSettleMs);
  return Object.freeze(resolved);
}

function invalid(option: string, why: string): never {
  throw new OptionsError(option, `invalid worker option ${option}: ${why}`);
}

function positiveInt(option: string, value: number, max = Number.MAX_SAFE_INTEGER): void {
  if (!Number.isInteger(value) || value <= 0 || value > max) invalid(option, `must be an integer in 1..${max} (got ${value})`);
}

function nonNegativeInt(option: string, value: number): void {
  if (!Number.isInteger(value) || value < 0) invalid(option, `must be a non-negative integer (got ${value})`);
}
