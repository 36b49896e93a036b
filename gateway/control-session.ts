/**
 * One long-lived ControlService.Session stream per gateway, carrying invokes and execution
 * reads tagged with request ids. A unary gRPC call costs ~0.4 ms and tops out near 5k calls/s
 * here; messages on one open stream cost a fraction of that.
 *
 * The stream is opened on first use and again after it fails. When it fails, every request
 * still waiting on it is rejected with SCHEDULER_UNAVAILABLE (the same outcome as a unary call
 * whose connection dropped); each request also has its own deadline. It never retries a request:
 * an invoke may already have been accepted.
 */
import { Metadata, status, type Client, type ClientDuplexStream } from '@grpc/grpc-js';
import { TaskForgeError, isErrorCode } from '../common/errors.js';
import { fromGrpcError } from '../common/grpc-errors.js';
import { markHop } from '../common/diagnostics.js';
import { ControlServiceService, type SessionRequest, type SessionResponse } from '../proto/gen/taskforge/v1/control.js';

type Call = NonNullable<SessionRequest['call']>;
type Result = NonNullable<SessionResponse['result']>;

interface Pending {
  resolve: (r: Result) => void;
  reject: (e: TaskForgeError) => void;
  timer: NodeJS.Timeout;
}

/** The cause of a request's own deadline passing: what a DEADLINE_EXCEEDED call would carry. */
export const DEADLINE_PASSED = Object.freeze({ code: status.DEADLINE_EXCEEDED, details: 'no answer before the deadline' });

const unavailable = (why: string, cause?: unknown): TaskForgeError =>
  new TaskForgeError('SCHEDULER_UNAVAILABLE', `the scheduler is not reachable (${why})`, {}, { cause });

export class ControlSession {
  private stream: ClientDuplexStream<SessionRequest, SessionResponse> | null = null;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closed = false;

  constructor(
    private readonly client: Client,
    private readonly hooks: {
      /** Metadata of the stream (the control token). */
      metadata?: () => Metadata;
      /** Sees the error the stream failed with. */
      observe?: (err: unknown) => void;
      /** Called when the scheduler answers on the stream. */
      answered?: () => void;
    } = {},
  ) {}

  request(call: Call, timeoutMs: number): Promise<Result> {
    if (this.closed) return Promise.reject(unavailable('the gateway is closing'));
    const stream = this.stream ?? this.open();
    const requestId = this.nextId++;
    return new Promise<Result>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(requestId);
        // The scheduler is slow, not gone: the cause says so, and the failover client does not move on.
        reject(unavailable('no answer before the deadline', DEADLINE_PASSED));
      }, timeoutMs);
      this.pending.set(requestId, { resolve, reject, timer });
      stream.write({ requestId, call });
      markHop('G2 gateway session write');
    });
  }

  get inFlight(): number {
    return this.pending.size;
  }

  close(): void {
    this.closed = true;
    this.fail(unavailable('the gateway is closing'));
    this.stream?.cancel();
    this.stream = null;
  }

  private open(): ClientDuplexStream<SessionRequest, SessionResponse> {
    const def = ControlServiceService.session;
    const stream = this.client.makeBidiStreamRequest(def.path, def.requestSerialize, def.responseDeserialize, this.hooks.metadata?.() ?? new Metadata(), {});
    this.stream = stream;
    stream.on('data', (res: SessionResponse) => {
      this.hooks.answered?.();
      const p = this.pending.get(res.requestId);
      if (!p) return; // its deadline already answered the caller
      this.pending.delete(res.requestId);
      clearTimeout(p.timer);
      const r = res.result;
      if (!r) p.reject(new TaskForgeError('INTERNAL', 'empty session reply from the scheduler'));
      else if (r.$case === 'error') p.reject(toError(r.value));
      else p.resolve(r);
    });
    const gone = (err?: unknown): void => {
      if (this.stream !== stream) return;
      this.stream = null;
      if (err) this.hooks.observe?.(err);
      this.fail(err ? fromGrpcError(err) : unavailable('session ended'));
    };
    stream.on('error', gone);
    stream.on('end', () => gone());
    return stream;
  }

  private fail(err: TaskForgeError): void {
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      this.pending.delete(id);
      p.reject(err.code === 'SCHEDULER_UNAVAILABLE' || err.code === 'INTERNAL' ? unavailable('session failed', err) : err);
    }
  }
}

function toError(e: { code: string; message: string; detailsJson: string }): TaskForgeError {
  if (!isErrorCode(e.code)) return new TaskForgeError('INTERNAL', 'internal error');
  let details: Record<string, unknown> = {};
  try {
    const parsed = e.detailsJson ? (JSON.parse(e.detailsJson) as unknown) : {};
    if (parsed && typeof parsed === 'object') details = parsed as Record<string, unknown>;
  } catch {
    // keep empty details
  }
  return new TaskForgeError(e.code, e.message, details);
}
