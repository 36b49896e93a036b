/**
 * A real gRPC server playing the scheduler's side of WorkerService.Connect, for agent tests.
 * It records every stream and message, answers Hello with a Welcome the test may script, and lets
 * the test send Execute/Cancel/Drain or end a stream. It holds no scheduling logic at all.
 */
import * as grpc from '@grpc/grpc-js';
import { WorkerServiceService, type Hello, type SchedulerMessage, type Welcome, type WorkerMessage } from '../../proto/gen/taskforge/v1/worker.js';

type Case = NonNullable<WorkerMessage['msg']>['$case'];
type ValueOf<K extends Case> = Extract<NonNullable<WorkerMessage['msg']>, { $case: K }>['value'];

export class SchedulerStream {
  readonly messages: WorkerMessage[] = [];
  readonly closed: Promise<void>;
  isClosed = false;
  readonly #call: grpc.ServerDuplexStream<WorkerMessage, SchedulerMessage>;
  #listeners = new Set<() => void>();

  constructor(
    readonly index: number,
    call: grpc.ServerDuplexStream<WorkerMessage, SchedulerMessage>,
    onClosed: () => void,
  ) {
    this.#call = call;
    let markClosed!: () => void;
    this.closed = new Promise((resolve) => (markClosed = resolve));
    const close = (): void => {
      if (this.isClosed) return;
      this.isClosed = true;
      onClosed();
      markClosed();
      this.#notify();
    };
    call.on('data', (msg: WorkerMessage) => {
      this.messages.push(msg);
      this.#notify();
    });
    // The worker half-closed: finish the call from our side, as the real scheduler does.
    call.on('end', () => {
      call.end();
      close();
    });
    call.on('cancelled', close);
    call.on('error', close);
    call.on('close', close);
  }

  send(msg: SchedulerMessage['msg']): void {
    this.#call.write({ msg });
  }

  /** The scheduler ends the stream (OK status). */
  end(): void {
    this.#call.end();
  }

  all<K extends Case>(kind: K): ValueOf<K>[] {
    return this.messages.filter((m) => m.msg?.$case === kind).map((m) => m.msg!.value as ValueOf<K>);
  }

  /** The first message of a kind matching `pred`, waiting for it when it has not arrived yet. */
  async waitFor<K extends Case>(kind: K, pred: (v: ValueOf<K>) => boolean = () => true, timeoutMs = 5000): Promise<ValueOf<K>> {
    const found = (): ValueOf<K> | undefined => this.all(kind).find(pred);
    return waitUntil(found, this.#listeners, timeoutMs, `no ${kind} on stream ${this.index}`);
  }

  #notify(): void {
    for (const l of [...this.#listeners]) l();
  }
}

export interface ScriptedSchedulerOptions {
  /** The Welcome for a Hello; return null to never answer. Default: interval 1000, no kills. */
  welcome?: (hello: Hello, stream: SchedulerStream) => Partial<Welcome> | null;
}

export class ScriptedScheduler {
  readonly streams: SchedulerStream[] = [];
  openStreams = 0;
  maxOpenStreams = 0;
  readonly #server: grpc.Server;
  readonly #listeners = new Set<() => void>();
  readonly #opts: ScriptedSchedulerOptions;
  port = 0;

  private constructor(opts: ScriptedSchedulerOptions) {
    this.#opts = opts;
    this.#server = new grpc.Server();
    this.#server.addService(WorkerServiceService, {
      connect: (call: grpc.ServerDuplexStream<WorkerMessage, SchedulerMessage>) => this.#onConnect(call),
    });
  }

  static async start(opts: ScriptedSchedulerOptions = {}, port = 0): Promise<ScriptedScheduler> {
    const s = new ScriptedScheduler(opts);
    s.port = await new Promise<number>((resolve, reject) =>
      s.#server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
    );
    return s;
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** The n-th stream (0-based), waiting for the worker to open it. */
  stream(n: number, timeoutMs = 5000): Promise<SchedulerStream> {
    return waitUntil(() => this.streams[n], this.#listeners, timeoutMs, `stream ${n} never opened`);
  }

  async close(): Promise<void> {
    this.#server.forceShutdown();
  }

  #onConnect(call: grpc.ServerDuplexStream<WorkerMessage, SchedulerMessage>): void {
    this.openStreams += 1;
    this.maxOpenStreams = Math.max(this.maxOpenStreams, this.openStreams);
    const stream = new SchedulerStream(this.streams.length, call, () => {
      this.openStreams -= 1;
    });
    this.streams.push(stream);
    let welcomed = false;
    call.on('data', (msg: WorkerMessage) => {
      if (welcomed || msg.msg?.$case !== 'hello') return;
      welcomed = true;
      const hello = msg.msg.value;
      const scripted = this.#opts.welcome ? this.#opts.welcome(hello, stream) : {};
      if (scripted === null) return;
      stream.send({ $case: 'welcome', value: { workerId: hello.workerId, heartbeatIntervalMs: 1000, kill: [], ...scripted } });
    });
    for (const l of [...this.#listeners]) l();
  }
}

function waitUntil<T>(probe: () => T | undefined, listeners: Set<() => void>, timeoutMs: number, what: string): Promise<T> {
  const now = probe();
  if (now !== undefined) return Promise.resolve(now);
  return new Promise((resolve, reject) => {
    const check = (): void => {
      const v = probe();
      if (v === undefined) return;
      cleanup();
      resolve(v);
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`${what} within ${timeoutMs} ms`));
    }, timeoutMs);
    const cleanup = (): void => {
      clearTimeout(timer);
      listeners.delete(check);
    };
    listeners.add(check);
  });
}
