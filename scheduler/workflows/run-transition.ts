/**
 * The workflow run's state machine: a pure `(run, event) → { run, effects }` that never mutates
 * its input (tested on deep-frozen runs). The engine (engine.ts) is its only caller and the only
 * writer of run records; it carries the effects out: persist the run durably, start a step's
 * execution, cancel one.
 *
 *   running → succeeded   the last step succeeded (output = the outputs of the sink steps)
 *   running → failed      a step failed (after its retries, timed out, cancelled by someone, or
 *                         could not be started): the steps not started yet are skipped; steps
 *                         already running finish and are recorded, nothing new starts
 *   running → cancelled   cancel: pending steps are cancelled, running ones are sent a cancel
 *
 * A step is `queued` from the moment its start is decided (its executionId follows with
 * `step-started`). Events about a step that already ended are ignored (a restart may replay
 * them), so a step ends once.
 */
import { TaskForgeError } from '../../common/errors.js';
import type { StepError, WorkflowRun, WorkflowRunStep, WorkflowStep } from '../../common/workflows.js';
import { sinkSteps } from './spec.js';

export type RunEvent =
  | { type: 'start'; nowMs: number }
  | { type: 'step-started'; step: string; executionId: string }
  | {
      type: 'step-ended';
      step: string;
      /** The execution that ended (null: the step could not be started). */
      executionId: string | null;
      status: 'succeeded' | 'failed' | 'timed_out' | 'cancelled';
      output?: unknown;
      error?: StepError | null;
      nowMs: number;
    }
  | { type: 'cancel'; nowMs: number }
  /** After a restart, once the steps' executions are reconciled: start what is ready or was being started. */
  | { type: 'resume'; nowMs: number };

export type RunEffect = { type: 'persist' } | { type: 'start-step'; step: string } | { type: 'cancel-step'; step: string; executionId: string };

export interface RunTransition {
  run: WorkflowRun;
  effects: RunEffect[];
}

const iso = (ms: number): string => new Date(ms).toISOString();
const STEP_DONE = new Set(['succeeded', 'failed', 'skipped', 'cancelled']);
export const stepDone = (s: WorkflowRunStep): boolean => STEP_DONE.has(s.status);

/** A new run record, every step pending. */
export function newRun(args: {
  id: string;
  workflow: string;
  workflowVersion: number;
  spec: WorkflowStep[];
  input: unknown;
  nowMs: number;
  idempotencyKey?: string | null;
}): WorkflowRun {
  const steps: Record<string, WorkflowRunStep> = {};
  for (const s of args.spec) steps[s.id] = { status: 'pending', executionId: null };
  return {
    id: args.id,
    workflow: args.workflow,
    workflowVersion: args.workflowVersion,
    status: 'running',
    input: args.input,
    output: null,
    steps,
    failedStep: null,
    spec: args.spec,
    createdAt: iso(args.nowMs),
    finishedAt: null,
    idempotencyKey: args.idempotencyKey ?? null,
  };
}

export function runTransition(run: WorkflowRun, event: RunEvent): RunTransition {
  switch (event.type) {
    case 'start':
    case 'resume':
      return startReady(run, { ...run.steps }, event.type === 'resume', event.nowMs, false);
    case 'step-started': {
      const cur = run.steps[event.step];
      if (!cur) throw unknownStep(run, event.step);
      // A pending step with an execution: started before a crash that lost the decision (reconcile).
      if ((cur.status !== 'queued' && cur.status !== 'pending') || cur.executionId === event.executionId) return { run, effects: [] };
      return {
        run: { ...run, steps: { ...run.steps, [event.step]: { ...cur, status: 'queued', executionId: event.executionId } } },
        effects: [{ type: 'persist' }],
      };
    }
    case 'step-ended':
      return stepEnded(run, event);
    case 'cancel': {
      if (run.status !== 'running') {
        throw new TaskForgeError('EXECUTION_FINISHED', `workflow run '${run.id}' already finished (${run.status})`, {
          reason: 'finished',
          id: run.id,
          status: run.status,
        });
      }
      const steps = { ...run.steps };
      const effects: RunEffect[] = [{ type: 'persist' }];
      for (const [id, s] of Object.entries(steps)) {
        if (s.status === 'pending' || (s.status === 'queued' && s.executionId === null)) steps[id] = { ...s, status: 'cancelled' };
        else if (s.status === 'queued' && s.executionId) effects.push({ type: 'cancel-step', step: id, executionId: s.executionId });
      }
      return { run: { ...run, status: 'cancelled', steps, finishedAt: iso(event.nowMs) }, effects };
    }
  }
}

function unknownStep(run: WorkflowRun, step: string): Error {
  return new Error(`workflow run ${run.id} has no step '${step}'`);
}

function stepEnded(run: WorkflowRun, event: Extract<RunEvent, { type: 'step-ended' }>): RunTransition {
  const cur = run.steps[event.step];
  if (!cur) throw unknownStep(run, event.step);
  if (stepDone(cur)) return { run, effects: [] };
  const steps = { ...run.steps };
  const executionId = event.executionId ?? cur.executionId;
  if (event.status === 'succeeded') {
    const sink = sinkSteps(run.spec).has(event.step);
    steps[event.step] = { status: 'succeeded', executionId, ...(sink && { output: event.output ?? null }) };
    if (run.status !== 'running') return { run: { ...run, steps }, effects: [{ type: 'persist' }] };
    return startReady(run, steps, false, event.nowMs, true);
  }
  const error: StepError = event.error ?? { code: event.status === 'timed_out' ? 'TIMEOUT' : 'CANCELLED', message: `step ended ${event.status}` };
  if (run.status === 'cancelled') {
    steps[event.step] = { status: 'cancelled', executionId, error };
    return { run: { ...run, steps }, effects: [{ type: 'persist' }] };
  }
  steps[event.step] = { status: 'failed', executionId, error };
  if (run.status !== 'running') return { run: { ...run, steps }, effects: [{ type: 'persist' }] };
  for (const [id, s] of Object.entries(steps)) if (s.status === 'pending') steps[id] = { ...s, status: 'skipped' };
  return {
    run: { ...run, status: 'failed', steps, failedStep: event.step, finishedAt: iso(event.nowMs) },
    effects: [{ type: 'persist' }],
  };
}

/** Marks the ready steps queued and starts them; ends the run when every step succeeded. */
function startReady(run: WorkflowRun, steps: Record<string, WorkflowRunStep>, resume: boolean, nowMs: number, changed: boolean): RunTransition {
  if (run.status !== 'running') return { run, effects: [] };
  const starts: RunEffect[] = [];
  for (const s of run.spec) {
    const cur = steps[s.id]!;
    const restart = resume && cur.status === 'queued' && cur.executionId === null;
    const ready = cur.status === 'pending' && s.needs.every((n) => steps[n]?.status === 'succeeded');
    if (!ready && !restart) continue;
    if (ready) steps[s.id] = { ...cur, status: 'queued' };
    starts.push({ type: 'start-step', step: s.id });
  }
  let next: WorkflowRun = { ...run, steps };
  if (run.spec.every((s) => steps[s.id]!.status === 'succeeded')) {
    const output: Record<string, unknown> = {};
    for (const id of sinkSteps(run.spec)) output[id] = steps[id]!.output ?? null;
    next = { ...next, status: 'succeeded', output, finishedAt: iso(nowMs) };
  }
  if (!changed && starts.length === 0 && next.status === run.status) return { run, effects: [] };
  return { run: next, effects: [{ type: 'persist' }, ...starts] };
}
