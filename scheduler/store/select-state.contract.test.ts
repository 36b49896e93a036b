import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { silentLogger } from '../../common/logger.js';
import { createStateAt } from './select-state.js';
import { stateContract } from './testing/state-contract.js';

// The files in --data-dir: "the same storage" is the same data dir.
stateContract('files in --data-dir', () =>
  Promise.resolve({
    open: (dataDir: string) => createStateAt({ kind: 'file', dir: dataDir }, dataDir, silentLogger),
    keysAtRest: (dataDir: string) => readFile(join(dataDir, 'keys.json'), 'utf8'),
    dispose: () => Promise.resolve(),
  }),
);
