/**
 * What a worker says about itself (Hello, Heartbeat) is a claim, checked here before the registry
 * or placement believe it: a worker that lies about its capacity would otherwise be sent up to
 * 2^32 executions, and a huge name or warm list would sit in memory and in every ListWorkers.
 * Pure functions; the worker service ends the stream of a worker whose claims are refused.
 */
import { SANDBOX_LEVELS, type SandboxLevel } from '../common/records.js';
import type { Heartbeat, Hello } from '../proto/gen/taskforge/v1/worker.js';

export const CLAIM_LIMITS = Object.freeze({
  /** Concurrent executions one worker may claim (the worker's own --capacity bound). */
  maxCapacity: 1024,
  /** Characters of a worker name. */
  nameChars: 200,
  /** Entries of a heartbeat's warm list, and characters of each ("name@version"). */
  warmEntries: 1024,
  warmEntryChars: 200,
  /** Executions a Hello may list as held (capacity + undelivered results, generously). */
  heldEntries: 10_000,
});

export const WORKER_ID_RE = /^[A-Za-z0-9_-]{1,64}$/;
const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;

/** A Hello as the registry may believe it. */
export interface WorkerClaims {
  workerId: string;
  name: string;
  capacity: number;
  /** An unknown or missing level counts as 'insecure': a worker never gets credit for isolation it did not name. */
  sandbox: SandboxLevel;
}

export type Checked<T> = { ok: true; value: T } | { ok: false; reason: string };

const refuse = (reason: string): { ok: false; reason: string } => ({ ok: false, reason });

function checkCapacity(capacity: number): string | null {
  return Number.isInteger(capacity) && capacity >= 1 && capacity <= CLAIM_LIMITS.maxCapacity
    ? null
    : `capacity must be an integer 1..${CLAIM_LIMITS.maxCapacity}, got ${capacity}`;
}

export function sandboxLevel(reported: string): SandboxLevel {
  return (SANDBOX_LEVELS as readonly string[]).includes(reported) ? (reported as SandboxLevel) : 'insecure';
}

export function checkHello(hello: Hello): Checked<WorkerClaims> {
  if (!WORKER_ID_RE.test(hello.workerId)) return refuse('worker_id must match ^[A-Za-z0-9_-]{1,64}$');
  const capacity = checkCapacity(hello.capacity);
  if (capacity) return refuse(capacity);
  if (hello.name.length > CLAIM_LIMITS.nameChars || CONTROL_CHARS.test(hello.name)) {
    return refuse(`name must be at most ${CLAIM_LIMITS.nameChars} printable characters`);
  }
  if (hello.held.length > CLAIM_LIMITS.heldEntries) return refuse(`held may list at most ${CLAIM_LIMITS.heldEntries} executions`);
  return {
    ok: true,
    value: { workerId: hello.workerId, name: hello.name || hello.workerId, capacity: hello.capacity, sandbox: sandboxLevel(hello.sandboxLevel) },
  };
}

export function checkHeartbeat(hb: Heartbeat): Checked<Heartbeat> {
  const capacity = checkCapacity(hb.capacity);
  if (capacity) return refuse(capacity);
  if (hb.warm.length > CLAIM_LIMITS.warmEntries) return refuse(`warm may list at most ${CLAIM_LIMITS.warmEntries} entries`);
  if (hb.warm.some((w) => w.length > CLAIM_LIMITS.warmEntryChars)) return refuse(`a warm entry is at most ${CLAIM_LIMITS.warmEntryChars} characters`);
  return { ok: true, value: hb };
}
