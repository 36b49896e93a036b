/**
 * Deliveries of executions' ends to their destinations (docs/DESTINATIONS.md): the only code
 * that applies the delivery transition (transition.ts) and the only writer of deliveries.
 *
 * - An execution that ends (ExecutionState's finish effect calls onFinish, once per execution)
 *   gets a delivery when its function version has the matching destination.
 * - At start, open() loads the stored deliveries and makes the missing ones for every terminal
 *   execution, so a scheduler killed between an execution's end and its delivery's first write
 *   still delivers: the terminal record is the durable trigger.
 * - Attempts run in their own queue, limited overall and per receiver host, each bounded in time
 *   (webhook.ts): a dead or slow receiver holds at most its own slots, never the event loop or
 *   other receivers' deliveries. ONE timer waits for the next due delivery.
 * - At-least-once: an attempt interrupted by a kill is made again after the restart. Receivers
 *   dedupe on the `taskforge-delivery` header (or the execution id).
 */
import { customAlphabet } from 'nanoid';
import type { Logger } from 'pino';
import { TaskForgeError } from '../../common/errors.js';
import type { Destination, Execution, FunctionVersion } from '../../common/records.js';
import type { InvokeInput } from '../execution/manager.js';
import type { DeliveryRetryPolicy } from './backoff.js';
import { destinationPayload } from './payload.js';
import { DELIVERY_HEADER, SIGNATURE_HEADER, signPayload } from './signature.js';
import type { DeliveryStore } from './store.js';
import { deliveryTransition, type AttemptOutcome, type DeliveryEvent } from './transition.js';
import { isDeliveryDone, type Delivery } from './types.js';
import type { WebhookSender } from './webhook.js';

/** Destinations of destination executions are followed this deep, no deeper (a loop A → B → A ends). */
export const MAX_DESTINATION_CHAIN = 5;

const newId = customAlphabet('0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz', 20);

export interface DeliveryManagerOptions {
  store: DeliveryStore;
  log: Logger;
  /** A version of a function, deleted or not. */
  version: (name: string, version: number) => FunctionVersion | undefined;
  /** An execution the scheduler still has. */
  execution: (id: string) => Execution | undefined;
  /** Accepts an execution durably (ExecutionManager.invoke). */
  invoke: (input: InvokeInput) => Promise<{ execution: Execution }>;
  send: WebhookSender;
  policy: DeliveryRetryPolicy;
  /** Attempts in flight at once, overall and per receiver host (or per destination function). */
  concurrency: number;
  perHostConcurrency: number;
  now?: () => number;
  random?: () => number;
}

export class DeliveryManager {
  /** By execution id: one delivery per execution at most. */
  private readonly all = new Map<string, Delivery>();
  /** Not done and not in flight, by execution id (insertion order: oldest first). */
  private readonly waiting = new Set<string>();
  private readonly perHost = new Map<string, number>();
  private readonly writes = new Map<string, Promise<void>>();
  private readonly abort = new AbortController();
  private readonly now: () => number;
  private readonly random: () => number;
  private inFlight = 0;
  private timer: NodeJS.Timeout | null = null;
  private pumpQueued = false;
  private closed = false;
  /** Executions that finished before open(): handled once the stored deliveries are known. */
  private early: Execution[] | null = [];

  constructor(private readonly opts: DeliveryManagerOptions) {
    this.now = opts.now ?? Date.now;
    this.random = opts.random ?? Math.random;
  }

  /** Loads stored deliveries and makes the missing ones of `executions` (all the scheduler has). */
  async open(executions: Iterable<Execution>): Promise<{ loaded: number; created: number; quarantined: string[] }> {
    const { deliveries, quarantined } = await this.opts.store.load();
    for (const d of deliveries) {
      this.all.set(d.executionId, d);
      if (!isDeliveryDone(d.status)) this.waiting.add(d.executionId);
    }
    const before = this.all.size;
    const early = this.early ?? [];
    this.early = null;
    for (const rec of [...early, ...executions]) this.onFinish(rec);
    this.schedulePump();
    return { loaded: deliveries.length, created: this.all.size - before, quarantined };
  }

  /** An execution has just become terminal (or is terminal at start): schedules its destination. */
  onFinish(rec: Execution): void {
    if (this.closed) return;
    if (this.early) {
      this.early.push(rec);
      return;
    }
    if (this.all.has(rec.id)) return;
    const which = this.destinationOf(rec);
    if (!which) return;
    if (this.chainDepth(rec) >= MAX_DESTINATION_CHAIN) {
      this.opts.log.warn({ executionId: rec.id, max: MAX_DESTINATION_CHAIN }, 'destination not sent: the chain of destinations is too deep');
      return;
    }
    this.step(undefined, {
      type: 'create',
      nowMs: this.now(),
      id: `dlv_${newId()}`,
      executionId: rec.id,
      function: rec.function,
      version: rec.version,
      on: which.on,
      destination: which.destination,
    });
  }

  /** The deliveries of an execution (none, or one). */
  list(executionId: string): Delivery[] {
    const d = this.all.get(executionId);
    return d ? [d] : [];
  }

  /** Forgets the deliveries of executions that are gone (pruned). Returns how many. */
  async prune(exists: (executionId: string) => boolean): Promise<number> {
    const gone = [...this.all.keys()].filter((id) => !exists(id));
    for (const id of gone) {
      this.all.delete(id);
      this.waiting.delete(id);
      await this.writes.get(id);
      await this.opts.store.delete(id);
    }
    return gone.length;
  }

  /** Stops: no new attempt, attempts in flight cut (they are made again at the next start). */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.abort.abort();
    await Promise.allSettled([...this.writes.values()]);
  }

  get stats(): { inFlight: number; waiting: number; total: number } {
    return { inFlight: this.inFlight, waiting: this.waiting.size, total: this.all.size };
  }

  private destinationOf(rec: Execution): { on: 'success' | 'failure'; destination: Destination } | null {
    const v = this.opts.version(rec.function, rec.version);
    if (!v) return null;
    if (rec.status === 'succeeded') return v.onSuccess ? { on: 'success', destination: v.onSuccess } : null;
    // Failed includes expired in the queue and a deleted function; cancelled is the caller's own doing.
    if (rec.status === 'failed' || rec.status === 'timed_out') return v.onFailure ? { on: 'failure', destination: v.onFailure } : null;
    return null;
  }

  private chainDepth(rec: Execution): number {
    let depth = 0;
    let cur: Execution | undefined = rec;
    while (cur?.trigger?.type === 'destination' && depth < MAX_DESTINATION_CHAIN) {
      depth++;
      cur = this.opts.execution(cur.trigger.of);
    }
    return depth;
  }

  private step(d: Delivery | undefined, event: DeliveryEvent): Delivery {
    const { delivery, effects } = deliveryTransition(d, event, this.opts.policy);
    this.all.set(delivery.executionId, delivery);
    for (const effect of effects) {
      switch (effect.type) {
        case 'persist':
          this.persist(delivery);
          break;
        case 'arm':
          this.waiting.add(delivery.executionId);
          this.schedulePump();
          break;
        case 'send':
          void this.attempt(delivery);
          break;
        case 'done':
          this.waiting.delete(delivery.executionId);
          this.opts.log.info(
            { executionId: delivery.executionId, deliveryId: delivery.id, status: delivery.status, attempts: delivery.attempts.length },
            'delivery done',
          );
          break;
      }
    }
    return delivery;
  }

  /** Writes of one delivery in order; a failed write is logged (the next change writes it again). */
  private persist(d: Delivery): void {
    const id = d.executionId;
    const next = (this.writes.get(id) ?? Promise.resolve())
      .then(() => this.opts.store.put(d))
      .catch((err: unknown) => this.opts.log.error({ err, executionId: id }, 'delivery write failed'));
    this.writes.set(id, next);
    void next.then(() => {
      if (this.writes.get(id) === next) this.writes.delete(id);
    });
  }

  private schedulePump(): void {
    if (this.pumpQueued || this.closed) return;
    this.pumpQueued = true;
    queueMicrotask(() => {
      this.pumpQueued = false;
      this.pump();
    });
  }

  /** Starts what is due and has room; arms the one timer for the earliest delivery still waiting. */
  private pump(): void {
    if (this.closed) return;
    const now = this.now();
    let next = Infinity;
    for (const id of this.waiting) {
      const d = this.all.get(id)!;
      const at = d.nextAttemptAt ? Date.parse(d.nextAttemptAt) : now;
      if (at > now) {
        next = Math.min(next, at);
        continue;
      }
      if (this.inFlight >= this.opts.concurrency) continue;
      const host = hostKey(d.destination);
      if ((this.perHost.get(host) ?? 0) >= this.opts.perHostConcurrency) continue;
      this.waiting.delete(id);
      this.inFlight++;
      this.perHost.set(host, (this.perHost.get(host) ?? 0) + 1);
      this.step(d, { type: 'start', nowMs: now });
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (next !== Infinity) {
      this.timer = setTimeout(() => {
        this.timer = null;
        this.pump();
      }, next - now);
      this.timer.unref();
    }
  }

  private async attempt(d: Delivery): Promise<void> {
    const startedAtMs = this.now();
    const host = hostKey(d.destination);
    let outcome: AttemptOutcome;
    try {
      outcome = 'url' in d.destination ? await this.sendWebhook(d, d.destination.url) : await this.createExecution(d, d.destination.function);
    } catch (err) {
      const message = err instanceof TaskForgeError ? `${err.code}: ${err.message}` : (err as Error).message;
      outcome = { ok: false, statusCode: null, error: message, body: null, truncated: false, durationMs: this.now() - startedAtMs };
    } finally {
      this.inFlight--;
      const left = (this.perHost.get(host) ?? 1) - 1;
      if (left > 0) this.perHost.set(host, left);
      else this.perHost.delete(host);
    }
    // Closing: the stored record still says it is due; the next start makes the attempt again.
    if (this.closed) return;
    const current = this.all.get(d.executionId);
    if (current?.status !== 'delivering') return;
    if (!outcome.ok) this.opts.log.info({ executionId: d.executionId, deliveryId: d.id, error: outcome.error }, 'delivery attempt failed');
    this.step(current, { type: 'ended', nowMs: this.now(), startedAtMs, outcome, jitter: this.random() });
    this.schedulePump();
  }

  private payloadOf(d: Delivery): string {
    const rec = this.opts.execution(d.executionId);
    if (!rec) throw new Error(`execution ${d.executionId} is no longer kept`);
    return destinationPayload(rec);
  }

  private async sendWebhook(d: Delivery, url: string): Promise<AttemptOutcome> {
    const body = this.payloadOf(d);
    const secret = this.opts.version(d.function, d.version)?.webhookSecret;
    if (!secret) throw new Error(`function ${d.function} version ${d.version} has no webhook secret`);
    return this.opts.send(
      {
        url,
        body,
        headers: {
          'content-type': 'application/json',
          'user-agent': 'TaskForge-Webhooks/1',
          [SIGNATURE_HEADER]: signPayload(secret, body, Math.floor(this.now() / 1000)),
          [DELIVERY_HEADER]: d.id,
          'taskforge-execution': d.executionId,
        },
      },
      this.abort.signal,
    );
  }

  private async createExecution(d: Delivery, fn: string): Promise<AttemptOutcome> {
    const started = this.now();
    const { execution } = await this.opts.invoke({
      function: fn,
      version: 0,
      inputJson: this.payloadOf(d),
      mode: 'async',
      // A retry after a restart finds the execution it created before, never makes a second one.
      idempotencyKey: `dest:${d.executionId}`,
      waitMs: 0,
      trigger: { type: 'destination', of: d.executionId },
    });
    return { ok: true, statusCode: null, error: null, body: null, truncated: false, durationMs: this.now() - started, createdExecutionId: execution.id };
  }
}

function hostKey(d: Destination): string {
  if ('function' in d) return `function:${d.function}`;
  try {
    return `url:${new URL(d.url).host}`;
  } catch {
    return `url:${d.url}`;
  }
}
