/**
 * A hand-driven worker for attack tests: a raw grpc-js WorkerService.Connect call to a real
 * scheduler, with whatever token, TLS identity and messages a test wants to send — including ones
 * a real agent never would (no token, someone else's worker id, a capacity of 5000, a forged
 * Result). It records everything the scheduler sends and the status the call ends with.
 */
import * as grpc from '@grpc/grpc-js';
import { WorkerServiceService, type Hello, type Result, type SchedulerMessage, type WorkerMessage } from '../../proto/gen/taskforge/v1/worker.js';

type Case = NonNullable<SchedulerMessage['msg']>['$case'];
type ValueOf<K extends Case> = Extract<NonNullable<SchedulerMessage['msg']>, { $case: K }>['value'];

export interface FakeWorkerOptions {
  /** Sent as `authorization: Bearer <token>`; none when absent. */
  token?: string;
  /** Raw `authorization` value, for malformed headers. */
  authorization?: string;
  /** Channel credentials; insecure when absent. */
  credentials?: grpc.ChannelCredentials;
  channelOptions?: grpc.ChannelOptions;
}

export function hello(workerId: string, over: Partial<Hello> = {}): Hello {
  return { workerId, name: workerId, capacity: 2, runtimes: ['nodejs'], held: [], agentVersion: 'fake', sandboxLevel: 'insecure', ...over };
}

export function okResult(executionId: string, lease: string, output: unknown): Result {
  const now = Date.now();
  return {
    executionId,
    lease,
    ok: true,
    outputJson: JSON.stringify(output),
    error: undefined,
    durationMs: 1,
    initMs: 0,
    coldStart: false,
    startedAtMs: now,
    finishedAtMs: now,
    cpuMs: 1,
  };
}

export class FakeWorker {
  readonly received: SchedulerMessage[] = [];
  /** Settles with the status the call ended with (never rejects). */
  readonly status: Promise<grpc.StatusObject>;
  readonly #client: grpc.Client;
  readonly #call: grpc.ClientDuplexStream<WorkerMessage, SchedulerMessage>;
  readonly #listeners = new Set<() => void>();
  ended = false;

  constructor(address: string, opts: FakeWorkerOptions = {}) {
    this.#client = new grpc.Client(address, opts.credentials ?? grpc.credentials.createInsecure(), opts.channelOptions ?? {});
    const metadata = new grpc.Metadata();
    const auth = opts.authorization ?? (opts.token !== undefined ? `Bearer ${opts.token}` : undefined);
    if (auth !== undefined) metadata.set('authorization', auth);
    const m = WorkerServiceService.connect;
    this.#call = this.#client.makeBidiStreamRequest(m.path, m.requestSerialize, m.responseDeserialize, metadata, {});
    this.#call.on('data', (msg: SchedulerMessage) => {
      this.received.push(msg);
      this.#notify();
    });
    this.#call.on('error', () => undefined);
    this.status = new Promise((resolve) =>
      this.#call.on('status', (s: grpc.StatusObject) => {
        this.ended = true;
        this.#notify();
        resolve(s);
      }),
    );
  }

  send(msg: WorkerMessage['msg']): void {
    if (!this.ended) this.#call.write({ msg });
  }

  sendHello(h: Hello): void {
    this.send({ $case: 'hello', value: h });
  }

  all<K extends Case>(kind: K): ValueOf<K>[] {
    return this.received.filter((m) => m.msg?.$case === kind).map((m) => m.msg!.value as ValueOf<K>);
  }

  /** The first message of `kind` (past or future); rejects after `ms` or when the call ends without one. */
  waitFor<K extends Case>(kind: K, ms = 5000): Promise<ValueOf<K>> {
    return this.#waitUntil(() => this.all(kind).find(() => true), ms, kind);
  }

  #waitUntil<T>(probe: () => T | undefined, ms: number, what: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const check = (): void => {
        const found = probe();
        if (found !== undefined) finish(() => resolve(found));
        else if (this.ended) finish(() => reject(new Error(`call ended without a ${what}`)));
      };
      const timer = setTimeout(() => finish(() => reject(new Error(`no ${what} within ${ms} ms`))), ms);
      const finish = (then: () => void): void => {
        clearTimeout(timer);
        this.#listeners.delete(check);
        then();
      };
      this.#listeners.add(check);
      check();
    });
  }

  close(): void {
    this.#call.cancel();
    this.#client.close();
  }

  #notify(): void {
    for (const l of [...this.#listeners]) l();
  }
}
