/**
 * A delivery: the one sending of an execution's end to its destination (docs/DESTINATIONS.md),
 * with every attempt and its answer. Stored as it is returned by
 * `GET /v1/executions/{id}/deliveries`; one per execution at most (its onSuccess or its onFailure).
 */
import type { Destination } from '../../common/records.js';

export const DELIVERY_STATUSES = ['pending', 'delivering', 'retry_wait', 'delivered', 'failed'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];
export const isDeliveryDone = (s: DeliveryStatus): boolean => s === 'delivered' || s === 'failed';

export interface DeliveryAttempt {
  attempt: number;
  startedAt: string;
  durationMs: number;
  /** The HTTP status of the answer; null when there was none (network error, timeout) or for a function. */
  statusCode: number | null;
  /** Why the attempt did not deliver; null when it did. */
  error: string | null;
  /** The first bytes of the answer's body (DELIVERY_LIMITS.excerptChars), as text. */
  responseExcerpt: string | null;
  /** The answer was longer than what was read (DELIVERY_LIMITS.maxResponseBytes): it was cut. */
  responseTruncated: boolean;
}

export interface Delivery {
  /** Sent as the `taskforge-delivery` header: with the execution id, what receivers dedupe on. */
  id: string;
  executionId: string;
  function: string;
  version: number;
  /** Which of the function's destinations this is. */
  on: 'success' | 'failure';
  destination: Destination;
  status: DeliveryStatus;
  attempts: DeliveryAttempt[];
  maxAttempts: number;
  /** When the next attempt is due (pending, retry_wait); null once done. */
  nextAttemptAt: string | null;
  createdAt: string;
  finishedAt: string | null;
  /** A function destination: the execution it created (trigger `{ type: 'destination', of }`). */
  createdExecutionId: string | null;
}

export const DELIVERY_LIMITS = {
  /** Bytes of an answer read before the connection is cut. */
  maxResponseBytes: 64 * 1024,
  /** Characters of the answer kept in the attempt record. */
  excerptChars: 1024,
} as const;
