/** The body of a deploy (`PUT /v1/functions/{name}`) from a form and the version it replaces. */
import type { FunctionInfo } from './types.js';

export interface DeployForm {
  code: string;
  handler: string;
  timeoutMs: string;
  description: string;
}

export type SpecBody = Record<string, unknown> & { code: string };

/** Settings a new version keeps from the one before unless the form changes them. */
const KEPT = ['memoryMb', 'maxRetries', 'concurrency', 'maxQueueMs'] as const;

/**
 * The spec to send: the form's fields, and every other setting of `previous` (a PUT replaces the
 * whole spec, so what is not sent would go back to its default). Env values hidden from this key
 * (null) cannot be sent back, so env is then left out and the caller told.
 */
export function specBody(form: DeployForm, previous: FunctionInfo | null): { body: SpecBody; envDropped: boolean } {
  const body: SpecBody = { code: form.code };
  if (form.handler.trim()) body.handler = form.handler.trim();
  if (form.timeoutMs.trim()) body.timeoutMs = Number(form.timeoutMs);
  if (form.description) body.description = form.description;
  let envDropped = false;
  if (previous) {
    for (const k of KEPT) if (previous[k] !== undefined) body[k] = previous[k];
    const env = previous.env ?? {};
    if (Object.values(env).every((v) => typeof v === 'string')) {
      if (Object.keys(env).length > 0) body.env = env;
    } else envDropped = true;
  }
  return { body, envDropped };
}

export const EXAMPLE_CODE = `export default async (event, context) => {
  console.log('hello from', context.functionName);
  return { hello: event?.name ?? 'world' };
};
`;
