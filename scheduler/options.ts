/**
 * Scheduler options: defaults in one place, resolved once at start into a frozen object.
 */
import type { Logger } from 'pino';
import type { TlsIdentity } from '../common/grpc-auth.js';
import { silentLogger } from '../common/logger.js';
import { OptionsError } from '../common/options-error.js';
import { parseStoreUrl } from './store/store-url.js';
import type { Store } from './store/types.js';

export const SCHEDULER_DEFAULTS = Object.freeze({
  host: '127.0.0.1',
  /** gRPC port for gateways and workers; 0 = any free port. */
  port: 50051,
  dataDir: './data',
  /**
   * Where records are kept (store-url.ts): `file:<dir>` or `postgres://user@host:port/db`; empty:
   * the file store in dataDir. Keys and tokens stay in dataDir whatever the store.
   */
  storeUrl: '',
  /**
   * PostgreSQL store: how long the leader lease lasts unrenewed (ms). A standby takes over at most
   * about this long after the active scheduler died (at once after a clean stop).
   */
  leaseTtlMs: 3_000,
  /** Told to workers in Welcome. */
  heartbeatIntervalMs: 1_000,
  /** A worker silent for this many intervals is lost. */
  missedHeartbeats: 3,
  /** Executions waiting for a slot; past it invokes get 429 QUEUE_FULL. */
  maxQueue: 100_000,
  /** Terminal executions are deleted this long after they finish (7 days). */
  retentionMs: 7 * 24 * 60 * 60 * 1000,
  pruneIntervalMs: 10 * 60 * 1000,
  /** Async retry backoff: full jitter under min(cap, base · 2^(n−1)). */
  retryBaseMs: 1_000,
  retryCapMs: 60_000,
  /** A running attempt silent this long past its timeout is treated as lost. */
  watchdogSlackMs: 30_000,
  /** After a restart, how long running executions wait for their worker to reconnect. */
  adoptGraceMs: 10_000,
  /** Lost workers stay listed this long. */
  forgetLostAfterMs: 10 * 60 * 1000,
  /**
   * How long JSON record files wait before they are (re)written, ms. Durability comes from the
   * journal, so this only trades file freshness for coalescing: an execution that ends within
   * it is written once, in its final state.
   */
  groupCommitMs: 200,
  /** close(): how long gRPC calls may take to finish before they are cut. */
  shutdownGraceMs: 5_000,
  /** Execution changes kept for live-view clients that reconnect (Last-Event-ID). */
  eventLogCapacity: 10_000,
  /** Webhook URLs may reach private and loopback addresses (`taskforge dev` sets it). */
  allowPrivateWebhooks: false,
  /** Delivery attempts per execution before the delivery is failed. */
  deliveryAttempts: 8,
  /** Delivery retry backoff: equal jitter in [½, 1] of min(cap, base · 2^(n−1)). */
  deliveryRetryBaseMs: 30_000,
  deliveryRetryCapMs: 3_600_000,
  /** A webhook call (connect, send, answer) taking longer is cut and counts as failed. */
  webhookTimeoutMs: 10_000,
  /** Delivery attempts in flight at once, overall and per receiver host. */
  deliveryConcurrency: 32,
  deliveryPerHostConcurrency: 4,
});

type Widen<T> = { [K in keyof T]: T[K] extends number ? number : T[K] extends string ? string : T[K] extends boolean ? boolean : T[K] };
type SchedulerSettings = Widen<typeof SCHEDULER_DEFAULTS>;

export type SchedulerOptionsInput = Partial<SchedulerSettings> & {
  logger?: Logger;
  /** Another storage backend; default: the JSON-file store in dataDir. */
  store?: Store;
  random?: () => number;
  /**
   * mTLS for both services: the scheduler's certificate and key, and the CA whose certificates
   * gateways and workers must present (a client without one is refused). Default: plaintext.
   */
  tls?: TlsIdentity;
};

export type SchedulerOptions = Readonly<SchedulerSettings & { logger: Logger; store?: Store; random: () => number; tls?: TlsIdentity }>;

export function resolveSchedulerOptions(input: SchedulerOptionsInput = {}): SchedulerOptions {
  const defined = Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined));
  const o = { ...SCHEDULER_DEFAULTS, logger: silentLogger, random: Math.random, ...defined } as SchedulerOptions;
  for (const key of Object.keys(SCHEDULER_DEFAULTS) as (keyof typeof SCHEDULER_DEFAULTS)[]) {
    const v = o[key];
    if (typeof SCHEDULER_DEFAULTS[key] === 'number' && (typeof v !== 'number' || !Number.isFinite(v) || v < 0)) {
      throw new OptionsError(key, `scheduler option ${key} must be a non-negative number, got ${String(v)}`);
    }
  }
  if (o.port > 65535) throw new OptionsError('port', `scheduler option port must be ≤ 65535, got ${o.port}`);
  if (o.heartbeatIntervalMs < 10) throw new OptionsError('heartbeatIntervalMs', 'scheduler option heartbeatIntervalMs must be ≥ 10');
  if (o.eventLogCapacity < 1) throw new OptionsError('eventLogCapacity', 'scheduler option eventLogCapacity must be ≥ 1');
  for (const key of ['deliveryAttempts', 'webhookTimeoutMs', 'deliveryConcurrency', 'deliveryPerHostConcurrency'] as const) {
    if (o[key] < 1) throw new OptionsError(key, `scheduler option ${key} must be ≥ 1`);
  }
  if (typeof o.allowPrivateWebhooks !== 'boolean') throw new OptionsError('allowPrivateWebhooks', 'scheduler option allowPrivateWebhooks must be a boolean');
  if (o.leaseTtlMs < 100) throw new OptionsError('leaseTtlMs', 'scheduler option leaseTtlMs must be ≥ 100');
  if (o.missedHeartbeats < 1) throw new OptionsError('missedHeartbeats', 'scheduler option missedHeartbeats must be ≥ 1');
  if (typeof o.storeUrl !== 'string') throw new OptionsError('storeUrl', 'scheduler option storeUrl must be a string');
  parseStoreUrl(o.storeUrl, o.dataDir);
  return Object.freeze(o);
}
