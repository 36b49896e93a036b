import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../common/logger.js';
import type { Execution } from '../../common/records.js';
import { createFileStore } from './file-store.js';
import { createLayout } from './files/layout.js';
import { nodeStoreFs } from './files/store-fs.js';
import { readJournal } from './journal/journal-replay.js';
import { storeContract } from './store-contract.js';
import { createFaultFs } from './testing/fault-fs.js';

storeContract('file store', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'taskforge-contract-'));
  const fs = createFaultFs(nodeStoreFs);
  const layout = createLayout(dataDir);
  return {
    create: () => createFileStore({ dataDir, fs, groupCommitMs: 5 }),
    // What a restart would find: the execution files, overlaid by the journal's newer entries.
    async committedExecutions() {
      const replay = await readJournal({ layout, fs: nodeStoreFs, log: silentLogger });
      const dir = join(dataDir, 'executions');
      const byId = new Map<string, Execution | null>();
      for (const file of (await readdir(dir)).filter((f) => f.endsWith('.json'))) {
        const rec = JSON.parse(await readFile(join(dir, file), 'utf8')) as Execution;
        byId.set(rec.id, rec);
      }
      for (const [id, rec] of replay.executions) byId.set(id, rec);
      return [...byId.values()].filter((e): e is Execution => e !== null);
    },
    async breakCommits() {
      fs.fail({ op: 'sync', code: 'EIO', match: (p) => p.startsWith(join(dataDir, 'journal') + '/'), times: 1_000 });
      return async () => fs.clearFaults();
    },
    dispose: () => rm(dataDir, { recursive: true, force: true }),
  };
});
