/**
 * Authentication and authorisation of every request, in the gateway's onRequest hook, before
 * its body is read: `authorization: Bearer tfk_<id>_<secret>` is checked with the scheduler
 * (through a 1 s cache, authenticator.ts), then the key's scopes against the route's declared
 * `access` (access.ts), then, once names in the path are checked, a function-limited key against
 * the function in the path.
 *
 * Answers: no, malformed or unknown key → 401 UNAUTHORIZED; a key that may not do this → 403
 * FORBIDDEN. The messages are fixed: they never say which part of a key was wrong, and a header
 * value of any length or content is refused by a length check and one bounded regular
 * expression, without asking the scheduler. Being on loopback earns nothing: with auth on, every
 * request needs a key. With auth off (`--no-auth`, loopback only, main.ts) every request acts as
 * an unrestricted admin.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { KEY_MAX_LENGTH, parseApiKey, type Principal } from '../common/api-keys.js';
import { TaskForgeError } from '../common/errors.js';
import { allows, mayUseFunction, scopesGranting, type Access } from './access.js';
import type { Authenticator } from './authenticator.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** What the route needs of a key (access.ts); routes that declare nothing are admin-only. */
    access?: Access;
  }
  interface FastifyRequest {
    /** The checked key of this request; null on open routes. */
    principal: Principal | null;
  }
}

/** `auth: 'off'`: every request is this principal. */
export const NO_AUTH_PRINCIPAL: Principal = Object.freeze({
  id: 'no-auth',
  name: 'auth is off',
  scopes: Object.freeze(['admin'] as const),
  functions: null,
});

const SCHEME = 'bearer ';
/** Longest authorization header that can hold a key; anything longer is refused unread. */
const MAX_HEADER = SCHEME.length + KEY_MAX_LENGTH;

/** The key of a well-formed `Bearer` header, or null. The scheme is case-insensitive (RFC 9110). */
export function bearerKey(header: unknown): string | null {
  // + 2: HTTP's optional blanks around a value, which Node strips but an injected request may carry.
  if (typeof header !== 'string' || header.length > MAX_HEADER + 2) return null;
  const value = header.trim();
  if (value.length <= SCHEME.length || value.slice(0, SCHEME.length).toLowerCase() !== SCHEME) return null;
  const key = value.slice(SCHEME.length);
  return parseApiKey(key) ? key : null;
}

/** One reason for every refused key: which part of it was wrong is never said. */
export const unauthorized = (): TaskForgeError =>
  new TaskForgeError('UNAUTHORIZED', 'a valid API key is required: authorization: Bearer <key>', { reason: 'no_valid_key' });

/**
 * `reason: 'scope'` with the scopes that would allow the route, or `reason: 'function'` with the
 * request field naming a function the key is not limited to. The key is the caller's own.
 */
export const forbidden = (details: { reason: 'scope'; scopes: readonly string[] } | { reason: 'function'; field: string }): TaskForgeError =>
  new TaskForgeError('FORBIDDEN', 'this API key does not allow this request', details);

/** Sets request.principal or throws 401/403 by the route's declared access. */
export async function authenticateRequest(request: FastifyRequest, reply: FastifyReply, auth: Authenticator | 'off'): Promise<void> {
  const access = request.routeOptions.config?.access;
  if (access === 'open') return;
  if (auth === 'off') {
    request.principal = NO_AUTH_PRINCIPAL;
    return;
  }
  const key = bearerKey(request.headers.authorization);
  const principal = key === null ? null : await auth.authenticate(key);
  if (principal === null) {
    reply.header('www-authenticate', 'Bearer realm="taskforge"');
    throw unauthorized();
  }
  request.principal = principal;
  // Any key may learn that a route does not exist; which routes exist is in the public contract.
  if (request.is404) return;
  if (!allows(principal, access)) throw forbidden({ reason: 'scope', scopes: scopesGranting(access) });
}

/** A function-limited key may name only its functions in a path (run after the name is checked). */
export function checkPathFunction(request: FastifyRequest): void {
  const p = request.principal;
  const name = (request.params as Record<string, unknown> | undefined)?.name;
  if (p && typeof name === 'string' && !mayUseFunction(p, name)) throw forbidden({ reason: 'function', field: 'params.name' });
}

/** The principal of a request that passed authenticateRequest on a route that is not open. */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new TaskForgeError('INTERNAL', 'route without a principal');
  return request.principal;
}
