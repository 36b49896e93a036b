/**
 * The workflow records of the HTTP contract (docs/WORKFLOWS.md): a definition (a DAG of steps,
 * each a function) and a run of it. The scheduler stores them in exactly this shape; the API
 * returns the definition as it is and a run through `apiRun` (scheduler/workflows/run-view.ts).
 */
import { TaskForgeError } from './errors.js';
import type { ExecutionErrorCode } from './records.js';

export const workflowNotFound = (name: string): TaskForgeError =>
  new TaskForgeError('NOT_FOUND', `workflow '${name}' does not exist`, { reason: 'not_found', workflow: name });
export const runNotFound = (id: string): TaskForgeError => new TaskForgeError('NOT_FOUND', `workflow run '${id}' does not exist`, { reason: 'not_found', id });

export interface WorkflowStep {
  id: string;
  function: string;
  needs: string[];
  /** The step's input template; absent: the run's input (`"$.input"`). */
  input?: unknown;
}

export interface WorkflowDefinition {
  name: string;
  steps: WorkflowStep[];
  /** 1 when first defined, +1 on every PUT. A run keeps the steps of the version it started with. */
  version: number;
  createdAt: string;
  updatedAt: string;
}

export const WORKFLOW_RUN_STATUSES = ['running', 'succeeded', 'failed', 'cancelled'] as const;
export type WorkflowRunStatus = (typeof WORKFLOW_RUN_STATUSES)[number];

/**
 * pending: waits for its needs · queued/running: its execution is (the live execution's status) ·
 * succeeded / failed (failed or timed out after its retries, or could not be started) ·
 * skipped: a step it needs failed, or the run failed first · cancelled: the run was cancelled.
 */
export const STEP_STATUSES = ['pending', 'queued', 'running', 'succeeded', 'failed', 'skipped', 'cancelled'] as const;
export type StepStatus = (typeof STEP_STATUSES)[number];

export interface StepError {
  code: ExecutionErrorCode | 'START_FAILED';
  message: string;
}

export interface WorkflowRunStep {
  status: StepStatus;
  executionId: string | null;
  error?: StepError | null;
  /** Kept only for steps nothing depends on: they make the run's output. */
  output?: unknown;
}

export interface WorkflowRun {
  id: string;
  workflow: string;
  /** The definition's version this run follows (its steps are copied into `spec`). */
  workflowVersion: number;
  status: WorkflowRunStatus;
  input: unknown;
  /** The outputs of the steps nothing depends on, keyed by step id, once the run succeeded. */
  output: unknown;
  steps: Record<string, WorkflowRunStep>;
  /** The failed step that failed the run, or null. */
  failedStep: string | null;
  spec: WorkflowStep[];
  createdAt: string;
  finishedAt: string | null;
  /** The client's Idempotency-Key of the start (absent or null: none). */
  idempotencyKey?: string | null;
}

export const WORKFLOW_LIMITS = {
  steps: 100,
  needs: 100,
  stepIdChars: 64,
} as const;

/** A step id: letters, digits, `_` and `-` (no `.`: it separates the fields of a reference). */
export const STEP_ID_RE = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;

/** A run as the API returns it (GET /v1/workflow-runs/{id}); lists leave out input and output. */
export interface WorkflowRunView {
  id: string;
  workflow: string;
  workflowVersion: number;
  status: WorkflowRunStatus;
  steps: Record<string, { status: StepStatus; executionId: string | null; function: string; error?: StepError | null }>;
  failedStep: string | null;
  createdAt: string;
  finishedAt: string | null;
  idempotencyKey?: string | null;
  input?: unknown;
  output?: unknown;
}
