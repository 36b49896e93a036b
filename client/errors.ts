/**
 * The client's one error: TaskForgeApiError. An answer in the API's error shape
 * (`{ error: { code, message, details } }`) keeps its status, code, message and details as they
 * came; the cases where the API said nothing get codes of their own, so callers branch on `code`
 * alone: NETWORK_ERROR (no answer at all, status 0) and BAD_RESPONSE (an answer that is not the API's).
 */
import type { ErrorCode } from '../common/errors.js';

/** The API's codes, plus the two for a missing or foreign answer; open to codes a newer server adds. */
export type ApiErrorCode = ErrorCode | 'NETWORK_ERROR' | 'BAD_RESPONSE' | (string & {});

export class TaskForgeApiError extends Error {
  override name = 'TaskForgeApiError';
  /** HTTP status; 0 when no answer came. */
  readonly status: number;
  readonly code: ApiErrorCode;
  readonly details: Record<string, unknown>;
  /** `retry-after` in ms when the server sent one (429, 503). */
  readonly retryAfterMs: number | null;

  constructor(
    status: number,
    code: ApiErrorCode,
    message: string,
    opts: { details?: Record<string, unknown>; retryAfterMs?: number | null; cause?: unknown } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.status = status;
    this.code = code;
    this.details = opts.details ?? {};
    this.retryAfterMs = opts.retryAfterMs ?? null;
  }
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The error an answer carries: its own shape when it has it, else BAD_RESPONSE naming the status. */
export function errorFromAnswer(status: number, body: unknown, retryAfterMs: number | null): TaskForgeApiError {
  const e = isRecord(body) ? body.error : undefined;
  if (isRecord(e) && typeof e.code === 'string' && typeof e.message === 'string') {
    return new TaskForgeApiError(status, e.code, e.message, { details: isRecord(e.details) ? e.details : {}, retryAfterMs });
  }
  return new TaskForgeApiError(status, 'BAD_RESPONSE', `HTTP ${status} without the API's error shape`, { retryAfterMs });
}

/** No answer: the connection failed (refused, reset, DNS, TLS) — with the system's reason when known. */
export function networkError(url: string, err: unknown): TaskForgeApiError {
  const cause = (err as { cause?: { code?: unknown; message?: unknown } } | null)?.cause;
  const reason = typeof cause?.code === 'string' ? cause.code : typeof cause?.message === 'string' ? cause.message : (err as Error)?.message;
  return new TaskForgeApiError(0, 'NETWORK_ERROR', `cannot reach ${url}${reason ? ` (${String(reason)})` : ''}`, { cause: err });
}

/** `retry-after` (seconds, or an HTTP date) in ms, or null. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | null {
  if (!value) return null;
  const secs = Number(value);
  if (Number.isFinite(secs) && secs >= 0) return secs * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}
