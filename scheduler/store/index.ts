/** The scheduler's storage: the Store interface and its embedded JSON-file implementation. */
export type { LoadedState, Store, StoredFunction } from './types.js';
export {
  createFileStore,
  resolveFileStoreOptions,
  FILE_STORE_DEFAULTS,
  type FileStoreOptions,
  type ResolvedFileStoreOptions,
} from './file-store.js';
export { writeFileAtomic, type AtomicWriteOptions } from './atomic-write.js';
export { nodeStoreFs, type StoreFs, type StoreFileHandle } from './store-fs.js';
