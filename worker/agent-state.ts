/**
 * The agent's lifecycle states and the only transitions allowed between them.
 * `running` means the connect loop is active, whether or not a stream is currently open.
 * An illegal transition throws: it is a bug, never a runtime condition to recover from.
 */

/** idle → starting → running → draining → closed (idle → closed when closed before start). */
export type AgentState = 'idle' | 'starting' | 'running' | 'draining' | 'closed';

const TRANSITIONS: Record<AgentState, readonly AgentState[]> = {
  idle: ['starting', 'closed'],
  starting: ['running', 'draining'],
  running: ['draining'],
  draining: ['closed'],
  closed: [],
};

export function assertTransition(from: AgentState, to: AgentState): void {
  if (!TRANSITIONS[from].includes(to)) throw new Error(`worker agent cannot go from ${from} to ${to}`);
}

/** States in which the worker takes no new executions. */
export const isDraining = (s: AgentState): boolean => s === 'draining' || s === 'closed';
