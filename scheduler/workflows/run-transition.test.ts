import { describe, expect, it } from 'vitest';
import { TaskForgeError } from '../../common/errors.js';
import type { WorkflowRun, WorkflowRunStep, WorkflowStep } from '../../common/workflows.js';
import { newRun, runTransition, type RunEvent } from './run-transition.js';

const NOW = Date.parse('2026-01-01T00:00:00.000Z');

/** Runs are frozen all the way down: a transition that touched its input would throw. */
function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

const DIAMOND: WorkflowStep[] = [
  { id: 'a', function: 'f', needs: [] },
  { id: 'b', function: 'f', needs: ['a'] },
  { id: 'c', function: 'f', needs: ['a'] },
  { id: 'd', function: 'f', needs: ['b', 'c'] },
];

function run(steps: Partial<Record<string, Partial<WorkflowRunStep>>> = {}, over: Partial<WorkflowRun> = {}): WorkflowRun {
  const r = newRun({ id: 'wr_1', workflow: 'w', workflowVersion: 1, spec: DIAMOND, input: { n: 1 }, nowMs: NOW });
  for (const [id, s] of Object.entries(steps)) r.steps[id] = { ...r.steps[id]!, ...s };
  return deepFreeze({ ...r, ...over });
}

const ended = (step: string, status: 'succeeded' | 'failed' | 'timed_out' | 'cancelled', output: unknown = null): RunEvent => ({
  type: 'step-ended',
  step,
  executionId: `ex_${step}`,
  status,
  output,
  nowMs: NOW + 1000,
});

const statuses = (r: WorkflowRun): Record<string, string> => Object.fromEntries(Object.entries(r.steps).map(([k, v]) => [k, v.status]));

describe('runTransition', () => {
  it('start queues the steps without needs, after a durable write', () => {
    const t = runTransition(run(), { type: 'start', nowMs: NOW });
    expect(statuses(t.run)).toEqual({ a: 'queued', b: 'pending', c: 'pending', d: 'pending' });
    expect(t.effects).toEqual([{ type: 'persist' }, { type: 'start-step', step: 'a' }]);
  });

  it('step-started records the execution once', () => {
    const r = run({ a: { status: 'queued' } });
    const t = runTransition(r, { type: 'step-started', step: 'a', executionId: 'ex_a' });
    expect(t.run.steps.a).toEqual({ status: 'queued', executionId: 'ex_a' });
    expect(t.effects).toEqual([{ type: 'persist' }]);
    expect(runTransition(t.run, { type: 'step-started', step: 'a', executionId: 'ex_a' })).toEqual({ run: t.run, effects: [] });
    // A reconcile may find an execution for a step whose decision to start was not written yet.
    expect(runTransition(run(), { type: 'step-started', step: 'a', executionId: 'ex_a' }).run.steps.a).toEqual({ status: 'queued', executionId: 'ex_a' });
    expect(runTransition(run({ a: { status: 'succeeded', executionId: 'ex_a' } }), { type: 'step-started', step: 'a', executionId: 'ex_x' }).effects).toEqual(
      [],
    );
  });

  it('a success starts every step whose needs are now all met (in parallel)', () => {
    const t = runTransition(run({ a: { status: 'queued', executionId: 'ex_a' } }), ended('a', 'succeeded', { v: 1 }));
    expect(statuses(t.run)).toEqual({ a: 'succeeded', b: 'queued', c: 'queued', d: 'pending' });
    expect(t.effects).toEqual([{ type: 'persist' }, { type: 'start-step', step: 'b' }, { type: 'start-step', step: 'c' }]);
    // Not a sink: its output is not kept in the run (it is in its execution).
    expect(t.run.steps.a).not.toHaveProperty('output');
  });

  it('a step waits for all of its needs', () => {
    const r = run({ a: { status: 'succeeded' }, b: { status: 'queued', executionId: 'ex_b' }, c: { status: 'queued', executionId: 'ex_c' } });
    const t = runTransition(r, ended('b', 'succeeded'));
    expect(statuses(t.run)).toMatchObject({ b: 'succeeded', d: 'pending' });
    expect(t.effects).toEqual([{ type: 'persist' }]);
  });

  it('the last success ends the run with the outputs of the sinks', () => {
    const r = run({ a: { status: 'succeeded' }, b: { status: 'succeeded' }, c: { status: 'succeeded' }, d: { status: 'queued', executionId: 'ex_d' } });
    const t = runTransition(r, ended('d', 'succeeded', { total: 3 }));
    expect(t.run).toMatchObject({ status: 'succeeded', output: { d: { total: 3 } }, finishedAt: new Date(NOW + 1000).toISOString(), failedStep: null });
    expect(t.effects).toEqual([{ type: 'persist' }]);
  });

  it.each(['failed', 'timed_out', 'cancelled'] as const)('a step that ends %s fails the run and skips what did not start', (status) => {
    const r = run({ a: { status: 'succeeded' }, b: { status: 'queued', executionId: 'ex_b' }, c: { status: 'queued', executionId: 'ex_c' } });
    const t = runTransition(r, ended('b', status));
    expect(t.run).toMatchObject({ status: 'failed', failedStep: 'b', output: null });
    expect(statuses(t.run)).toEqual({ a: 'succeeded', b: 'failed', c: 'queued', d: 'skipped' });
    expect(t.run.steps.b!.error).toEqual({ code: status === 'timed_out' ? 'TIMEOUT' : 'CANCELLED', message: `step ended ${status}` });
    expect(t.effects).toEqual([{ type: 'persist' }]);
    // c, already running, finishes and is recorded; nothing new starts.
    const later = runTransition(t.run, ended('c', 'succeeded'));
    expect(later.run.status).toBe('failed');
    expect(statuses(later.run)).toMatchObject({ c: 'succeeded', d: 'skipped' });
    expect(later.effects).toEqual([{ type: 'persist' }]);
  });

  it('keeps the error of the execution and ignores a second end of the same step', () => {
    const r = run({ a: { status: 'queued', executionId: 'ex_a' } });
    const t = runTransition(r, { ...ended('a', 'failed'), error: { code: 'FUNCTION_ERROR', message: 'boom' } } as RunEvent);
    expect(t.run.steps.a).toEqual({ status: 'failed', executionId: 'ex_a', error: { code: 'FUNCTION_ERROR', message: 'boom' } });
    expect(runTransition(t.run, ended('a', 'succeeded'))).toEqual({ run: t.run, effects: [] });
  });

  it('cancel cancels pending steps and sends a cancel to started ones; their ends are recorded as cancelled', () => {
    const r = run({ a: { status: 'succeeded' }, b: { status: 'queued', executionId: 'ex_b' }, c: { status: 'queued', executionId: null } });
    const t = runTransition(r, { type: 'cancel', nowMs: NOW + 5 });
    expect(t.run.status).toBe('cancelled');
    expect(statuses(t.run)).toEqual({ a: 'succeeded', b: 'queued', c: 'cancelled', d: 'cancelled' });
    expect(t.effects).toEqual([{ type: 'persist' }, { type: 'cancel-step', step: 'b', executionId: 'ex_b' }]);
    const after = runTransition(t.run, ended('b', 'cancelled'));
    expect(after.run.steps.b!.status).toBe('cancelled');
    expect(after.run.status).toBe('cancelled');
    // A step that still succeeded is recorded as such, and starts nothing.
    const won = runTransition(t.run, ended('b', 'succeeded'));
    expect(won.run.steps.b!.status).toBe('succeeded');
    expect(won.effects).toEqual([{ type: 'persist' }]);
  });

  it.each(['succeeded', 'failed', 'cancelled'] as const)('cancel of a %s run is refused (409)', (status) => {
    expect(() => runTransition(run({}, { status }), { type: 'cancel', nowMs: NOW })).toThrow(TaskForgeError);
    try {
      runTransition(run({}, { status }), { type: 'cancel', nowMs: NOW });
    } catch (err) {
      expect((err as TaskForgeError).code).toBe('EXECUTION_FINISHED');
    }
  });

  it('resume starts again what was decided but has no execution, and what became ready', () => {
    const r = run({ a: { status: 'succeeded' }, b: { status: 'queued', executionId: null }, c: { status: 'queued', executionId: 'ex_c' } });
    const t = runTransition(r, { type: 'resume', nowMs: NOW });
    expect(t.effects).toEqual([{ type: 'persist' }, { type: 'start-step', step: 'b' }]);
    // Nothing to do: no write.
    const idle = run({ a: { status: 'queued', executionId: 'ex_a' } });
    expect(runTransition(idle, { type: 'resume', nowMs: NOW })).toEqual({ run: idle, effects: [] });
    // A finished run is left alone.
    const done = run({}, { status: 'failed' });
    expect(runTransition(done, { type: 'resume', nowMs: NOW })).toEqual({ run: done, effects: [] });
  });

  it('an event about a step the run does not have is a bug, thrown', () => {
    expect(() => runTransition(run(), ended('zz', 'succeeded'))).toThrow(/no step 'zz'/);
    expect(() => runTransition(run(), { type: 'step-started', step: 'zz', executionId: 'x' })).toThrow(/no step 'zz'/);
  });
});
