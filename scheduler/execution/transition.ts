/**
 * The execution state machine: the one place that changes an execution's status.
 *
 *   queued → running → succeeded | failed | timed_out | cancelled
 *   running → queued            (attempt lost or failed with retries left)
 *   queued  → failed | cancelled (expired, function deleted, cancelled before it ran)
 *
 * Terminal states have no way out. An illegal transition throws: it is a bug, never a
 * user error, and silently accepting it is how executions end twice.
 */
import { type Execution, type ExecutionStatus } from '../common/records.js';

const LEGAL: Readonly<Record<ExecutionStatus, readonly ExecutionStatus[]>> = {
  queued: ['running', 'failed', 'cancelled'],
  running: ['succeeded', 'failed', 'timed_out', 'cancelled', 'queued'],
  succeeded: [],
  failed: [],
  timed_out: [],
  cancelled: [],
};

export class IllegalTransitionError extends Error {
  constructor(
    readonly executionId: string,
    readonly from: ExecutionStatus,
    readonly to: ExecutionStatus,
  ) {
    super(`illegal transition of ${executionId}: ${from} → ${to}`);
    this.name = 'IllegalTransitionError';
  }
}

export function canTransition(from: ExecutionStatus, to: ExecutionStatus): boolean {
  return LEGAL[from].includes(to);
}

export type TransitionPatch = Partial<Omit<Execution, 'id' | 'status' | 'function' | 'version' | 'createdAt' | 'mode' | 'input'>>;

/** Moves `execution` to `to`, applying `patch`; mutates and returns the same object. */
export function transition(execution: Execution, to: ExecutionStatus, patch: TransitionPatch = {}): Execution {
  if (!canTransition(execution.status, to)) throw new IllegalTransitionError(execution.id, execution.status, to);
  Object.assign(execution, patch);
  execution.status = to;
  // error is meaningful only in failed / timed_out / cancelled.
  if (to === 'succeeded' || to === 'queued' || to === 'running') execution.error = null;
  return execution;
}
