/**
 * What each key scope allows (docs/API.md, "Authentication and keys"). Every route declares its
 * `access` in its Fastify config; this table says which scopes grant it. Pure, so the whole
 * matrix is pinned by a table test.
 *
 * Fail closed: a route that declares nothing is for unrestricted admin keys only, so a route
 * added later (`/2015-03-31/…`) is never open by omission. A key limited to some
 * functions never gets what is about every function (the cluster's workers, stats and metrics, keys).
 */
import { KEY_SCOPES, type KeyScope, type Principal } from '../common/api-keys.js';

export const ACCESS = [
  /** No key needed: the probes, the API's own description. */
  'open',
  'functions:write',
  'functions:read',
  'invoke',
  /** Publishing to a topic: it starts executions of whichever functions subscribe. */
  'topics:publish',
  'executions:read',
  'executions:cancel',
  'cluster:read',
  /** Change the cluster's size (POST /v1/workers/scale): admin keys only. */
  'cluster:scale',
  'keys',
  /** Define and delete workflows. */
  'workflows:write',
  /** Read workflows and their runs. */
  'workflows:read',
  /** Start and cancel workflow runs. */
  'workflows:run',
] as const;
export type Access = (typeof ACCESS)[number];

const READ: readonly Access[] = ['functions:read', 'executions:read', 'cluster:read', 'workflows:read'];

export const SCOPE_GRANTS: Readonly<Record<KeyScope, ReadonlySet<Access>>> = Object.freeze({
  admin: new Set<Access>(ACCESS.filter((a) => a !== 'open')),
  deploy: new Set<Access>(['functions:write', 'workflows:write', ...READ]),
  // Reading functions lets an invoker see what it calls (timeout, version), with env values hidden.
  invoke: new Set<Access>(['invoke', 'topics:publish', 'executions:cancel', 'executions:read', 'functions:read', 'workflows:run', 'workflows:read']),
  read: new Set<Access>(READ),
});

/** The scopes that grant `access`, in KEY_SCOPES order (undefined: admin only, unrestricted). */
export const scopesGranting = (access: Access | undefined): KeyScope[] =>
  access === undefined ? ['admin'] : KEY_SCOPES.filter((s) => SCOPE_GRANTS[s].has(access));

/**
 * Accesses about every function at once: never for a key limited to some. A publish is one of
 * them: its subscribers are not the publisher's choice, so a limit to functions cannot bound
 * what it starts (docs/TOPICS.md, "Who may publish").
 */
const UNRESTRICTED_ONLY: ReadonlySet<Access> = new Set(['cluster:read', 'cluster:scale', 'keys', 'topics:publish']);

const isUnrestrictedAdmin = (p: Principal): boolean => p.functions === null && p.scopes.includes('admin');

/** Whether `p` may use a route declaring `access` (undefined: declared nothing → admin only). */
export function allows(p: Principal, access: Access | undefined): boolean {
  if (access === 'open') return true;
  if (access === undefined) return isUnrestrictedAdmin(p);
  if (p.functions !== null && UNRESTRICTED_ONLY.has(access)) return false;
  return p.scopes.some((s) => SCOPE_GRANTS[s].has(access));
}

/** Whether `p` may touch function `name` (and its executions). */
export const mayUseFunction = (p: Principal, name: string): boolean => p.functions === null || p.functions.includes(name);

/** Whether `p` may touch a workflow (or a run of it) whose steps call `functions`: all of them must be its. */
export const mayUseFunctions = (p: Principal, functions: Iterable<string>): boolean => {
  if (p.functions === null) return true;
  for (const f of functions) if (!p.functions.includes(f)) return false;
  return true;
};

/** Function `env` values are for the keys that can set them. */
export const maySeeEnv = (p: Principal): boolean => p.scopes.includes('admin') || p.scopes.includes('deploy');
