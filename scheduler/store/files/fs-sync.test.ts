import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { memoryLog } from '../../../test/helpers/memory-log.js';
import { createFileSystemSyncer } from './fs-sync.js';

describe('createFileSystemSyncer', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fs-sync-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it.runIf(process.platform === 'linux')('syncs the file systems of the given directories with `sync -f`', async () => {
    const { logger } = memoryLog();
    await expect(createFileSystemSyncer({ log: logger })([dir, tmpdir()])).resolves.toBe(true);
  });

  it('says false, once warned, and stops trying when the command does not exist', async () => {
    const { logger, lines } = memoryLog();
    const sync = createFileSystemSyncer({ log: logger, command: join(dir, 'no-such-sync'), platform: 'linux' });
    await expect(sync([dir])).resolves.toBe(false);
    await expect(sync([dir])).resolves.toBe(false);
    expect(lines.filter((l) => l.msg === 'no sync command: checkpoints fsync each file instead')).toHaveLength(1);
  });

  it('says false for a sync that fails, and tries again next time', async () => {
    const { logger, lines } = memoryLog();
    // `false` ignores its arguments and exits 1, like a sync that hit a write-back error.
    const sync = createFileSystemSyncer({ log: logger, command: 'false', platform: 'linux' });
    await expect(sync([dir])).resolves.toBe(false);
    await expect(sync([dir])).resolves.toBe(false);
    expect(lines.filter((l) => l.msg === 'sync -f failed: this checkpoint fsyncs each file')).toHaveLength(2);
  });

  it('says false without running anything off Linux or with nothing to sync', async () => {
    const { logger, lines } = memoryLog();
    await expect(createFileSystemSyncer({ log: logger, command: 'false', platform: 'darwin' })([dir])).resolves.toBe(false);
    await expect(createFileSystemSyncer({ log: logger, command: 'false', platform: 'linux' })([])).resolves.toBe(false);
    expect(lines).toEqual([]);
  });
});
