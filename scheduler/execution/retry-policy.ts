/**
 * Whether an attempt that did not succeed is tried again, and when: the one place retry decisions
 * are made. The dispatcher reports how an attempt ended; `decideRetry` answers retry (at once, or
 * after a backoff) or fail, and keeps the count of attempts that killed their sandbox or worker.
 *
 * - Infrastructure failures (`WORKER_LOST`, an unrequested `CANCELLED`) are re-queued at once while
 *   attempts remain. A sync invoke is re-queued on `WORKER_LOST` at most once: its caller is waiting.
 * - Function failures are retried only for async executions, after exponential backoff with full
 *   jitter — a uniformly random delay in [0, min(cap, base · 2^(attempt−1))] — so that many
 *   executions failing together do not retry in lockstep.
 * - Poison pills: an attempt that ends `SANDBOX_CRASH`, `SANDBOX_PROTOCOL` or `OUT_OF_MEMORY`, or
 *   whose worker died while it ran, is a crash. At POISON_CRASHES crashes the execution is failed
 *   with the last attempt's code and never retried again, however many attempts remain, so one
 *   input cannot take down worker after worker.
 * It is pure: no clock, no I/O, no record mutation.
 */
import type { Execution, ExecutionErrorCode, InvokeMode } from '../../common/records.js';

export interface RetryPolicy {
  baseMs: number;
  capMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = Object.freeze({
  /** Ceiling of the first retry's delay. */
  baseMs: 1_000,
  /** No retry waits longer than this. */
  capMs: 60_000,
});

/** Crashes (attempts that killed their sandbox or worker) after which an execution is not retried. */
export const POISON_CRASHES = 2;

/** Result codes that mean the sandbox process died or was killed for what the function did. */
export const SANDBOX_KILLING_CODES: ReadonlySet<ExecutionErrorCode> = new Set(['SANDBOX_CRASH', 'SANDBOX_PROTOCOL', 'OUT_OF_MEMORY']);

/** Codes that are not the function's fault: the attempt is re-queued at once. */
const INFRASTRUCTURE_CODES: ReadonlySet<ExecutionErrorCode> = new Set(['WORKER_LOST', 'CANCELLED']);

/** Delay before attempt `nextAttempt` (≥ 2). */
export function retryDelayMs(policy: RetryPolicy, nextAttempt: number, random: () => number = Math.random): number {
  const exp = Math.min(policy.capMs, policy.baseMs * 2 ** Math.max(0, nextAttempt - 2));
  return Math.floor(random() * (exp + 1));
}

/** The upper bound of that delay (what the jitter is drawn under). */
export function retryCeilingMs(policy: RetryPolicy, nextAttempt: number): number {
  return Math.min(policy.capMs, policy.baseMs * 2 ** Math.max(0, nextAttempt - 2));
}

/** How an attempt that did not succeed ended. */
export interface AttemptEnd {
  code: ExecutionErrorCode;
  /** The worker's stream died (closed, or its heartbeats stopped) while this attempt ran on it. */
  workerDied?: boolean;
}

/**
 * What decideRetry needs of the record. `attempts` must already include the attempt that just
 * ended, with its error code.
 */
export type RetrySubject = Pick<Execution, 'mode' | 'attempt' | 'maxAttempts' | 'crashes' | 'attempts'> & { mode: InvokeMode };

export type RetryDecision =
  /** Re-queue as attempt + 1 after `delayMs` (0 = at once). */
  | { retry: true; delayMs: number; crashes: number }
  /** End the execution. `poison`: given up because of its crashes, not for lack of attempts. */
  | { retry: false; crashes: number; poison: boolean };

export function isCrash(end: AttemptEnd): boolean {
  return SANDBOX_KILLING_CODES.has(end.code) || (end.code === 'WORKER_LOST' && end.workerDied === true);
}

export function decideRetry(rec: RetrySubject, end: AttemptEnd, policy: RetryPolicy, random: () => number = Math.random): RetryDecision {
  const crashes = (rec.crashes ?? 0) + (isCrash(end) ? 1 : 0);
  if (isCrash(end) && crashes >= POISON_CRASHES) return { retry: false, crashes, poison: true };
  const attemptsLeft = rec.attempt < rec.maxAttempts;
  if (INFRASTRUCTURE_CODES.has(end.code)) {
    const lost = (rec.attempts ?? []).filter((a) => a.errorCode !== null && INFRASTRUCTURE_CODES.has(a.errorCode)).length;
    if (!attemptsLeft || (rec.mode === 'sync' && lost > 1)) return { retry: false, crashes, poison: false };
    return { retry: true, delayMs: 0, crashes };
  }
  if (rec.mode === 'async' && attemptsLeft) return { retry: true, delayMs: retryDelayMs(policy, rec.attempt + 1, random), crashes };
  return { retry: false, crashes, poison: false };
}

/** The message of an execution failed as a poison pill: what its last attempt said, and why it stops. */
export function poisonMessage(last: string, crashes: number): string {
  return `${last}; killed its sandbox or worker ${crashes} times; not retried`;
}
