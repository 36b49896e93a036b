/**
 * The pool's stream to the scheduler (PoolService.Connect, proto/PROTOCOL.md "Pools"): it says
 * who the pool is, keeps the scheduler told of its state, answers scale requests with the
 * handler it is given, and hands load reports to the autoscaler. When the stream ends or cannot
 * be opened it tries again after a capped, jittered backoff, at the next address of the
 * `--scheduler` list (a standby scheduler does not listen; the active one does). It never
 * changes the pool itself: the handlers do.
 */
import * as grpc from '@grpc/grpc-js';
import { authMetadata, clientTransport, type TlsIdentity } from '../../common/grpc-auth.js';
import { CLIENT_CHANNEL_OPTIONS } from '../../common/grpc-options.js';
import type { Logger } from '../../common/logger.js';
import {
  PoolServiceService,
  type LoadReport,
  type PoolCommand,
  type PoolMessage,
  type PoolState,
  type ScaleResult,
} from '../../proto/gen/taskforge/v1/pool.js';
import { Backoff } from '../../worker/backoff.js';

export interface PoolLinkOptions {
  /** `host:port[,host:port…]`. */
  scheduler: string;
  joinToken: string;
  tls: TlsIdentity | null;
  name: string;
  host: string;
  state: () => PoolState;
  /** A scale request: answers the result (error code empty when accepted). */
  onScale: (workers: number) => Omit<ScaleResult, 'requestId'>;
  onLoad: (load: LoadReport) => void;
  log: Logger;
  reconnectBaseMs?: number;
  reconnectCapMs?: number;
}

export const parseAddresses = (list: string): string[] =>
  list
    .split(',')
    .map((a) => a.trim())
    .filter((a) => a !== '');

export class PoolLink {
  readonly #opts: PoolLinkOptions;
  readonly #addresses: string[];
  readonly #backoff: Backoff;
  #at = 0;
  #client: grpc.Client | null = null;
  #call: grpc.ClientDuplexStream<PoolMessage, PoolCommand> | null = null;
  #welcomed = false;
  #timer: NodeJS.Timeout | null = null;
  #closed = false;

  constructor(opts: PoolLinkOptions) {
    this.#opts = opts;
    this.#addresses = parseAddresses(opts.scheduler);
    if (this.#addresses.length === 0) throw new Error('--scheduler names no address');
    this.#backoff = new Backoff({ baseMs: opts.reconnectBaseMs ?? 200, capMs: opts.reconnectCapMs ?? 5_000 });
  }

  /** Welcomed by a scheduler now. */
  get connected(): boolean {
    return this.#welcomed;
  }

  start(): void {
    this.#connect();
  }

  /** Tells the scheduler the pool's state now (no-op while not connected: the next Hello carries it). */
  sendState(): void {
    if (this.#welcomed) this.#call?.write({ msg: { $case: 'state', value: this.#opts.state() } });
  }

  close(): void {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#call?.cancel();
    this.#client?.close();
  }

  #connect(): void {
    if (this.#closed) return;
    const address = this.#addresses[this.#at % this.#addresses.length]!;
    const transport = clientTransport(address, this.#opts.tls);
    this.#client?.close();
    const client = new grpc.Client(address, transport.credentials, { ...CLIENT_CHANNEL_OPTIONS, ...transport.options });
    this.#client = client;
    const m = PoolServiceService.connect;
    const call = client.makeBidiStreamRequest(m.path, m.requestSerialize, m.responseDeserialize, authMetadata(this.#opts.joinToken), {});
    this.#call = call;
    this.#welcomed = false;
    let ended = false;
    const end = (detail: string): void => {
      if (ended) return;
      ended = true;
      const was = this.#welcomed;
      this.#welcomed = false;
      if (this.#call === call) this.#call = null;
      if (this.#closed) return;
      this.#at += 1;
      const delay = this.#backoff.next();
      this.#opts.log[was ? 'warn' : 'debug']({ scheduler: address, detail, retryInMs: delay }, 'pool stream ended; reconnecting');
      // Not unref'd: a pool of 0 workers has nothing else keeping it alive while it waits.
      this.#timer = setTimeout(() => this.#connect(), delay);
    };
    call.on('data', (cmd: PoolCommand) => this.#onCommand(call, address, cmd));
    call.on('error', (err: grpc.ServiceError) => end(err.details || err.message));
    call.on('status', (s: grpc.StatusObject) => end(s.details));
    call.on('end', () => end('ended'));
    call.write({ msg: { $case: 'hello', value: { name: this.#opts.name, host: this.#opts.host, state: this.#opts.state() } } });
  }

  #onCommand(call: grpc.ClientDuplexStream<PoolMessage, PoolCommand>, address: string, cmd: PoolCommand): void {
    const m = cmd.msg;
    if (!m || call !== this.#call) return;
    switch (m.$case) {
      case 'welcome':
        this.#welcomed = true;
        this.#backoff.reset();
        this.#opts.log.info({ scheduler: address, pool: this.#opts.name }, 'pool connected');
        return;
      case 'scale': {
        const result = this.#opts.onScale(m.value.workers);
        call.write({ msg: { $case: 'scaleResult', value: { ...result, requestId: m.value.requestId } } });
        return;
      }
      case 'load':
        this.#opts.onLoad(m.value);
        return;
    }
  }
}
