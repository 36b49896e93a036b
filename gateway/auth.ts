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
import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { KEY_MAX_LENGTH, parseApiKey, type Principal } from '../common/api-keys.js';
import { TaskForgeError } from '../common/errors.js';
import { allows, mayUseFunction, scopesGranting, type Access } from './access.js';
import type { Authenticator } from './authenticator.js';
import type { ControlClient } from './control-client.js';
import { SIGV4_WINDOW_MS } from '../common/sigv4.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** What the route needs of a key (access.ts); routes that declare nothing are admin-only. */
    access?: Access;
    /**
     * The route also takes AWS SigV4 (`authorization: AWS4-HMAC-SHA256 …`): checked once the
     * body is read (the signature covers its hash) by authenticateSigV4, in the route's preHandler.
     */
    sigv4?: boolean;
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

const SIGV4_SCHEME = 'AWS4-HMAC-SHA256 ';
/** Longest SigV4 authorization header read; a longer one is refused unread. */
const SIGV4_MAX_HEADER = 2048;
const SIGV4_RE =
  /^AWS4-HMAC-SHA256 Credential=(tfk_[A-Za-z0-9]{12})\/(\d{8}\/[a-z0-9-]{1,32}\/[a-z0-9-]{1,32}\/aws4_request), ?SignedHeaders=([a-z0-9-]{1,64}(?:;[a-z0-9-]{1,64}){0,31}), ?Signature=([0-9a-f]{64})$/;
const AMZ_DATE_RE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;
export const isSigV4 = (header: unknown): boolean => typeof header === 'string' && header.startsWith(SIGV4_SCHEME);

export interface SigV4Parts {
  accessKeyId: string;
  credentialScope: string;
  signedHeaders: string;
  signature: string;
  amzDate: string;
  /** The signed headers' values. */
  headers: Record<string, string>;
}

/** Why a SigV4 request is refused; each says what to fix, none which part of a key was wrong. */
export const SIGV4_REFUSALS = {
  malformed: 'a valid API key is required: authorization: Bearer <key>, or AWS SigV4 with tfk_<id> as access key id and the secret as secret key',
  signature: 'the request signature does not match: check the access key id (tfk_<id>) and secret key (the key after its last "_")',
  expired: 'signature expired: x-amz-date must be within 15 minutes of the server time',
  no_signing_secret:
    'this key was made before keys could sign requests (only a digest of its secret is stored): create a new key to sign with SigV4, or send this one as authorization: Bearer <key>',
} as const;
export type SigV4Refusal = keyof typeof SIGV4_REFUSALS;

export const sigV4Unauthorized = (reason: SigV4Refusal): TaskForgeError => new TaskForgeError('UNAUTHORIZED', SIGV4_REFUSALS[reason], { reason });

/**
 * The parts of a SigV4 authorization header, with every signed header present and host signed,
 * and x-amz-date within the window; or why not. Bounded: a length check and one regular expression.
 */
export function parseSigV4(headers: Readonly<Record<string, string | string[] | undefined>>, now: number): SigV4Parts | { refused: SigV4Refusal } {
  const header = headers.authorization;
  if (typeof header !== 'string' || header.length > SIGV4_MAX_HEADER) return { refused: 'malformed' };
  const m = SIGV4_RE.exec(header.trim());
  if (!m) return { refused: 'malformed' };
  const [, accessKeyId, credentialScope, signedHeaders, signature] = m as unknown as [string, string, string, string, string];
  const amzDate = headers['x-amz-date'];
  const d = typeof amzDate === 'string' ? AMZ_DATE_RE.exec(amzDate) : null;
  if (!d || typeof amzDate !== 'string') return { refused: 'malformed' };
  const at = Date.UTC(+d[1]!, +d[2]! - 1, +d[3]!, +d[4]!, +d[5]!, +d[6]!);
  if (!Number.isFinite(at) || Math.abs(now - at) > SIGV4_WINDOW_MS) return { refused: 'expired' };
  const names = signedHeaders.split(';');
  if (!names.includes('host') || !names.includes('x-amz-date')) return { refused: 'malformed' };
  const values: Record<string, string> = {};
  for (const n of names) {
    const v = headers[n];
    if (typeof v !== 'string') return { refused: 'malformed' };
    values[n] = v;
  }
  return { accessKeyId, credentialScope, signedHeaders, signature, amzDate, headers: values };
}

/**
 * The SigV4 half of authenticateRequest, for a route with `sigv4` once its body is read: the
 * scheduler signs the request again (never cached: a signature is per request), then the same
 * scope and function checks as a Bearer key.
 */
export async function authenticateSigV4(request: FastifyRequest, control: Pick<ControlClient, 'verifySignature'>, body: Buffer): Promise<void> {
  if (request.principal) return;
  const parts = parseSigV4(request.headers, Date.now());
  if ('refused' in parts) throw sigV4Unauthorized(parts.refused);
  const payloadHash = createHash('sha256').update(body).digest('hex');
  const sent = request.headers['x-amz-content-sha256'];
  // A body changed on the way no longer matches the hash that was signed.
  if (sent !== undefined && sent !== payloadHash) throw sigV4Unauthorized('signature');
  const q = request.url.indexOf('?');
  const check = await control.verifySignature({
    accessKeyId: parts.accessKeyId,
    method: request.method,
    path: q < 0 ? request.url : request.url.slice(0, q),
    query: q < 0 ? '' : request.url.slice(q + 1),
    headers: parts.headers,
    signedHeaders: parts.signedHeaders,
    credentialScope: parts.credentialScope,
    amzDate: parts.amzDate,
    payloadHash,
    signature: parts.signature,
  });
  if ('refused' in check) throw sigV4Unauthorized(check.refused);
  request.principal = check.principal;
  const access = request.routeOptions.config?.access;
  if (!allows(check.principal, access)) throw forbidden({ reason: 'scope', scopes: scopesGranting(access) });
  checkPathFunction(request);
}

/** Sets request.principal or throws 401/403 by the route's declared access. */
export async function authenticateRequest(request: FastifyRequest, reply: FastifyReply, auth: Authenticator | 'off'): Promise<void> {
  const access = request.routeOptions.config?.access;
  if (access === 'open') return;
  if (auth === 'off') {
    request.principal = NO_AUTH_PRINCIPAL;
    return;
  }
  // Deferred to the route's preHandler: the signature covers the body, not read yet.
  if (request.routeOptions.config?.sigv4 === true && isSigV4(request.headers.authorization)) return;
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
