/**
 * Checks a workflow definition (PUT /v1/workflows/{name}) and normalises it: steps with unique
 * ids, known functions, needs naming other steps of the same workflow, no cycle, and input
 * references that name a step the step (transitively) needs, so its output exists when the
 * step starts. Every refusal is a VALIDATION_ERROR whose `field` names the step and field at
 * fault. Pure except for `functionExists`.
 */
import { TaskForgeError } from '../../common/errors.js';
import { isFunctionName } from '../../common/names.js';
import { STEP_ID_RE, WORKFLOW_LIMITS, type WorkflowStep } from '../../common/workflows.js';
import { collectReferences } from './input-mapping.js';

const invalid = (field: string, why: string, reason: string, extra: Record<string, unknown> = {}): TaskForgeError =>
  new TaskForgeError('VALIDATION_ERROR', `${field}: ${why}`, { field, reason, ...extra });

const STEP_KEYS = new Set(['id', 'function', 'needs', 'input']);

/** Every step's transitive needs (the steps that end before it starts). Assumes no cycle. */
export function ancestors(steps: readonly WorkflowStep[]): Map<string, Set<string>> {
  const byId = new Map(steps.map((s) => [s.id, s] as const));
  const memo = new Map<string, Set<string>>();
  const of = (id: string): Set<string> => {
    const known = memo.get(id);
    if (known) return known;
    const set = new Set<string>();
    memo.set(id, set);
    for (const n of byId.get(id)?.needs ?? []) {
      set.add(n);
      for (const a of of(n)) set.add(a);
    }
    return set;
  };
  for (const s of steps) of(s.id);
  return memo;
}

/** A cycle among the steps as its ids in order (first = last omitted), or null. */
export function findCycle(steps: readonly WorkflowStep[]): string[] | null {
  const byId = new Map(steps.map((s) => [s.id, s] as const));
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (id: string): string[] | null => {
    const st = state.get(id);
    if (st === 'done') return null;
    if (st === 'open') return path.slice(path.indexOf(id));
    state.set(id, 'open');
    path.push(id);
    for (const n of byId.get(id)?.needs ?? []) {
      const c = visit(n);
      if (c) return c;
    }
    path.pop();
    state.set(id, 'done');
    return null;
  };
  for (const s of steps) {
    const c = visit(s.id);
    if (c) return c;
  }
  return null;
}

/** The definition's steps, checked; throws VALIDATION_ERROR naming the field. */
export function validateWorkflowSpec(raw: unknown, functionExists: (name: string) => boolean): WorkflowStep[] {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw invalid('body', 'must be an object', 'type');
  const body = raw as Record<string, unknown>;
  for (const k of Object.keys(body)) if (k !== 'steps' && k !== 'name') throw invalid(`body.${k}`, 'unknown field', 'unknown_field');
  const rawSteps = body.steps;
  if (!Array.isArray(rawSteps)) throw invalid('body.steps', 'required array of steps', 'required');
  if (rawSteps.length === 0) throw invalid('body.steps', 'needs at least one step', 'too_few');
  if (rawSteps.length > WORKFLOW_LIMITS.steps)
    throw invalid('body.steps', `at most ${WORKFLOW_LIMITS.steps} steps`, 'too_many', { limit: WORKFLOW_LIMITS.steps });
  const steps: WorkflowStep[] = [];
  const ids = new Set<string>();
  rawSteps.forEach((s: unknown, i) => {
    const at = `body.steps[${i}]`;
    if (!s || typeof s !== 'object' || Array.isArray(s)) throw invalid(at, 'must be an object', 'type');
    const r = s as Record<string, unknown>;
    for (const k of Object.keys(r)) if (!STEP_KEYS.has(k)) throw invalid(`${at}.${k}`, 'unknown field', 'unknown_field');
    if (typeof r.id !== 'string' || !STEP_ID_RE.test(r.id)) throw invalid(`${at}.id`, `required, must match ${STEP_ID_RE.source}`, 'pattern');
    if (ids.has(r.id)) throw invalid(`${at}.id`, `step '${r.id}' is defined twice`, 'duplicate', { step: r.id });
    ids.add(r.id);
    if (typeof r.function !== 'string' || !isFunctionName(r.function)) throw invalid(`${at}.function`, 'required function name', 'pattern', { step: r.id });
    if (!functionExists(r.function))
      throw invalid(`${at}.function`, `step '${r.id}': function '${r.function}' does not exist`, 'unknown_function', { step: r.id, function: r.function });
    const needs = r.needs ?? [];
    if (!Array.isArray(needs) || !needs.every((n): n is string => typeof n === 'string'))
      throw invalid(`${at}.needs`, 'must be an array of step ids', 'type', { step: r.id });
    if (needs.length > WORKFLOW_LIMITS.needs) throw invalid(`${at}.needs`, `at most ${WORKFLOW_LIMITS.needs}`, 'too_many', { step: r.id });
    if (new Set(needs).size !== needs.length) throw invalid(`${at}.needs`, 'names a step twice', 'duplicate', { step: r.id });
    steps.push({ id: r.id, function: r.function, needs: [...needs], ...(r.input !== undefined && { input: r.input }) });
  });
  steps.forEach((s, i) => {
    s.needs.forEach((n, j) => {
      if (n === s.id) throw invalid(`body.steps[${i}].needs[${j}]`, `step '${s.id}' needs itself`, 'cycle', { step: s.id, cycle: [s.id] });
      if (!ids.has(n)) throw invalid(`body.steps[${i}].needs[${j}]`, `step '${s.id}' needs unknown step '${n}'`, 'unknown_step', { step: s.id, need: n });
    });
  });
  const cycle = findCycle(steps);
  if (cycle) {
    const i = steps.findIndex((s) => s.id === cycle[0]);
    throw invalid(`body.steps[${i}].needs`, `the steps form a cycle: ${[...cycle, cycle[0]].join(' → ')}`, 'cycle', { step: cycle[0], cycle });
  }
  const before = ancestors(steps);
  steps.forEach((s, i) => {
    for (const { at, ref } of collectReferences(s.input, `body.steps[${i}].input`)) {
      if (typeof ref === 'string') throw invalid(at, ref, 'bad_reference', { step: s.id });
      if (ref.kind !== 'step') continue;
      if (!ids.has(ref.step)) throw invalid(at, `step '${s.id}' refers to unknown step '${ref.step}'`, 'unknown_step', { step: s.id, need: ref.step });
      if (!before.get(s.id)?.has(ref.step))
        throw invalid(at, `step '${s.id}' uses the output of '${ref.step}' without needing it`, 'not_needed', { step: s.id, need: ref.step });
    }
  });
  return steps;
}

/** The steps nothing depends on: their outputs are the run's output. */
export function sinkSteps(steps: readonly WorkflowStep[]): Set<string> {
  const needed = new Set(steps.flatMap((s) => s.needs));
  return new Set(steps.filter((s) => !needed.has(s.id)).map((s) => s.id));
}
