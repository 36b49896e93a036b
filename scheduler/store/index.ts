/**
 * The scheduler's storage: the Store interface, its embedded JSON-file implementation and the
 * API key file. The rest of the scheduler imports from here; the folders behind it are parts:
 * `files/` (writing and syncing files), `journal/` (the write-ahead journal and checkpoints),
 * `load/` (reading the data directory back at start) and `testing/` (test scaffolding only).
 */
export type { LoadedState, Store, StoredFunction } from './types.js';
export {
  createFileStore,
  resolveFileStoreOptions,
  storageUnavailable,
  FILE_STORE_DEFAULTS,
  type FileStoreOptions,
  type ResolvedFileStoreOptions,
} from './file-store.js';
export { createKeyFile, KeyFileError, ADMIN_KEY_FILE, KEYS_FILE, type KeyFile, type StoredKey } from './key-file.js';
export { writeFileAtomic, type AtomicWriteOptions } from './files/atomic-write.js';
export { errnoCode, nodeStoreFs, type StoreFs, type StoreFileHandle } from './files/store-fs.js';
