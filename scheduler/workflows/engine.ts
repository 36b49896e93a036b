/**
 * The workflow engine: definitions, runs, and the one writer of run records. Each run's events
 * are handled one at a time (a promise chain per run), each through run-transition.ts; the
 * engine carries out the effects: a durable run write, a step's execution (an async invoke with
 * the idempotency key `wf:<runId>:<step>` and a workflow trigger), a cancel.
 *
 * It learns that a step ended from the execution event log (every state change is published
 * there): a terminal change of an execution with a workflow trigger is that step's end. Nothing
 * else in the scheduler knows about workflows.
 *
 * Durability: a step's start is written to the run (queued) before its execution is created, and
 * its execution is durable before the run records its id. After a kill -9, `load` matches every
 * running run with the executions whose trigger names it, feeds what happened meanwhile, and
 * resumes; a step whose execution exists is never started again (and the idempotency key would
 * hand the same execution back if it were).
 */
import { customAlphabet } from 'nanoid';
import type { Logger } from 'pino';
import { TaskForgeError } from '../../common/errors.js';
import { MAX_JSON_DEPTH, jsonDeeperThan } from '../../common/json-depth.js';
import { assertExecutionId, assertWorkflowName } from '../../common/names.js';
import { LIMITS, isTerminal, type Execution } from '../../common/records.js';
import { runNotFound, workflowNotFound, type StepError, type WorkflowDefinition, type WorkflowRun } from '../../common/workflows.js';
import type { Watch } from '../execution/event-log.js';
import type { ExecutionManager } from '../execution/manager.js';
import type { ExecutionState } from '../execution/state.js';
import type { FunctionRegistry } from '../function-registry.js';
import type { LoadedWorkflows, Store } from '../store/types.js';
import { inputDigest } from '../execution/record-index.js';
import { resolveInput } from './input-mapping.js';
import { newRun, runTransition, type RunEvent } from './run-transition.js';
import { ancestors, validateWorkflowSpec } from './spec.js';

/** How long an Idempotency-Key of a run start is remembered (as for invokes). */
export const RUN_IDEMPOTENCY_WINDOW_MS = 24 * 60 * 60 * 1000;

const newId = customAlphabet('0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz', 20);

/** The idempotency key of a step's execution: one execution per (run, step), ever. */
export const stepKey = (runId: string, step: string): string => `wf:${runId}:${step}`;

export interface WorkflowEngineDeps {
  store: Store;
  state: ExecutionState;
  executions: ExecutionManager;
  functions: FunctionRegistry;
  log: Logger;
}

export interface RunPage {
  runs: WorkflowRun[];
  nextCursor: string | null;
}

/** The step-ended event of a terminal execution. */
function endedEvent(rec: Execution, step: string, nowMs: number): RunEvent {
  const status = rec.status === 'succeeded' || rec.status === 'timed_out' || rec.status === 'cancelled' ? rec.status : 'failed';
  const error: StepError | null = rec.error ? { code: rec.error.code, message: rec.error.message } : null;
  return { type: 'step-ended', step, executionId: rec.id, status, output: rec.output, error, nowMs };
}

const keyOf = (workflow: string, key: string): string => `${workflow}\u0000${key}`;

function parseInput(inputJson: string): unknown {
  if (jsonDeeperThan(inputJson, MAX_JSON_DEPTH)) {
    throw new TaskForgeError('VALIDATION_ERROR', `body nests deeper than ${MAX_JSON_DEPTH} levels`, {
      field: 'body',
      reason: 'too_deep',
      maxDepth: MAX_JSON_DEPTH,
    });
  }
  try {
    return inputJson === '' ? null : JSON.parse(inputJson);
  } catch {
    throw new TaskForgeError('VALIDATION_ERROR', 'body: not valid JSON', { field: 'body', reason: 'invalid_json' });
  }
}

const encodeCursor = (run: WorkflowRun): string => Buffer.from(`${run.createdAt}|${run.id}`).toString('base64url');
const newestFirst = (a: WorkflowRun, b: WorkflowRun): number =>
  a.createdAt === b.createdAt ? (a.id < b.id ? 1 : a.id > b.id ? -1 : 0) : a.createdAt < b.createdAt ? 1 : -1;

export class WorkflowEngine {
  private readonly workflows = new Map<string, WorkflowDefinition>();
  private readonly runs = new Map<string, WorkflowRun>();
  private readonly chains = new Map<string, Promise<unknown>>();
  /** `<workflow>\0<key>` → the run started with that Idempotency-Key, and its input's digest. */
  private readonly byKey = new Map<string, { runId: string; digest: string }>();
  /** Starts with a key whose run is being made durable. */
  private readonly starting = new Map<string, { started: Promise<WorkflowRun>; digest: string }>();
  private watch: Watch | null = null;
  private closed = false;

  constructor(private readonly deps: WorkflowEngineDeps) {}

  /**
   * Takes the stored definitions and runs (after the executions are loaded and recovered),
   * starts listening for step ends, and reconciles every running run with its executions.
   */
  async load(loaded: LoadedWorkflows): Promise<void> {
    for (const wf of loaded.workflows) this.workflows.set(wf.name, wf);
    for (const run of loaded.runs) {
      this.runs.set(run.id, run);
      if (run.idempotencyKey) this.byKey.set(keyOf(run.workflow, run.idempotencyKey), { runId: run.id, digest: inputDigest(run.input) });
    }
    const { state } = this.deps;
    this.watch = state.eventLog.watch({}, (change) => {
      if (!isTerminal(change.status)) return;
      const rec = state.index.get(change.executionId);
      const t = rec?.trigger;
      if (!rec || t?.type !== 'workflow' || !this.runs.has(t.runId)) return;
      this.handle(t.runId, endedEvent(rec, t.step, state.now())).catch((err: unknown) => this.failedToAdvance(t.runId, err));
    });
    const found = new Map<string, Execution[]>();
    for (const e of state.index.values()) {
      const t = e.trigger;
      if (t?.type !== 'workflow') continue;
      const list = found.get(t.runId) ?? [];
      list.push(e);
      found.set(t.runId, list);
    }
    const resumes: Promise<unknown>[] = [];
    for (const run of this.runs.values()) {
      if (run.status !== 'running') continue;
      const nowMs = state.now();
      const events: RunEvent[] = [];
      for (const e of found.get(run.id) ?? []) {
        const step = e.trigger?.type === 'workflow' ? e.trigger.step : '';
        if (!run.steps[step]) continue;
        events.push({ type: 'step-started', step, executionId: e.id });
        if (isTerminal(e.status)) events.push(endedEvent(e, step, nowMs));
      }
      events.push({ type: 'resume', nowMs });
      this.deps.log.info({ runId: run.id, workflow: run.workflow, executions: events.length - 1 }, 'workflow run resumed');
      for (const ev of events) resumes.push(this.handle(run.id, ev).catch((err: unknown) => this.failedToAdvance(run.id, err)));
    }
    await Promise.all(resumes);
  }

  /** The store refused a write while a run advanced: what was durable stays, and the next start resumes from it. */
  private failedToAdvance(runId: string, err: unknown): void {
    this.deps.log.error({ runId, err }, 'workflow run could not advance');
  }

  async define(name: string, body: unknown): Promise<{ workflow: WorkflowDefinition; created: boolean }> {
    assertWorkflowName(name);
    const steps = validateWorkflowSpec(body, (fn) => this.deps.functions.live(fn) !== undefined);
    const existing = this.workflows.get(name);
    const now = new Date(this.deps.state.now()).toISOString();
    const workflow: WorkflowDefinition = { name, steps, version: (existing?.version ?? 0) + 1, createdAt: existing?.createdAt ?? now, updatedAt: now };
    await this.deps.store.putWorkflow(workflow);
    this.workflows.set(name, workflow);
    return { workflow, created: existing === undefined };
  }

  get(name: string): WorkflowDefinition {
    assertWorkflowName(name);
    const wf = this.workflows.get(name);
    if (!wf) throw workflowNotFound(name);
    return wf;
  }

  list(): WorkflowDefinition[] {
    return [...this.workflows.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  /** Runs already started keep going: they hold their own copy of the steps. */
  async delete(name: string): Promise<void> {
    this.get(name);
    await this.deps.store.deleteWorkflow(name);
    this.workflows.delete(name);
  }

  /**
   * Starts a run; resolves once the run and its first steps' executions are durable. With an
   * idempotency key seen for this workflow within the window, the earlier run comes back
   * (`created: false`); the same key with another input is IDEMPOTENCY_MISMATCH.
   */
  async startKeyed(name: string, inputJson: string, idempotencyKey: string | null): Promise<{ run: WorkflowRun; created: boolean }> {
    if (!idempotencyKey) return { run: await this.start(name, inputJson), created: true };
    this.get(name);
    const input = parseInput(inputJson);
    const digest = inputDigest(input);
    const k = keyOf(name, idempotencyKey);
    const mismatch = (): TaskForgeError =>
      new TaskForgeError('IDEMPOTENCY_MISMATCH', `idempotency key '${idempotencyKey}' was already used for workflow '${name}' with a different body`, {
        field: 'headers.idempotency-key',
        reason: 'mismatch',
        workflow: name,
        idempotencyKey,
      });
    const earlier = this.byKey.get(k);
    const earlierRun = earlier ? this.runs.get(earlier.runId) : undefined;
    if (earlier && earlierRun && this.deps.state.now() - Date.parse(earlierRun.createdAt) <= RUN_IDEMPOTENCY_WINDOW_MS) {
      if (earlier.digest !== digest) throw mismatch();
      return { run: earlierRun, created: false };
    }
    const inflight = this.starting.get(k);
    if (inflight) {
      if (inflight.digest !== digest) throw mismatch();
      return { run: await inflight.started, created: false };
    }
    const started = this.start(name, inputJson, idempotencyKey);
    this.starting.set(k, { started, digest });
    try {
      const run = await started;
      this.byKey.set(k, { runId: run.id, digest });
      return { run, created: true };
    } finally {
      this.starting.delete(k);
    }
  }

  /** Starts a run; resolves once the run and its first steps' executions are durable. */
  async start(name: string, inputJson: string, idempotencyKey: string | null = null): Promise<WorkflowRun> {
    const wf = this.get(name);
    if (this.closed) throw new TaskForgeError('SCHEDULER_UNAVAILABLE', 'the scheduler is shutting down', { reason: 'shutting_down' });
    const input = parseInput(inputJson);
    const run = newRun({
      id: `wr_${newId()}`,
      workflow: wf.name,
      workflowVersion: wf.version,
      spec: wf.steps,
      input,
      nowMs: this.deps.state.now(),
      idempotencyKey,
    });
    this.runs.set(run.id, run);
    try {
      await this.handle(run.id, { type: 'start', nowMs: this.deps.state.now() });
    } catch (err) {
      // Nothing was acknowledged: the run is forgotten (a step execution already durable stays, and ends unseen).
      this.runs.delete(run.id);
      throw err;
    }
    return this.runs.get(run.id)!;
  }

  getRun(id: string): WorkflowRun {
    assertExecutionId(id);
    const run = this.runs.get(id);
    if (!run) throw runNotFound(id);
    return run;
  }

  /** Newest first; `functions`: only runs whose steps all call these (a key limited to them). */
  listRuns(filter: { workflow?: string; cursor?: string; limit: number; functions?: ReadonlySet<string> }): RunPage {
    if (filter.workflow !== undefined) assertWorkflowName(filter.workflow);
    const limit = Math.min(Math.max(1, filter.limit || 50), LIMITS.listLimit);
    let after: string | null = null;
    if (filter.cursor) {
      after = Buffer.from(filter.cursor, 'base64url').toString();
      if (!after.includes('|'))
        throw new TaskForgeError('VALIDATION_ERROR', 'cursor: not a cursor of this list', { field: 'query.cursor', reason: 'bad_cursor' });
    }
    const all = [...this.runs.values()]
      .filter((r) => filter.workflow === undefined || r.workflow === filter.workflow)
      .filter((r) => !filter.functions || r.spec.every((s) => filter.functions!.has(s.function)))
      .filter((r) => after === null || `${r.createdAt}|${r.id}` < after)
      .sort(newestFirst);
    const runs = all.slice(0, limit);
    return { runs, nextCursor: all.length > limit ? encodeCursor(runs[runs.length - 1]!) : null };
  }

  async cancel(id: string): Promise<WorkflowRun> {
    this.getRun(id);
    await this.handle(id, { type: 'cancel', nowMs: this.deps.state.now() });
    return this.runs.get(id)!;
  }

  /** Deletes finished runs that finished more than `retentionMs` ago (as executions are pruned). Returns how many. */
  async prune(retentionMs: number): Promise<number> {
    const cutoff = this.deps.state.now() - retentionMs;
    const old = [...this.runs.values()].filter((r) => r.status !== 'running' && Date.parse(r.finishedAt ?? r.createdAt) < cutoff);
    for (const run of old) {
      await this.deps.store.deleteWorkflowRun(run.id);
      this.runs.delete(run.id);
      if (run.idempotencyKey) {
        const k = keyOf(run.workflow, run.idempotencyKey);
        if (this.byKey.get(k)?.runId === run.id) this.byKey.delete(k);
      }
    }
    return old.length;
  }

  /** Stops listening and waits for the runs' work in flight. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    this.watch?.close();
    this.watch = null;
    await Promise.allSettled([...this.chains.values()]);
  }

  /** Queues `event` behind the run's earlier events; resolves (or rejects) when it is handled. */
  private handle(runId: string, event: RunEvent): Promise<void> {
    const prev = this.chains.get(runId) ?? Promise.resolve();
    const next = prev.then(() => this.drive(runId, event));
    const tail = next.catch(() => undefined);
    this.chains.set(runId, tail);
    void tail.then(() => {
      if (this.chains.get(runId) === tail) this.chains.delete(runId);
    });
    return next;
  }

  private async drive(runId: string, first: RunEvent): Promise<void> {
    const queue: RunEvent[] = [first];
    let dirty = false;
    while (queue.length > 0) {
      const event = queue.shift()!;
      const current = this.runs.get(runId);
      if (!current) return;
      if (event.type === 'step-ended' && event.executionId) {
        // A step's end may still be only group-committed; a run never advances on an end a
        // crash could take back (the execution would run again after a restart).
        const rec = this.deps.state.index.get(event.executionId);
        if (rec && isTerminal(rec.status)) await this.deps.store.putExecutionDurable(rec);
      }
      const { run, effects } = runTransition(current, event);
      this.runs.set(runId, run);
      const starts: string[] = [];
      for (const effect of effects) {
        if (effect.type === 'persist') dirty = true;
        else if (effect.type === 'start-step') starts.push(effect.step);
        else this.cancelStep(run, effect.executionId);
      }
      if (starts.length === 0) continue;
      // The decision to start is durable before any execution exists: a restart finds it.
      if (dirty) await this.deps.store.putWorkflowRun(run);
      dirty = false;
      const results = await Promise.all(starts.map((step) => this.startStep(run, step)));
      for (const evs of results) queue.push(...evs);
    }
    if (dirty) await this.deps.store.putWorkflowRun(this.runs.get(runId)!);
  }

  private cancelStep(run: WorkflowRun, executionId: string): void {
    try {
      this.deps.executions.cancel(executionId);
    } catch (err) {
      // Already finished: its end is on its way through the event log.
      if (!(err instanceof TaskForgeError && (err.code === 'EXECUTION_FINISHED' || err.code === 'EXECUTION_NOT_FOUND'))) throw err;
      this.deps.log.debug({ runId: run.id, executionId, code: err.code }, 'step already finished');
    }
  }

  /** Creates a step's execution (durably); the events that follow from it. */
  private async startStep(run: WorkflowRun, step: string): Promise<RunEvent[]> {
    const spec = run.spec.find((s) => s.id === step)!;
    const { state } = this.deps;
    const outputs: Record<string, unknown> = {};
    for (const a of ancestors(run.spec).get(step) ?? []) {
      const id = run.steps[a]?.executionId;
      outputs[a] = id ? (state.index.get(id)?.output ?? run.steps[a]?.output ?? null) : null;
    }
    const input = resolveInput(spec.input, { input: run.input, outputs });
    try {
      const r = await this.deps.executions.invoke({
        function: spec.function,
        version: 0,
        inputJson: JSON.stringify(input),
        mode: 'async',
        idempotencyKey: stepKey(run.id, step),
        waitMs: 0,
        trigger: { type: 'workflow', runId: run.id, step },
      });
      const live = state.index.get(r.execution.id) ?? r.execution;
      const events: RunEvent[] = [{ type: 'step-started', step, executionId: live.id }];
      if (isTerminal(live.status)) events.push(endedEvent(live, step, state.now()));
      return events;
    } catch (err) {
      // Durability failures are not the step's fault: the run is not acknowledged (or resumes later).
      if (err instanceof TaskForgeError && err.code === 'STORAGE_UNAVAILABLE') throw err;
      const message = err instanceof Error ? err.message : String(err);
      this.deps.log.warn({ runId: run.id, step, err: message }, 'workflow step could not start');
      return [{ type: 'step-ended', step, executionId: null, status: 'failed', error: { code: 'START_FAILED', message }, nowMs: state.now() }];
    }
  }
}
