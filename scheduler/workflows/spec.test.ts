import { describe, expect, it } from 'vitest';
import { TaskForgeError } from '../../common/errors.js';
import { WORKFLOW_LIMITS } from '../../common/workflows.js';
import { ancestors, findCycle, sinkSteps, validateWorkflowSpec } from './spec.js';

const known = (name: string): boolean => ['f', 'g'].includes(name);

function refusal(body: unknown): { field: unknown; reason: unknown; message: string; details: Record<string, unknown> } {
  try {
    validateWorkflowSpec(body, known);
  } catch (err) {
    expect(err).toBeInstanceOf(TaskForgeError);
    const e = err as TaskForgeError;
    expect(e.code).toBe('VALIDATION_ERROR');
    return { field: e.details.field, reason: e.details.reason, message: e.message, details: e.details };
  }
  throw new Error('accepted');
}

describe('validateWorkflowSpec', () => {
  it('accepts a diamond and normalises needs', () => {
    const steps = validateWorkflowSpec(
      {
        steps: [
          { id: 'a', function: 'f' },
          { id: 'b', function: 'g', needs: ['a'], input: { x: '$.steps.a.output.x' } },
          { id: 'c', function: 'f', needs: ['a'] },
          { id: 'd', function: 'f', needs: ['b', 'c'], input: ['$.steps.a.output', '$.input.k', 'plain $.text'] },
        ],
      },
      known,
    );
    expect(steps.map((s) => [s.id, s.needs])).toEqual([
      ['a', []],
      ['b', ['a']],
      ['c', ['a']],
      ['d', ['b', 'c']],
    ]);
    expect(steps[0]).not.toHaveProperty('input');
    expect([...sinkSteps(steps)]).toEqual(['d']);
    expect([...ancestors(steps).get('d')!].sort()).toEqual(['a', 'b', 'c']);
  });

  it('names the cycle and the step where it is found', () => {
    const r = refusal({
      steps: [
        { id: 'x', function: 'f' },
        { id: 'a', function: 'f', needs: ['b'] },
        { id: 'b', function: 'f', needs: ['a', 'x'] },
      ],
    });
    expect(r).toMatchObject({ field: 'body.steps[1].needs', reason: 'cycle', details: { cycle: ['a', 'b'] } });
    expect(r.message).toContain('a → b → a');
    expect(refusal({ steps: [{ id: 'a', function: 'f', needs: ['a'] }] })).toMatchObject({ field: 'body.steps[0].needs[0]', reason: 'cycle' });
  });

  it('refuses unknown needs and functions, naming the step and field', () => {
    expect(refusal({ steps: [{ id: 'a', function: 'f', needs: ['nope'] }] })).toMatchObject({
      field: 'body.steps[0].needs[0]',
      reason: 'unknown_step',
      details: { step: 'a', need: 'nope' },
    });
    expect(
      refusal({
        steps: [
          { id: 'a', function: 'f' },
          { id: 'b', function: 'missing' },
        ],
      }),
    ).toMatchObject({ field: 'body.steps[1].function', reason: 'unknown_function', details: { step: 'b', function: 'missing' } });
  });

  it('refuses references to steps that are unknown or not needed, and malformed references', () => {
    expect(refusal({ steps: [{ id: 'a', function: 'f', input: '$.steps.zz.output' }] })).toMatchObject({
      field: 'body.steps[0].input',
      reason: 'unknown_step',
    });
    expect(
      refusal({
        steps: [
          { id: 'a', function: 'f' },
          { id: 'b', function: 'f', input: { deep: [{ v: '$.steps.a.output' }] } },
        ],
      }),
    ).toMatchObject({ field: 'body.steps[1].input.deep[0].v', reason: 'not_needed' });
    expect(refusal({ steps: [{ id: 'a', function: 'f', input: '$.steps.a.result' }] })).toMatchObject({ reason: 'bad_reference' });
    expect(refusal({ steps: [{ id: 'a', function: 'f', input: '$.input.a b' }] })).toMatchObject({ reason: 'bad_reference' });
  });

  it('refuses malformed bodies and steps', () => {
    expect(refusal(null)).toMatchObject({ field: 'body', reason: 'type' });
    expect(refusal([])).toMatchObject({ field: 'body', reason: 'type' });
    expect(refusal({ steps: [], extra: 1 })).toMatchObject({ field: 'body.extra', reason: 'unknown_field' });
    expect(refusal({})).toMatchObject({ field: 'body.steps', reason: 'required' });
    expect(refusal({ steps: [] })).toMatchObject({ field: 'body.steps', reason: 'too_few' });
    const many = Array.from({ length: WORKFLOW_LIMITS.steps + 1 }, (_, i) => ({ id: `s${i}`, function: 'f' }));
    expect(refusal({ steps: many })).toMatchObject({ field: 'body.steps', reason: 'too_many' });
    expect(refusal({ steps: ['x'] })).toMatchObject({ field: 'body.steps[0]', reason: 'type' });
    expect(refusal({ steps: [{ id: 'a', function: 'f', when: 1 }] })).toMatchObject({ field: 'body.steps[0].when', reason: 'unknown_field' });
    expect(refusal({ steps: [{ id: 'a.b', function: 'f' }] })).toMatchObject({ field: 'body.steps[0].id', reason: 'pattern' });
    expect(
      refusal({
        steps: [
          { id: 'a', function: 'f' },
          { id: 'a', function: 'g' },
        ],
      }),
    ).toMatchObject({ field: 'body.steps[1].id', reason: 'duplicate' });
    expect(refusal({ steps: [{ id: 'a', function: 'F!' }] })).toMatchObject({ field: 'body.steps[0].function', reason: 'pattern' });
    expect(refusal({ steps: [{ id: 'a', function: 'f', needs: 'b' }] })).toMatchObject({ field: 'body.steps[0].needs', reason: 'type' });
    expect(
      refusal({
        steps: [
          { id: 'a', function: 'f' },
          { id: 'b', function: 'f', needs: ['a', 'a'] },
        ],
      }),
    ).toMatchObject({ field: 'body.steps[1].needs', reason: 'duplicate' });
    const needs = Array.from({ length: WORKFLOW_LIMITS.needs + 1 }, (_, i) => `n${i}`);
    expect(refusal({ steps: [{ id: 'a', function: 'f', needs }] })).toMatchObject({ field: 'body.steps[0].needs', reason: 'too_many' });
  });

  it('findCycle is null for a DAG', () => {
    expect(
      findCycle([
        { id: 'a', function: 'f', needs: [] },
        { id: 'b', function: 'f', needs: ['a'] },
      ]),
    ).toBeNull();
  });
});
