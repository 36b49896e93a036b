/**
 * Names and ids: the only strings that ever become parts of file paths. Everything that
 * reaches the store has passed one of these checks; nothing else may build a path.
 */
import { TaskForgeError } from './errors.js';

export const FUNCTION_NAME_RE = /^[a-z][a-z0-9-]{0,62}$/;
export const EXECUTION_ID_RE = /^[A-Za-z0-9_-]{1,64}$/;
export const ENV_KEY_RE = /^[A-Z_][A-Z0-9_]*$/;
export const HANDLER_RE = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
/** docs/TOPICS.md: dots and dashes allowed (`orders.created`), never a path separator. */
export const TOPIC_NAME_RE = /^[a-z][a-z0-9.-]{0,127}$/;

export function isTopicName(name: unknown): name is string {
  return typeof name === 'string' && TOPIC_NAME_RE.test(name);
}

export function assertTopicName(name: unknown): asserts name is string {
  if (!isTopicName(name)) {
    throw new TaskForgeError('INVALID_NAME', `invalid topic name: must match ${TOPIC_NAME_RE.source}`, {
      reason: 'pattern',
      name: typeof name === 'string' ? name.slice(0, 140) : null,
    });
  }
}

export function isFunctionName(name: unknown): name is string {
  return typeof name === 'string' && FUNCTION_NAME_RE.test(name);
}

export function isExecutionId(id: unknown): id is string {
  return typeof id === 'string' && EXECUTION_ID_RE.test(id);
}

export function assertFunctionName(name: unknown): asserts name is string {
  if (!isFunctionName(name)) {
    throw new TaskForgeError('INVALID_NAME', `invalid function name: must match ${FUNCTION_NAME_RE.source}`, {
      reason: 'pattern',
      name: typeof name === 'string' ? name.slice(0, 100) : null,
    });
  }
}

export function assertExecutionId(id: unknown): asserts id is string {
  if (!isExecutionId(id)) {
    throw new TaskForgeError('INVALID_NAME', `invalid execution id: must match ${EXECUTION_ID_RE.source}`, {
      reason: 'pattern',
      id: typeof id === 'string' ? id.slice(0, 100) : null,
    });
  }
}

/** Workflow names follow the function-name rule (they become file names the same way). */
export function assertWorkflowName(name: unknown): asserts name is string {
  if (!isFunctionName(name)) {
    throw new TaskForgeError('INVALID_NAME', `invalid workflow name: must match ${FUNCTION_NAME_RE.source}`, {
      reason: 'pattern',
      name: typeof name === 'string' ? name.slice(0, 100) : null,
    });
  }
}
