/**
 * Makes the store `--store` names (store-url.ts). The PostgreSQL store and its driver are loaded
 * only when asked for, so a scheduler on the file store starts exactly as it did without them.
 */
import type { Logger } from '../../common/logger.js';
import { createFileStore } from './file-store.js';
import { redact, type StoreLocation } from './store-url.js';
import type { Store } from './types.js';

export interface StoreAtOptions {
  groupCommitMs: number;
  logger: Logger;
  /** PostgreSQL: this scheduler's name in the leader lease, and the lease's ttl (ms). */
  lease?: { holder: string; ttlMs: number };
}

export async function createStoreAt(location: StoreLocation, opts: StoreAtOptions): Promise<Store> {
  if (location.kind === 'file') return createFileStore({ dataDir: location.dir, groupCommitMs: opts.groupCommitMs, logger: opts.logger });
  const { createPostgresStore } = await import('./postgres/postgres-store.js');
  opts.logger.info({ store: redact(location.url) }, 'store: PostgreSQL');
  // Not the file store's groupCommitMs: there it only delays file rewrites (the journal makes
  // changes durable), here the lazy commit is what makes them durable, so it keeps its own few ms.
  return createPostgresStore({ url: location.url, logger: opts.logger, ...(opts.lease ? { lease: opts.lease } : {}) });
}
