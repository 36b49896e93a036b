/**
 * Which of the worker's schedulers (`--scheduler a:50051,b:50051`) the next stream goes to. Only
 * the active scheduler listens (standbys do not), so a stream that ends, welcomed or not, moves
 * the agent on to the next address at once; only after every address has failed in a row does it
 * wait with backoff, so a list whose first entry is dead costs one refused connect, not a backoff
 * window. A Welcome starts the count again, so the scheduler in use is kept for as long as it
 * serves. With one address this is exactly one reconnect per backoff window, as before lists.
 *
 * One grpc-js channel per address, made on first use and kept (its connection and its own backoff
 * belong to that address); it never opens a stream, never sleeps and never decides what is resent:
 * the agent's Hello (`held`) reconciles in-flight work with whichever scheduler welcomes it.
 */
import type { Client } from '@grpc/grpc-js';
import type { TlsIdentity } from '../common/grpc-auth.js';
import { createSchedulerClient } from './stream-session.js';

export class SchedulerRotation {
  readonly #addresses: readonly string[];
  readonly #clients = new Map<string, Client>();
  readonly #reconnect: { baseMs: number; capMs: number };
  readonly #tls: TlsIdentity | null;
  #index = 0;
  /** Streams ended in a row without a Welcome (the one that was welcomed counts as the first). */
  #failedInRow = 0;

  constructor(addresses: readonly string[], reconnect: { baseMs: number; capMs: number }, tls: TlsIdentity | null) {
    if (addresses.length === 0) throw new Error('SchedulerRotation needs at least one address');
    this.#addresses = addresses;
    this.#reconnect = reconnect;
    this.#tls = tls;
  }

  /** The address the next stream goes to. */
  get address(): string {
    return this.#addresses[this.#index]!;
  }

  /** The channel of `address`. */
  client(): Client {
    const address = this.address;
    let client = this.#clients.get(address);
    if (!client) {
      client = createSchedulerClient(address, this.#reconnect, this.#tls);
      this.#clients.set(address, client);
    }
    return client;
  }

  /** The scheduler at `address` welcomed us: stay with it. */
  welcomed(): void {
    this.#failedInRow = 0;
  }

  /**
   * The stream at `address` ended (or could not be opened): moves to the next address. True when
   * every address has now failed in a row, and the agent should wait its backoff first.
   */
  ended(): boolean {
    this.#failedInRow++;
    this.#index = (this.#index + 1) % this.#addresses.length;
    return this.#failedInRow % this.#addresses.length === 0;
  }

  close(): void {
    for (const client of this.#clients.values()) client.close();
    this.#clients.clear();
  }
}
