/**
 * The delivery state machine, pure: `(delivery, event, ctx) → { delivery, effects }`. The
 * manager (manager.ts) is the only code that applies it and the only writer of a delivery.
 *
 *   (none)     → pending      create (an execution ended and its function has that destination)
 *   pending    → delivering   start (it is due and the send queue has room)
 *   retry_wait → delivering   start
 *   delivering → delivered    ended ok (a 2xx answer; for a function, its execution is accepted)
 *   delivering → retry_wait   ended not ok, attempts left (next attempt after backoff + jitter)
 *   delivering → failed       ended not ok, it was the last attempt
 *
 * `delivering` is never written: a scheduler killed during an attempt finds the delivery as it
 * was before it (pending or retry_wait, already due) and makes the attempt again (at-least-once).
 */
import type { Destination } from '../../common/records.js';
import { deliveryBackoffMs, type DeliveryRetryPolicy } from './backoff.js';
import { DELIVERY_LIMITS, type Delivery, type DeliveryAttempt, type DeliveryStatus } from './types.js';

export interface AttemptOutcome {
  ok: boolean;
  statusCode: number | null;
  error: string | null;
  /** The answer body as read (already capped). */
  body: string | null;
  truncated: boolean;
  durationMs: number;
  /** A function destination: the execution it created. */
  createdExecutionId?: string;
}

export type DeliveryEvent =
  | {
      type: 'create';
      nowMs: number;
      id: string;
      executionId: string;
      function: string;
      version: number;
      on: 'success' | 'failure';
      destination: Destination;
    }
  | { type: 'start'; nowMs: number }
  | { type: 'ended'; nowMs: number; startedAtMs: number; outcome: AttemptOutcome; jitter: number };

export type DeliveryEffect =
  /** Write the record (atomically, durably). */
  | { type: 'persist' }
  /** Make the attempt. */
  | { type: 'send' }
  /** The delivery waits until this time (ms). */
  | { type: 'arm'; atMs: number }
  | { type: 'done' };

export interface DeliveryTransition {
  delivery: Delivery;
  effects: DeliveryEffect[];
}

export class IllegalDeliveryTransition extends Error {}

type Outcome = 'apply' | 'illegal';
/** Every (state, event) pair. `create` applies only to no record. */
export const DELIVERY_OUTCOMES: Readonly<Record<DeliveryStatus, Readonly<Record<DeliveryEvent['type'], Outcome>>>> = {
  pending: { create: 'illegal', start: 'apply', ended: 'illegal' },
  delivering: { create: 'illegal', start: 'illegal', ended: 'apply' },
  retry_wait: { create: 'illegal', start: 'apply', ended: 'illegal' },
  delivered: { create: 'illegal', start: 'illegal', ended: 'illegal' },
  failed: { create: 'illegal', start: 'illegal', ended: 'illegal' },
};

const iso = (ms: number): string => new Date(ms).toISOString();

export function deliveryTransition(d: Delivery | undefined, event: DeliveryEvent, policy: DeliveryRetryPolicy): DeliveryTransition {
  if (!d) {
    if (event.type !== 'create') throw new IllegalDeliveryTransition(`${event.type} needs a delivery`);
    const delivery: Delivery = {
      id: event.id,
      executionId: event.executionId,
      function: event.function,
      version: event.version,
      on: event.on,
      destination: event.destination,
      status: 'pending',
      attempts: [],
      maxAttempts: policy.maxAttempts,
      nextAttemptAt: iso(event.nowMs),
      createdAt: iso(event.nowMs),
      finishedAt: null,
      createdExecutionId: null,
    };
    return { delivery, effects: [{ type: 'persist' }, { type: 'arm', atMs: event.nowMs }] };
  }
  if (DELIVERY_OUTCOMES[d.status][event.type] === 'illegal') throw new IllegalDeliveryTransition(`delivery ${d.id}: ${event.type} in ${d.status}`);
  if (event.type === 'start') return { delivery: { ...d, status: 'delivering' }, effects: [{ type: 'send' }] };
  if (event.type !== 'ended') throw new IllegalDeliveryTransition(`delivery ${d.id}: ${event.type} in ${d.status}`);
  const o = event.outcome;
  const attempt: DeliveryAttempt = {
    attempt: d.attempts.length + 1,
    startedAt: iso(event.startedAtMs),
    durationMs: Math.max(0, Math.round(o.durationMs)),
    statusCode: o.statusCode,
    error: o.ok ? null : (o.error ?? `answered ${o.statusCode ?? 'nothing'}`),
    responseExcerpt: o.body === null ? null : o.body.slice(0, DELIVERY_LIMITS.excerptChars),
    responseTruncated: o.truncated || (o.body !== null && o.body.length > DELIVERY_LIMITS.excerptChars),
  };
  const attempts = [...d.attempts, attempt];
  if (o.ok) {
    return {
      delivery: {
        ...d,
        status: 'delivered',
        attempts,
        nextAttemptAt: null,
        finishedAt: iso(event.nowMs),
        createdExecutionId: o.createdExecutionId ?? d.createdExecutionId,
      },
      effects: [{ type: 'persist' }, { type: 'done' }],
    };
  }
  if (attempts.length >= d.maxAttempts) {
    return {
      delivery: { ...d, status: 'failed', attempts, nextAttemptAt: null, finishedAt: iso(event.nowMs) },
      effects: [{ type: 'persist' }, { type: 'done' }],
    };
  }
  const atMs = event.nowMs + deliveryBackoffMs(attempts.length, event.jitter, policy);
  return { delivery: { ...d, status: 'retry_wait', attempts, nextAttemptAt: iso(atMs) }, effects: [{ type: 'persist' }, { type: 'arm', atMs }] };
}
