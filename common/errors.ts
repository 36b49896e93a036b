/**
 * The one error type of TaskForge. Every failure a user can cause is a TaskForgeError whose
 * `code` is one of the API's error codes and whose `statusCode` is the HTTP status it maps to.
 * It travels from scheduler to gateway inside gRPC status metadata (see toGrpcMetadata /
 * fromGrpcError) so the gateway never has to guess from message text.
 */
export const ERROR_STATUS = {
  VALIDATION_ERROR: 400,
  INVALID_NAME: 400,
  INVALID_CODE: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  FUNCTION_NOT_FOUND: 404,
  EXECUTION_NOT_FOUND: 404,
  NOT_FOUND: 404,
  /** A scale request named a pool that is not connected. */
  POOL_NOT_FOUND: 404,
  FUNCTION_EXISTS: 409,
  EXECUTION_FINISHED: 409,
  EXECUTION_NOT_FINISHED: 409,
  /** A scale request with no pool supervisor connected (or it went away before answering). */
  POOL_NOT_CONNECTED: 409,
  /** A manual scale request to a pool whose own autoscaler sets its size. */
  POOL_AUTOSCALED: 409,
  PAYLOAD_TOO_LARGE: 413,
  IDEMPOTENCY_MISMATCH: 422,
  UNSUPPORTED_MEDIA_TYPE: 415,
  QUEUE_FULL: 429,
  RATE_LIMITED: 429,
  CIRCUIT_OPEN: 503,
  INTERNAL: 500,
  SCHEDULER_UNAVAILABLE: 503,
  STORAGE_UNAVAILABLE: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(ERROR_STATUS, value);
}

export class TaskForgeError extends Error {
  readonly code: ErrorCode;
  readonly statusCode: number;
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, details: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TaskForgeError';
    this.code = code;
    this.statusCode = ERROR_STATUS[code];
    this.details = details;
  }

  toJSON(): { error: { code: ErrorCode; message: string; details: Record<string, unknown> } } {
    return { error: { code: this.code, message: this.message, details: this.details } };
  }
}

export const functionNotFound = (name: string): TaskForgeError =>
  new TaskForgeError('FUNCTION_NOT_FOUND', `function '${name}' does not exist`, { reason: 'not_found', name });

export const executionNotFound = (id: string): TaskForgeError =>
  new TaskForgeError('EXECUTION_NOT_FOUND', `execution '${id}' does not exist`, { reason: 'not_found', id });
