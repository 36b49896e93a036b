/**
 * Accepting, reading and cancelling executions. An async invoke is answered only after its
 * record is durable; a sync invoke is written group-committed (it is acknowledged by its
 * answer, not before) and waits, pushed by the state machine, for its end.
 */
import { customAlphabet } from 'nanoid';
import { TaskForgeError, executionNotFound } from '../../common/errors.js';
import { MAX_JSON_DEPTH, jsonDeeperThan } from '../../common/json-depth.js';
import { assertExecutionId, assertFunctionName } from '../../common/names.js';
import { LIMITS, isTerminal, type Execution, type ExecutionLogs, type ExecutionTrigger, type InvokeMode } from '../../common/records.js';
import type { CircuitBreakers } from '../circuit-breaker.js';
import type { FunctionRegistry } from '../function-registry.js';
import { BatchInvoker, type BatchResult, type InvokeBatchInput } from './batch.js';
import { ResultCache } from '../result-cache.js';
import { inputDigest } from './record-index.js';
import { resolveSchedule, type ScheduleRequest } from './schedule.js';
import type { ExecutionState } from './state.js';

/** The same idempotency key with another body: a client bug that a replay would hide. */
const idempotencyMismatch = (fn: string, key: string): TaskForgeError =>
  new TaskForgeError('IDEMPOTENCY_MISMATCH', `idempotency key '${key}' was already used for function '${fn}' with a different body`, {
    field: 'headers.idempotency-key',
    reason: 'mismatch',
    function: fn,
    idempotencyKey: key,
  });

const newId = customAlphabet('0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz', 20);
/** A new execution's id (`ex_` and 20 random characters), for every way an execution starts. */
export const newExecutionId = (): string => `ex_${newId()}`;

export interface InvokeInput extends ScheduleRequest {
  function: string;
  version: number;
  inputJson: string;
  mode: InvokeMode;
  idempotencyKey: string | null;
  waitMs: number;
  /** What starts it when not a direct invoke (a destination, a workflow step). */
  trigger?: ExecutionTrigger | null;
}

/** Parses an event's JSON text as the scheduler stores it; `field` names it in the error. */
export function parseInput(inputJson: string, field: string): unknown {
  // The gateway refuses deep bodies already; any other control client gets the same answer.
  if (jsonDeeperThan(inputJson, MAX_JSON_DEPTH)) {
    throw new TaskForgeError('VALIDATION_ERROR', `${field} nests deeper than ${MAX_JSON_DEPTH} levels`, {
      field,
      reason: 'too_deep',
      maxDepth: MAX_JSON_DEPTH,
    });
  }
  try {
    return inputJson === '' ? null : JSON.parse(inputJson);
  } catch {
    throw new TaskForgeError('VALIDATION_ERROR', `${field}: not valid JSON`, { field, reason: 'invalid_json' });
  }
}

export interface ExecutionManagerOptions {
  maxQueue: number;
  /** Terminal executions older than this are deleted. */
  retentionMs: number;
}

export class ExecutionManager {
  /** Idempotent invokes whose record is being made durable: key → the pending result and its input's digest. */
  private readonly accepting = new Map<string, { accept: Promise<Execution>; digest: string }>();

  private readonly batch: BatchInvoker;

  constructor(
    private readonly state: ExecutionState,
    private readonly functions: FunctionRegistry,
    private readonly opts: ExecutionManagerOptions,
    private readonly guards: { breakers?: CircuitBreakers; cache?: ResultCache } = {},
  ) {
    this.batch = new BatchInvoker(state, functions, opts, parseInput);
  }

  /** Many async executions of one function in one durable commit (batch.ts). */
  invokeBatch(req: InvokeBatchInput): Promise<BatchResult> {
    return this.batch.invoke(req);
  }

  async invoke(req: InvokeInput): Promise<{ execution: Execution; terminal: boolean; created: boolean }> {
    assertFunctionName(req.function);
    const fn = this.functions.resolve(req.function, req.version);
    const input = parseInput(req.inputJson, 'body');
    // One clock reading for the whole accept: a delay is counted from the record's createdAt.
    const nowMs = this.state.now();
    const schedule = resolveSchedule(req, req.mode, nowMs);
    let execution: Execution;
    let created = true;
    const idemKey = req.idempotencyKey ? `${req.function}\u0000${req.idempotencyKey}` : null;
    const digest = req.idempotencyKey ? inputDigest(input) : undefined;
    const earlier = req.idempotencyKey ? this.state.index.findIdempotent(req.function, req.idempotencyKey, nowMs) : undefined;
    const inflight = idemKey ? this.accepting.get(idemKey) : undefined;
    if (earlier) {
      if (earlier.digest !== digest) throw idempotencyMismatch(req.function, req.idempotencyKey!);
      execution = earlier.execution;
      created = false;
    } else if (inflight) {
      if (inflight.digest !== digest) throw idempotencyMismatch(req.function, req.idempotencyKey!);
      execution = await inflight.accept;
      created = false;
    } else {
      // Same version, same input, within the TTL: answered from the cache, run nothing. A delayed
      // invoke asked for its time: it is not answered before it.
      const inputKey = fn.cacheTtlMs && schedule.scheduledForMs === null ? ResultCache.key(fn.name, fn.version, digest ?? inputDigest(input)) : null;
      const hit = inputKey ? this.guards.cache?.get(inputKey) : undefined;
      const open = !hit && req.mode === 'sync' ? this.guards.breakers?.rejectsSync(fn.name) : null;
      if (open) {
        throw new TaskForgeError('CIRCUIT_OPEN', `the circuit breaker of function '${fn.name}' is open: it failed too often; retry later`, {
          reason: 'circuit_open',
          function: fn.name,
          retryAfterSeconds: Math.ceil(open.retryAfterMs / 1000),
        });
      }
      if (!hit && this.state.pending.size >= this.opts.maxQueue) {
        throw new TaskForgeError('QUEUE_FULL', `the pending queue is full (${this.opts.maxQueue})`, { reason: 'queue_full', limit: this.opts.maxQueue });
      }
      const accept = this.state.applyDurably(undefined, {
        type: 'accept',
        nowMs,
        execution: {
          id: newExecutionId(),
          function: fn.name,
          version: fn.version,
          mode: req.mode,
          input,
          maxAttempts: fn.maxRetries + 1,
          idempotencyKey: req.idempotencyKey,
          digest,
          ...schedule,
          ...(hit && { cached: { output: hit.output } }),
          ...(req.trigger && { trigger: req.trigger }),
        },
      });
      if (idemKey && digest) {
        this.accepting.set(idemKey, { accept, digest });
        accept.finally(() => this.accepting.delete(idemKey)).catch(() => undefined);
      }
      execution = await accept;
    }
    if (req.mode === 'sync') {
      // `execution` may be the acceptance snapshot; a sync caller gets the live record.
      const live = this.state.index.get(execution.id) ?? execution;
      if (!isTerminal(live.status)) {
        const waitMs = req.waitMs > 0 ? req.waitMs : fn.timeoutMs + 5_000;
        await this.state.waiters.wait(live.id, Math.min(waitMs, LIMITS.maxSyncWaitMs));
      }
      // Not finished: the caller is handed an id to poll, which is an acknowledgement, so the
      // record must be durable first (a sync record is otherwise only group-committed).
      if (!isTerminal(live.status)) await this.state.store.putExecutionDurable(live);
      execution = live;
    }
    return { execution, terminal: isTerminal(execution.status), created };
  }

  get(id: string): Execution {
    assertExecutionId(id);
    const rec = this.state.index.get(id);
    if (!rec) throw executionNotFound(id);
    return rec;
  }

  async getWait(id: string, waitMs: number): Promise<Execution> {
    const rec = this.get(id);
    if (waitMs <= 0 || isTerminal(rec.status)) return rec;
    await this.state.waiters.wait(id, Math.min(waitMs, LIMITS.maxWaitMs));
    return rec;
  }

  list(filter: { function?: string; status?: string; limit: number; cursor?: string; functions?: ReadonlySet<string>; deadLetters?: boolean }): {
    executions: Execution[];
    nextCursor: string | null;
  } {
    const limit = Math.min(Math.max(1, filter.limit || 50), LIMITS.listLimit);
    return this.state.index.list({ ...filter, limit });
  }

  async logs(id: string): Promise<ExecutionLogs> {
    this.get(id);
    const buffered = this.state.logs.get(id);
    if (buffered) return buffered;
    return (await this.state.store.getLogs(id)) ?? { executionId: id, lines: [], truncated: false };
  }

  cancel(id: string): Execution {
    const rec = this.get(id);
    if (isTerminal(rec.status)) {
      throw new TaskForgeError('EXECUTION_FINISHED', `execution '${id}' already finished (${rec.status})`, { reason: 'finished', id, status: rec.status });
    }
    const nowMs = this.state.now();
    const live = this.state.live.get(rec.id);
    // A queued execution is still waiting: its current wait counts too.
    const queuedMs = (live?.queuedMs ?? 0) + (rec.status === 'queued' && live ? Math.max(0, nowMs - live.queuedSince) : 0);
    return this.state.apply(rec, { type: 'cancel', nowMs, queuedMs });
  }

  /**
   * A new async execution of a finished one's function version (pinned, even when newer ones
   * exist) with the same input, durable before it resolves; its trigger names the original,
   * which stops being a dead letter.
   */
  async retry(id: string): Promise<Execution> {
    const rec = this.get(id);
    if (!isTerminal(rec.status)) {
      throw new TaskForgeError('EXECUTION_NOT_FINISHED', `execution '${id}' has not finished (${rec.status}): cancel it, or wait for it`, {
        reason: 'not_finished',
        id,
        status: rec.status,
      });
    }
    const fn = this.functions.resolve(rec.function, rec.version);
    if (this.state.pending.size >= this.opts.maxQueue) {
      throw new TaskForgeError('QUEUE_FULL', `the pending queue is full (${this.opts.maxQueue})`, { reason: 'queue_full', limit: this.opts.maxQueue });
    }
    return this.state.applyDurably(undefined, {
      type: 'fire',
      nowMs: this.state.now(),
      trigger: { type: 'retry', of: rec.id },
      execution: {
        id: newExecutionId(),
        function: fn.name,
        version: fn.version,
        mode: 'async',
        input: structuredClone(rec.input),
        maxAttempts: fn.maxRetries + 1,
        idempotencyKey: null,
      },
    });
  }

  /** Deletes terminal executions older than the retention. Returns how many. */
  async prune(): Promise<number> {
    const cutoff = this.state.now() - this.opts.retentionMs;
    const old: string[] = [];
    for (const e of this.state.index.values()) {
      if (isTerminal(e.status) && Date.parse(e.finishedAt ?? e.createdAt) < cutoff) old.push(e.id);
    }
    for (const id of old) {
      this.state.index.remove(id);
      await this.state.store.deleteExecution(id);
    }
    return old.length;
  }
}
