/**
 * Batch invoke: up to LIMITS.batchEvents async executions of one function, accepted with ONE
 * durable commit (state.applyAllDurably → store.putExecutionsDurable) and queued in the order of
 * their events. Either all of them are accepted or none is.
 *
 * An idempotency key covers the whole batch: event i's record carries `<key>:<i>`, so a retried
 * request (also after a scheduler restart, the index is rebuilt from the records) answers the
 * same executions; the same key with other events, or another number of them, is a mismatch.
 */
import { createHash } from 'node:crypto';
import { customAlphabet } from 'nanoid';
import { TaskForgeError } from '../../common/errors.js';
import { assertFunctionName } from '../../common/names.js';
import { LIMITS, type Execution } from '../../common/records.js';
import type { FunctionRegistry } from '../function-registry.js';
import { inputDigest } from './record-index.js';
import { resolveSchedule, type ScheduleRequest } from './schedule.js';
import type { ExecutionState } from './state.js';
import type { ExecutionEvent } from './transition.js';

export interface InvokeBatchInput extends ScheduleRequest {
  function: string;
  version: number;
  /** Each event's JSON text, in order. */
  inputJsons: string[];
  idempotencyKey: string | null;
}

export interface BatchResult {
  executions: Execution[];
  /** false when the idempotency key matched an earlier batch. */
  created: boolean;
}

const newId = customAlphabet('0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz', 20);

/** The idempotency key of event `i` of a batch sent with `key`. */
export const batchItemKey = (key: string, i: number): string => `${key}:${i}`;

const mismatch = (fn: string, key: string): TaskForgeError =>
  new TaskForgeError('IDEMPOTENCY_MISMATCH', `idempotency key '${key}' was already used for function '${fn}' with different events`, {
    field: 'headers.idempotency-key',
    reason: 'mismatch',
    function: fn,
    idempotencyKey: key,
  });

export class BatchInvoker {
  /** Batches with a key whose records are being made durable: key → result and digest of all events. */
  private readonly accepting = new Map<string, { accept: Promise<Execution[]>; digest: string }>();

  constructor(
    private readonly state: ExecutionState,
    private readonly functions: FunctionRegistry,
    private readonly opts: { maxQueue: number },
    private readonly parseInput: (inputJson: string, field: string) => unknown,
  ) {}

  async invoke(req: InvokeBatchInput): Promise<BatchResult> {
    assertFunctionName(req.function);
    const fn = this.functions.resolve(req.function, req.version);
    const n = req.inputJsons.length;
    if (n === 0 || n > LIMITS.batchEvents) {
      throw new TaskForgeError('VALIDATION_ERROR', `body.events: must hold 1 to ${LIMITS.batchEvents} events (got ${n})`, {
        field: 'body.events',
        reason: n === 0 ? 'empty' : 'too_many',
        max: LIMITS.batchEvents,
      });
    }
    const inputs = req.inputJsons.map((text, i) => this.parseInput(text, `body.events[${i}]`));
    const schedule = resolveSchedule(req, 'async', this.state.now());
    const key = req.idempotencyKey;
    const digests = key ? inputs.map(inputDigest) : [];
    const all = key ? createHash('sha256').update(digests.join(',')).digest('hex') : '';
    const slot = `${fn.name}\u0000${key}`;
    if (key) {
      const earlier = this.earlier(fn.name, key, digests);
      if (earlier) return { executions: earlier, created: false };
      const inflight = this.accepting.get(slot);
      if (inflight) {
        if (inflight.digest !== all) throw mismatch(fn.name, key);
        return { executions: await inflight.accept, created: false };
      }
    }
    if (this.state.pending.size + n > this.opts.maxQueue) {
      throw new TaskForgeError('QUEUE_FULL', `the pending queue is full (${this.opts.maxQueue}) for ${n} more`, {
        reason: 'queue_full',
        limit: this.opts.maxQueue,
      });
    }
    const nowMs = this.state.now();
    const events: ExecutionEvent[] = inputs.map((input, i) => ({
      type: 'accept',
      nowMs,
      execution: {
        id: `ex_${newId()}`,
        function: fn.name,
        version: fn.version,
        mode: 'async',
        input,
        maxAttempts: fn.maxRetries + 1,
        idempotencyKey: key ? batchItemKey(key, i) : null,
        ...(key ? { digest: digests[i] } : {}),
        ...schedule,
      },
    }));
    const accept = this.state.applyAllDurably(events.map((event) => ({ rec: undefined, event })));
    if (key) {
      this.accepting.set(slot, { accept, digest: all });
      accept.finally(() => this.accepting.delete(slot)).catch(() => undefined);
    }
    return { executions: await accept, created: true };
  }

  /** The executions an earlier batch with this key started, if it had exactly these events. */
  private earlier(fn: string, key: string, digests: string[]): Execution[] | undefined {
    const nowMs = this.state.now();
    const first = this.state.index.findIdempotent(fn, batchItemKey(key, 0), nowMs);
    if (!first) return undefined;
    const out: Execution[] = [];
    for (let i = 0; i < digests.length; i += 1) {
      const found = i === 0 ? first : this.state.index.findIdempotent(fn, batchItemKey(key, i), nowMs);
      if (!found || found.digest !== digests[i]) throw mismatch(fn, key);
      out.push(found.execution);
    }
    if (this.state.index.findIdempotent(fn, batchItemKey(key, digests.length), nowMs)) throw mismatch(fn, key);
    return out;
  }
}
