/**
 * Where deliveries are kept: one JSON file per delivery in `<data-dir>/deliveries/`, named by
 * its execution id, each written atomically and fsynced (atomic-write.ts) before the attempt
 * it announces. A file that does not parse is moved aside to `quarantine/` at start, like the
 * store's own records. The memory store is for unit tests.
 */
import { join } from 'node:path';
import { isExecutionId } from '../../common/names.js';
import { isTempFileName, writeFileAtomic } from '../store/files/atomic-write.js';
import { nodeStoreFs, type StoreFs } from '../store/files/store-fs.js';
import { DELIVERY_STATUSES, type Delivery } from './types.js';

export interface DeliveryStore {
  /** Every stored delivery; files that do not parse are quarantined and named in `quarantined`. */
  load(): Promise<{ deliveries: Delivery[]; quarantined: string[] }>;
  /** Resolves once the record is durable. */
  put(d: Delivery): Promise<void>;
  delete(executionId: string): Promise<void>;
}

/** Whether `v` has a stored delivery's shape (every backend checks what it loads with this). */
export const isStoredDelivery = (v: unknown): v is Delivery => {
  const d = v as Partial<Delivery> | null;
  return (
    !!d &&
    typeof d === 'object' &&
    typeof d.id === 'string' &&
    isExecutionId(d.executionId) &&
    typeof d.function === 'string' &&
    (DELIVERY_STATUSES as readonly string[]).includes(d.status ?? '') &&
    Array.isArray(d.attempts) &&
    !!d.destination
  );
};

export function createFileDeliveryStore(dataDir: string, fs: StoreFs = nodeStoreFs): DeliveryStore {
  const dir = join(dataDir, 'deliveries');
  const file = (executionId: string): string => join(dir, `${executionId}.json`);
  return {
    async load() {
      await fs.mkdir(dir, { recursive: true });
      const deliveries: Delivery[] = [];
      const quarantined: string[] = [];
      for (const name of await fs.readdir(dir)) {
        const path = join(dir, name);
        if (isTempFileName(name)) {
          await fs.unlink(path).catch(() => undefined);
          continue;
        }
        if (!name.endsWith('.json')) continue;
        let parsed: unknown;
        try {
          parsed = JSON.parse(await fs.readFile(path, 'utf8'));
        } catch {
          parsed = undefined;
        }
        if (isStoredDelivery(parsed) && `${parsed.executionId}.json` === name) {
          // Never stored as delivering, but a file from a newer writer could say so: due again.
          deliveries.push(parsed.status === 'delivering' ? { ...parsed, status: 'pending' } : parsed);
          continue;
        }
        await fs.mkdir(join(dataDir, 'quarantine'), { recursive: true });
        await fs.rename(path, join(dataDir, 'quarantine', `deliveries-${name}`)).catch(() => undefined);
        quarantined.push(name);
      }
      return { deliveries, quarantined };
    },
    async put(d) {
      await writeFileAtomic(file(d.executionId), JSON.stringify(d), { fsync: true, fs });
    },
    async delete(executionId) {
      await fs.unlink(file(executionId)).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
      });
    },
  };
}

export function createMemoryDeliveryStore(): DeliveryStore & { readonly records: Map<string, Delivery> } {
  const records = new Map<string, Delivery>();
  return {
    records,
    load: () => Promise.resolve({ deliveries: [...records.values()].map((d) => structuredClone(d)), quarantined: [] }),
    put: (d) => {
      records.set(d.executionId, structuredClone(d));
      return Promise.resolve();
    },
    delete: (id) => {
      records.delete(id);
      return Promise.resolve();
    },
  };
}
