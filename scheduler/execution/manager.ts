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
import type { FunctionRegistry } from '../function-registry.js';
import { inputDigest } from './record-index.js';
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

export interface InvokeInput {
  function: string;
  version: number;
  inputJson: string;
  mode: InvokeMode;
  idempotencyKey: string | null;
  waitMs: number;
  /** What started it (a workflow step); absent: a direct invoke. */
  trigger?: ExecutionTrigger | null;
}

export interface ExecutionManagerOptions {
  maxQueue: number;
  /** Terminal executions older than this are deleted. */
  retentionMs: number;
}

export class ExecutionManager {
  /** Idempotent invokes whose record is being made durable: key → the pending result and its input's digest. */
  private readonly accepting = new Map<string, { accept: Promise<Execution>; digest: string }>();

  constructor(
    private readonly state: ExecutionState,
    private readonly functions: FunctionRegistry,
    private readonly opts: ExecutionManagerOptions,
  ) {}

  async invoke(req: InvokeInput): Promise<{ execution: Execution; terminal: boolean; created: boolean }> {
    assertFunctionName(req.function);
    const fn = this.functions.resolve(req.function, req.version);
    let input: unknown;
    // The gateway refuses deep bodies already; any other control client gets the same answer.
    if (jsonDeeperThan(req.inputJson, MAX_JSON_DEPTH)) {
      throw new TaskForgeError('VALIDATION_ERROR', `body nests deeper than ${MAX_JSON_DEPTH} levels`, {
        field: 'body',
        reason: 'too_deep',
        maxDepth: MAX_JSON_DEPTH,
      });
    }
    try {
      input = req.inputJson === '' ? null : JSON.parse(req.inputJson);
    } catch {
      throw new TaskForgeError('VALIDATION_ERROR', 'body: not valid JSON', { field: 'body', reason: 'invalid_json' });
    }
    let execution: Execution;
    let created = true;
    const idemKey = req.idempotencyKey ? `${req.function}\u0000${req.idempotencyKey}` : null;
    const digest = req.idempotencyKey ? inputDigest(input) : undefined;
    const earlier = req.idempotencyKey ? this.state.index.findIdempotent(req.function, req.idempotencyKey, this.state.now()) : undefined;
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
      if (this.state.pending.size >= this.opts.maxQueue) {
        throw new TaskForgeError('QUEUE_FULL', `the pending queue is full (${this.opts.maxQueue})`, { reason: 'queue_full', limit: this.opts.maxQueue });
      }
      const accept = this.state.applyDurably(undefined, {
        type: 'accept',
        nowMs: this.state.now(),
        execution: {
          id: `ex_${newId()}`,
          function: fn.name,
          version: fn.version,
          mode: req.mode,
          input,
          maxAttempts: fn.maxRetries + 1,
          idempotencyKey: req.idempotencyKey,
          digest,
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

  list(filter: { function?: string; status?: string; limit: number; cursor?: string; functions?: ReadonlySet<string> }): {
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
