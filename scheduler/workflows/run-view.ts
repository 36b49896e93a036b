/**
 * What the API returns for a workflow run (docs/WORKFLOWS.md): the stored run with each started
 * step's status taken from its live execution (queued or running) until the step ends, and the
 * internal fields (the step outputs kept for the run's output) left out.
 */
import type { Execution } from '../../common/records.js';
import type { WorkflowRun, WorkflowRunView } from '../../common/workflows.js';

export function apiRun(run: WorkflowRun, execution: (id: string) => Execution | undefined, withPayload = true): WorkflowRunView {
  const steps: WorkflowRunView['steps'] = {};
  for (const s of run.spec) {
    const cur = run.steps[s.id]!;
    let status = cur.status;
    if (status === 'queued' && cur.executionId) {
      const live = execution(cur.executionId)?.status;
      if (live === 'running') status = 'running';
    }
    steps[s.id] = { status, executionId: cur.executionId, function: s.function, ...(cur.error && { error: cur.error }) };
  }
  const view: WorkflowRunView = {
    id: run.id,
    workflow: run.workflow,
    workflowVersion: run.workflowVersion,
    status: run.status,
    steps,
    failedStep: run.failedStep,
    createdAt: run.createdAt,
    finishedAt: run.finishedAt,
    idempotencyKey: run.idempotencyKey ?? null,
  };
  if (withPayload) {
    view.input = run.input;
    view.output = run.output;
  }
  return view;
}

/** Every function a run's (or a definition's) steps call. */
export const stepFunctions = (spec: readonly { function: string }[]): string[] => [...new Set(spec.map((s) => s.function))];
