/**
 * One WorkerService.Connect stream: opens the call, sends Hello, waits (bounded) for Welcome,
 * hands every later SchedulerMessage to the agent, and owns the per-stream code cache
 * (`name@version` → code), which dies with the stream because the scheduler only omits code it
 * sent on this same stream. It never reconnects, never runs anything, and never outlives its call:
 * `done` resolves exactly once, after the call is finished on this side.
 */
import * as grpc from '@grpc/grpc-js';
import { clientTransport, type TlsIdentity } from '../common/grpc-auth.js';
import { CLIENT_CHANNEL_OPTIONS } from '../common/grpc-options.js';
import type { Logger } from '../common/logger.js';
import { REASON } from '../common/logger.js';
import { WorkerServiceService, type SchedulerMessage, type Welcome, type WorkerMessage } from '../proto/gen/taskforge/v1/worker.js';

/** Keepalive finds a dead scheduler within ~15 s; retries are ours (with backoff), not grpc-js's. */
export const CHANNEL_OPTIONS: Readonly<grpc.ChannelOptions> = CLIENT_CHANNEL_OPTIONS;

/**
 * The channel's own reconnect backoff is aligned with the agent's: left at grpc-js's defaults
 * (1 s growing to 120 s) it would fail our calls fast while it waits, stretching a 5 s cap to minutes.
 */
export function createSchedulerClient(address: string, reconnect: { baseMs: number; capMs: number }, tls: TlsIdentity | null = null): grpc.Client {
  const transport = clientTransport(address, tls);
  return new grpc.Client(address, transport.credentials, {
    ...CHANNEL_OPTIONS,
    ...transport.options,
    'grpc.initial_reconnect_backoff_ms': reconnect.baseMs,
    'grpc.max_reconnect_backoff_ms': reconnect.capMs,
  });
}

/** How a session ended; `code` is the call's gRPC status (UNAUTHENTICATED, ALREADY_EXISTS, …) when it had one. */
export type SessionEnd = { welcomed: boolean; reason: 'error' | 'ended' | 'welcome_timeout' | 'closed'; detail?: string; code?: grpc.status };

export interface StreamSessionOptions {
  client: grpc.Client;
  /** Call metadata (the join token). */
  metadata?: grpc.Metadata;
  hello: WorkerMessage;
  welcomeTimeoutMs: number;
  logger: Logger;
  /** Called once, when the Welcome arrives; the session is `ready` from then on. */
  onWelcome: (welcome: Welcome, session: StreamSession) => void;
  /** Every message after the Welcome (Execute, Cancel, Drain). */
  onMessage: (msg: SchedulerMessage, session: StreamSession) => void;
}

let nextSessionId = 1;

export class StreamSession {
  /** Local number for logs; not sent anywhere. */
  readonly id = nextSessionId++;
  readonly codeCache = new Map<string, string>();
  readonly done: Promise<SessionEnd>;
  readonly #call: grpc.ClientDuplexStream<WorkerMessage, SchedulerMessage>;
  readonly #log: Logger;
  #welcomed = false;
  #finished = false;
  /** Set once our side is half-closed; writing after that is an error in the stream. */
  #halfClosed = false;
  #endReason: SessionEnd['reason'] | null = null;
  #welcomeTimer: NodeJS.Timeout | null;
  #resolveDone!: (end: SessionEnd) => void;

  constructor(opts: StreamSessionOptions) {
    this.#log = opts.logger;
    this.done = new Promise((resolve) => (this.#resolveDone = resolve));
    const method = WorkerServiceService.connect;
    this.#call = opts.client.makeBidiStreamRequest(method.path, method.requestSerialize, method.responseDeserialize, opts.metadata ?? new grpc.Metadata(), {});

    this.#call.on('data', (msg: SchedulerMessage) => {
      if (this.#finished) return;
      if (msg.msg?.$case === 'welcome') {
        if (this.#welcomed) {
          this.#log.warn({ session: this.id }, 'second Welcome on one stream ignored');
          return;
        }
        this.#welcomed = true;
        this.#clearWelcomeTimer();
        opts.onWelcome(msg.msg.value, this);
        return;
      }
      opts.onMessage(msg, this);
    });
    // 'error' carries a non-OK status; 'status' comes for every finished call. Either ends the session.
    this.#call.on('error', (err: grpc.ServiceError) => this.#finish(this.#endReason ?? 'error', err.details || err.message, err.code));
    this.#call.on('status', (status: grpc.StatusObject) => this.#finish(this.#endReason ?? 'ended', status.details, status.code));
    this.#call.on('end', () => {
      // The scheduler closed its side; close ours too so the call completes and frees the stream.
      if (this.#finished || this.#halfClosed) return;
      this.#halfClosed = true;
      this.#call.end();
    });

    this.#welcomeTimer = setTimeout(() => {
      this.#welcomeTimer = null;
      if (this.#welcomed || this.#finished) return;
      this.#log.warn({ session: this.id, timeoutMs: opts.welcomeTimeoutMs }, 'no Welcome in time; abandoning stream');
      this.#endReason = 'welcome_timeout';
      this.#call.cancel();
    }, opts.welcomeTimeoutMs);
    this.#welcomeTimer.unref();

    this.#call.write(opts.hello);
  }

  /** True between Welcome and the end of the call: only then may Started/Log/Result/Heartbeat go out. */
  get ready(): boolean {
    return this.#welcomed && !this.#finished && !this.#halfClosed;
  }

  get welcomed(): boolean {
    return this.#welcomed;
  }

  /** Writes one message; false when the call is already over (the caller keeps the message). */
  write(msg: WorkerMessage): boolean {
    if (this.#finished || this.#halfClosed) return false;
    // A false return from write() is only backpressure; grpc-js still queues the message.
    this.#call.write(msg);
    return true;
  }

  /**
   * Half-closes after everything written so far, then waits for the scheduler to finish the call;
   * cancels it when the scheduler does not within `waitMs`.
   */
  async end(waitMs: number): Promise<SessionEnd> {
    if (!this.#finished) {
      this.#endReason = 'closed';
      if (!this.#halfClosed) {
        this.#halfClosed = true;
        this.#call.end();
      }
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), waitMs);
        timer.unref();
      });
      const first = await Promise.race([this.done, timedOut]);
      clearTimeout(timer);
      if (first === 'timeout') this.cancel();
    }
    return this.done;
  }

  /** Drops the call at once (RST_STREAM); queued writes may be lost. */
  cancel(): void {
    if (this.#finished) return;
    this.#endReason ??= 'closed';
    this.#call.cancel();
  }

  #finish(reason: SessionEnd['reason'], detail?: string, code?: grpc.status): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#clearWelcomeTimer();
    this.codeCache.clear();
    this.#log.info({ session: this.id, reason: REASON.streamClosed, cause: reason, detail, code }, 'scheduler stream ended');
    this.#resolveDone({ welcomed: this.#welcomed, reason, detail, ...(code !== undefined ? { code } : {}) });
  }

  #clearWelcomeTimer(): void {
    if (this.#welcomeTimer) clearTimeout(this.#welcomeTimer);
    this.#welcomeTimer = null;
  }
}
