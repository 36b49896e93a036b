/**
 * Where the scheduler keeps its state beside the records — API keys, the control-plane token
 * digests, cron state, deliveries — chosen by the same `--store` (store-url.ts): files in
 * --data-dir for the file store (as always), the database for PostgreSQL, so a second scheduler
 * on that database (a standby taking over) sees the same state. The token files and admin.key
 * are files in --data-dir either way, written by the scheduler that made them.
 *
 * The PostgreSQL parts and their driver are loaded only when asked for, like the store's.
 */
import type { Logger } from '../../common/logger.js';
import { createFileDigests, type CredentialDigests } from '../credentials.js';
import { createFileDeliveryStore, type DeliveryStore } from '../delivery/store.js';
import { createCronStateFile, type CronStateFile } from './cron-state-file.js';
import { createKeyFile, type KeyFile } from './key-file.js';
import type { LeaderLease } from './postgres/leader-lease.js';
import type { StoreLocation } from './store-url.js';

export interface SchedulerStateStores {
  keys: KeyFile;
  digests: CredentialDigests;
  cron: CronStateFile;
  deliveries: DeliveryStore;
  /**
   * Runs `work` (the reading or making of keys and tokens at start) while no other scheduler on
   * the same storage does: two first starts on one database make their admin key and tokens on one host.
   */
  exclusiveStart<T>(work: () => Promise<T>): Promise<T>;
  /** Ends the database connections, if any. Idempotent. */
  close(): Promise<void>;
}

/** `dataDir` is --data-dir (not a file store's own dir: keys and tokens have always lived there). */
export async function createStateAt(
  location: StoreLocation,
  dataDir: string,
  log: Logger,
  /** PostgreSQL: the record store's leader lease, which fences these writes too. */
  lease?: LeaderLease | null,
): Promise<SchedulerStateStores> {
  if (location.kind === 'file') {
    return {
      keys: createKeyFile(dataDir),
      digests: createFileDigests(dataDir),
      cron: createCronStateFile(dataDir, log),
      deliveries: createFileDeliveryStore(dataDir),
      // One data dir has one scheduler.
      exclusiveStart: (work) => work(),
      close: () => Promise.resolve(),
    };
  }
  const { openStateDatabase } = await import('./postgres/state-db.js');
  const { createPostgresKeyFile } = await import('./postgres/state-keys.js');
  const { createPostgresDigests } = await import('./postgres/state-credentials.js');
  const { createPostgresCronState } = await import('./postgres/state-cron.js');
  const { createPostgresDeliveryStore } = await import('./postgres/state-deliveries.js');
  const db = await openStateDatabase({ url: location.url, log, ...(lease ? { fence: (client) => lease.fence(client) } : {}) });
  let closing: Promise<void> | null = null;
  return {
    keys: createPostgresKeyFile(db, dataDir),
    digests: createPostgresDigests(db),
    cron: createPostgresCronState(db, log),
    deliveries: createPostgresDeliveryStore(db),
    exclusiveStart: (work) => db.exclusiveStart(work),
    close: () => (closing ??= db.close()),
  };
}
