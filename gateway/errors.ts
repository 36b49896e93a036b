/**
 * Every failure the gateway answers, in the one shape of docs/API.md:
 * `{ "error": { "code", "message", "details" } }`, where `details` is always an object with
 * `reason` (a short word; DEFAULT_REASON when the thrower gave none), `field` when one request
 * field is at fault (`body.timeoutMs`, `query.limit`, `params.name`, `headers.content-type`),
 * and the keys documented per code in docs/API.md ("Errors").
 *
 * Fastify's own errors (body too large, bad media type, bad URL, …) are translated here by
 * their `code`, never by message text. Anything unrecognised is a bug: it is logged with its
 * stack and answered 500 INTERNAL with a fixed message. This module must never put a stack
 * trace, a cause or an internal message into a response body.
 */
import type { Socket } from 'node:net';
import { STATUS_CODES } from 'node:http';
import type { FastifyBaseLogger, FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { TaskForgeError, type ErrorCode } from '../common/errors.js';
import type { RouteTable } from './route-table.js';

/**
 * The codes an HTTP answer may carry: every TaskForgeError code, plus the one only the HTTP
 * router can know (a path that exists without the method asked for).
 */
export type ApiErrorCode = ErrorCode | 'METHOD_NOT_ALLOWED';

export interface ErrorBody {
  error: { code: ApiErrorCode; message: string; details: Record<string, unknown> };
}

export interface HttpError {
  statusCode: number;
  headers: Record<string, string>;
  body: ErrorBody;
  /** True when this is a bug or an outage: logged at error level with the original error. */
  severe: boolean;
}

/** Codes whose answer tells the client to come back later. */
const RETRY_LATER: ReadonlySet<ErrorCode> = new Set(['QUEUE_FULL', 'RATE_LIMITED', 'CIRCUIT_OPEN', 'SCHEDULER_UNAVAILABLE', 'STORAGE_UNAVAILABLE']);
/** Seconds in `retry-after` when the scheduler does not suggest a value. */
const DEFAULT_RETRY_AFTER_S = 1;

/**
 * `details.reason` of an error whose thrower named none: the code's one cause, in lower case.
 * Codes with several causes say which in their reason (docs/API.md, "Errors").
 */
export const DEFAULT_REASON: Readonly<Record<ApiErrorCode, string>> = Object.freeze({
  VALIDATION_ERROR: 'invalid',
  INVALID_NAME: 'pattern',
  INVALID_CODE: 'invalid_code',
  UNAUTHORIZED: 'no_valid_key',
  FORBIDDEN: 'scope',
  FUNCTION_NOT_FOUND: 'not_found',
  EXECUTION_NOT_FOUND: 'not_found',
  NOT_FOUND: 'not_found',
  POOL_NOT_FOUND: 'not_found',
  POOL_NOT_CONNECTED: 'no_pool',
  POOL_AUTOSCALED: 'autoscaled',
  METHOD_NOT_ALLOWED: 'method',
  FUNCTION_EXISTS: 'exists',
  EXECUTION_FINISHED: 'finished',
  EXECUTION_NOT_FINISHED: 'not_finished',
  PAYLOAD_TOO_LARGE: 'too_large',
  IDEMPOTENCY_MISMATCH: 'mismatch',
  UNSUPPORTED_MEDIA_TYPE: 'media_type',
  QUEUE_FULL: 'queue_full',
  RATE_LIMITED: 'rate_limited',
  CIRCUIT_OPEN: 'circuit_open',
  INTERNAL: 'internal',
  SCHEDULER_UNAVAILABLE: 'unreachable',
  STORAGE_UNAVAILABLE: 'storage',
});

/**
 * The one details shape, whoever built the error (the gateway, or the scheduler through gRPC,
 * which may be an older version): an object, with a string `reason`; a VALIDATION_ERROR about
 * a field also lists it in `errors`. Never drops a key the thrower set.
 */
export function normalizeDetails(code: ApiErrorCode, message: string, details: unknown): Record<string, unknown> {
  const d: Record<string, unknown> =
    details !== null && typeof details === 'object' && !Array.isArray(details) ? { ...(details as Record<string, unknown>) } : {};
  if (typeof d.reason !== 'string' || d.reason.length === 0) d.reason = DEFAULT_REASON[code];
  if (d.field !== undefined && typeof d.field !== 'string') delete d.field;
  if (code === 'VALIDATION_ERROR' && !Array.isArray(d.errors)) {
    d.errors = typeof d.field === 'string' ? [{ field: d.field, reason: d.reason, message }] : [];
  }
  return d;
}

/** Runs a check whose failure is about request field `field` (a name in a path, a body, a query). */
export function atField<T>(field: string, check: () => T): T {
  try {
    return check();
  } catch (err) {
    if (err instanceof TaskForgeError) throw new TaskForgeError(err.code, err.message, { field, ...err.details }, { cause: err });
    throw err;
  }
}

interface KnownFastifyError {
  code: ErrorCode;
  message: string;
  details: Record<string, unknown>;
}

/** Fastify error codes we answer deliberately, with the API code, a stable message and details. */
const FASTIFY_ERRORS: Record<string, KnownFastifyError> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { code: 'PAYLOAD_TOO_LARGE', message: 'request body is too large', details: { field: 'body', reason: 'too_large' } },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: {
    code: 'UNSUPPORTED_MEDIA_TYPE',
    message: 'content-type must be application/json',
    details: { field: 'headers.content-type', reason: 'media_type' },
  },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: {
    code: 'VALIDATION_ERROR',
    message: 'content-length does not match the body',
    details: { field: 'headers.content-length', reason: 'mismatch' },
  },
  FST_ERR_CTP_EMPTY_JSON_BODY: { code: 'VALIDATION_ERROR', message: 'body must not be empty', details: { field: 'body', reason: 'required' } },
  FST_ERR_CTP_INVALID_JSON_BODY: { code: 'VALIDATION_ERROR', message: 'body is not valid JSON', details: { field: 'body', reason: 'invalid_json' } },
  FST_ERR_BAD_URL: { code: 'VALIDATION_ERROR', message: 'malformed URL', details: { reason: 'malformed_url' } },
  // Path parameters are names and ids, which are short: an over-long one is simply not a name.
  FST_ERR_MAX_PARAM_LENGTH: { code: 'INVALID_NAME', message: 'name or id is too long', details: { reason: 'too_long' } },
};

/** Fallback by HTTP status for other client errors Fastify raises. */
const CODE_FOR_STATUS: Record<number, ErrorCode> = {
  404: 'NOT_FOUND',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
};

function retryAfterSeconds(details: Record<string, unknown>): string {
  const s = details.retryAfterSeconds;
  return String(typeof s === 'number' && Number.isFinite(s) && s >= 1 ? Math.ceil(s) : DEFAULT_RETRY_AFTER_S);
}

const make = (code: ApiErrorCode, statusCode: number, message: string, details: Record<string, unknown> = {}): HttpError => ({
  statusCode,
  headers: {},
  body: { error: { code, message, details: normalizeDetails(code, message, details) } },
  severe: statusCode >= 500,
});

function fromTaskForgeError(err: TaskForgeError): HttpError {
  const e = make(err.code, err.statusCode, err.message, err.details);
  if (RETRY_LATER.has(err.code)) e.headers['retry-after'] = retryAfterSeconds(err.details);
  return e;
}

/** The answer for any thrown value. Pure, so the mapping can be pinned by tests. */
export function toHttpError(err: unknown, limits: { bodyLimit?: number } = {}): HttpError {
  if (err instanceof TaskForgeError) return fromTaskForgeError(err);
  const fe = err as Partial<FastifyError> | null;
  const known = typeof fe?.code === 'string' ? FASTIFY_ERRORS[fe.code] : undefined;
  if (known) {
    const details = known.code === 'PAYLOAD_TOO_LARGE' && limits.bodyLimit !== undefined ? { ...known.details, limitBytes: limits.bodyLimit } : known.details;
    const status = known.code === 'INVALID_NAME' || known.code === 'VALIDATION_ERROR' ? 400 : (fe!.statusCode ?? 400);
    return make(known.code, status, known.message, details);
  }
  const status = typeof fe?.statusCode === 'number' ? fe.statusCode : 500;
  if (status >= 400 && status < 500) {
    // A client error Fastify raised that has no entry above; say what HTTP says, never its text.
    const code = CODE_FOR_STATUS[status] ?? 'VALIDATION_ERROR';
    return make(code, code === 'VALIDATION_ERROR' ? 400 : status, STATUS_CODES[status]?.toLowerCase() ?? 'bad request', { reason: 'bad_request' });
  }
  return make('INTERNAL', 500, 'internal error');
}

function send(reply: FastifyReply, e: HttpError): FastifyReply {
  return reply.code(e.statusCode).headers(e.headers).type('application/json; charset=utf-8').send(e.body);
}

function logFailure(log: FastifyBaseLogger, err: unknown, e: HttpError): void {
  const { code } = e.body.error;
  // A bug gets its stack in the log; an outage (503) is one warn line per request, not a trace.
  if (code === 'INTERNAL') log.error({ err, code, statusCode: e.statusCode }, 'request failed');
  else if (e.severe) log.warn({ code, statusCode: e.statusCode, reason: e.body.error.message }, 'request failed');
  else log.debug({ code, statusCode: e.statusCode }, 'request rejected');
}

/** The answer for a request no route matched: 405 when its path has other methods, else 404. */
export function noRouteError(method: string, url: string, routes: RouteTable): HttpError {
  const path = url.split('?')[0]!;
  const route = `${method} ${path.slice(0, 200)}`;
  const allow = routes.methodsOf(path).filter((m) => m !== method);
  if (allow.length === 0) return make('NOT_FOUND', 404, `route ${route} does not exist`, { reason: 'no_route', method });
  const e = make('METHOD_NOT_ALLOWED', 405, `route ${route} does not exist; this path allows ${allow.join(', ')}`, { reason: 'method', method, allow });
  e.headers.allow = allow.join(', ');
  return e;
}

/** Error handler, not-found handler: installed once on the root instance, inherited by every route. */
export function installErrorHandlers(app: FastifyInstance, routes: RouteTable): void {
  app.setErrorHandler((err: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const e = toHttpError(err, { bodyLimit: request.routeOptions.bodyLimit });
    logFailure(request.log, err, e);
    return send(reply, e);
  });
  // Unknown path and known path with a method it does not have both land here; the route
  // table tells them apart (404 NOT_FOUND, 405 METHOD_NOT_ALLOWED with `allow`).
  app.setNotFoundHandler((request, reply) => send(reply, noRouteError(request.method, request.url, routes)));
}

/** Fastify's `frameworkErrors` option: errors raised before routing (bad URL, over-long param). */
export function frameworkErrorHandler(err: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const e = toHttpError(err);
  logFailure(request.log, err, e);
  void send(reply, e);
}

/**
 * Fastify's `clientErrorHandler` option: the socket sent something that is not HTTP. There is
 * no request to reply to, so the answer is written to the socket by hand, still in our shape.
 */
export function clientErrorHandler(err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, code, message, details]: [number, ErrorCode, string, Record<string, unknown>] =
    err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? [408, 'VALIDATION_ERROR', 'request not received in time', { reason: 'timeout' }]
      : err.code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'PAYLOAD_TOO_LARGE', 'request headers are too large', { field: 'headers', reason: 'too_large' }]
        : [400, 'VALIDATION_ERROR', 'malformed HTTP request', { reason: 'malformed_request' }];
  const body = JSON.stringify({ error: { code, message, details: normalizeDetails(code, message, details) } });
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nconnection: close\r\ncontent-type: application/json; charset=utf-8\r\n` +
        `content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}
