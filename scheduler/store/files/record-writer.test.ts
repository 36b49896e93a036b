/**
 * A dropped write (a durable put the journal refused) must leave its file to the acknowledged
 * copy it replaced, whether it was dropped while staged (cancel) or while being written.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../common/logger.js';
import { RecordWriter } from './record-writer.js';
import { nodeStoreFs } from './store-fs.js';

const yes = (): Promise<boolean> => Promise.resolve(true);

describe('record writer: dropped writes', () => {
  let dir: string;
  let writer: RecordWriter;
  const path = (): string => join(dir, 'e1.json');

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'taskforge-writer-'));
    // No timer flush during a test: every write happens at an explicit flush().
    writer = new RecordWriter({ fs: nodeStoreFs, log: silentLogger, groupCommitMs: 60_000, writeConcurrency: 2 });
  });
  afterEach(async () => {
    writer.stopTimer();
    await rm(dir, { recursive: true, force: true });
  });

  it('writes the copy a cancelled one replaced', async () => {
    writer.stage(path(), 'acknowledged\n', yes, { mayDrop: true });
    const seq = writer.stage(path(), 'refused\n', () => Promise.resolve(false), { mayDrop: true });
    writer.cancel(path(), seq);
    expect(writer.pending(path())).toEqual(expect.objectContaining({ data: 'acknowledged\n' }));
    await writer.flush();
    expect(await readFile(path(), 'utf8')).toBe('acknowledged\n');
  });

  it('writes the copy a write refused while being written replaced, skipping refused ones between', async () => {
    let refuse!: (ok: boolean) => void;
    const journal = new Promise<boolean>((r) => (refuse = r));
    writer.stage(path(), 'acknowledged\n', yes, { mayDrop: true });
    writer.stage(path(), 'refused too\n', () => Promise.resolve(false), { mayDrop: true });
    writer.stage(path(), 'refused later\n', () => journal, { mayDrop: true });
    const flushed = writer.flush();
    // The flush has taken the newest copy and waits for its journal entry; the journal refuses it.
    refuse(false);
    await flushed;
    expect(await readFile(path(), 'utf8')).toBe('acknowledged\n');
  });

  it('keeps nothing behind a write that cannot be dropped', async () => {
    writer.stage(path(), 'older\n', yes);
    writer.stage(path(), 'newer\n', yes);
    writer.stage(path(), 'refused\n', () => Promise.resolve(false), { mayDrop: true });
    await writer.flush();
    // The refused copy replaced "newer", which is written; "older" was never needed.
    expect(await readFile(path(), 'utf8')).toBe('newer\n');
  });
});
