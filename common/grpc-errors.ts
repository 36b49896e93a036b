/**
 * Carries a TaskForgeError across gRPC: the scheduler attaches code, message and details as
 * status metadata; the gateway reads them back. Branching is on the code, never on text.
 */
import { Metadata, status as GrpcStatus, type ServiceError } from '@grpc/grpc-js';
import { TaskForgeError, isErrorCode, type ErrorCode } from './errors.js';

const META_KEY = 'tf-error-bin';

const GRPC_STATUS_FOR: Partial<Record<ErrorCode, GrpcStatus>> = {
  VALIDATION_ERROR: GrpcStatus.INVALID_ARGUMENT,
  INVALID_NAME: GrpcStatus.INVALID_ARGUMENT,
  INVALID_CODE: GrpcStatus.INVALID_ARGUMENT,
  FUNCTION_NOT_FOUND: GrpcStatus.NOT_FOUND,
  EXECUTION_NOT_FOUND: GrpcStatus.NOT_FOUND,
  NOT_FOUND: GrpcStatus.NOT_FOUND,
  FUNCTION_EXISTS: GrpcStatus.ALREADY_EXISTS,
  EXECUTION_FINISHED: GrpcStatus.FAILED_PRECONDITION,
  IDEMPOTENCY_MISMATCH: GrpcStatus.FAILED_PRECONDITION,
  PAYLOAD_TOO_LARGE: GrpcStatus.INVALID_ARGUMENT,
  QUEUE_FULL: GrpcStatus.RESOURCE_EXHAUSTED,
  RATE_LIMITED: GrpcStatus.RESOURCE_EXHAUSTED,
  STORAGE_UNAVAILABLE: GrpcStatus.UNAVAILABLE,
};

/** The error a gRPC handler passes to its callback for any thrown value. */
export function toGrpcError(err: unknown): Partial<ServiceError> {
  const tf = err instanceof TaskForgeError ? err : new TaskForgeError('INTERNAL', 'internal error');
  const metadata = new Metadata();
  metadata.set(META_KEY, Buffer.from(JSON.stringify({ code: tf.code, message: tf.message, details: tf.details })));
  return { code: GRPC_STATUS_FOR[tf.code] ?? GrpcStatus.INTERNAL, details: tf.message, metadata };
}

/** The TaskForgeError behind a failed gRPC call; transport failures become SCHEDULER_UNAVAILABLE. */
export function fromGrpcError(err: unknown): TaskForgeError {
  const se = err as Partial<ServiceError> | undefined;
  const raw = se?.metadata?.get(META_KEY)?.[0];
  if (raw) {
    try {
      const parsed = JSON.parse(Buffer.isBuffer(raw) ? raw.toString('utf8') : String(raw)) as {
        code: unknown;
        message: unknown;
        details: unknown;
      };
      if (isErrorCode(parsed.code)) {
        return new TaskForgeError(
          parsed.code,
          typeof parsed.message === 'string' ? parsed.message : parsed.code,
          parsed.details && typeof parsed.details === 'object' ? (parsed.details as Record<string, unknown>) : {},
        );
      }
    } catch {
      // fall through to the transport mapping
    }
  }
  // A scheduler that refuses this gateway's control token (or TLS identity) is, to an HTTP
  // client, one it cannot use: 503 like an outage, never 401 (that is about the client's own key).
  if (
    se?.code === GrpcStatus.UNAVAILABLE ||
    se?.code === GrpcStatus.DEADLINE_EXCEEDED ||
    se?.code === GrpcStatus.CANCELLED ||
    se?.code === GrpcStatus.UNAUTHENTICATED ||
    se?.code === GrpcStatus.PERMISSION_DENIED
  ) {
    return new TaskForgeError('SCHEDULER_UNAVAILABLE', 'the scheduler is not reachable', { reason: 'unreachable' }, { cause: err });
  }
  return new TaskForgeError('INTERNAL', 'internal error', { reason: 'internal' }, { cause: err });
}
