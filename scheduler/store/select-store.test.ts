import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../common/logger.js';
import { createStoreAt } from './select-store.js';
import { parseStoreUrl } from './store-url.js';
import type { Store } from './types.js';

describe('the store --store selects', () => {
  let dir: string | undefined;
  let store: Store | undefined;
  afterEach(async () => {
    await store?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
    store = undefined;
    dir = undefined;
  });

  it('file:<dir> is the file store in that directory, not in --data-dir', async () => {
    dir = await mkdtemp(join(tmpdir(), 'taskforge-select-'));
    store = await createStoreAt(parseStoreUrl(`file:${dir}/records`, join(dir, 'data')), { groupCommitMs: 5, logger: silentLogger });
    await store.open();
    await store.putFunction({ name: 'hello', versions: [] });
    expect(await readdir(join(dir, 'records', 'functions'))).toEqual(['hello.json']);
    expect(await readdir(dir)).toEqual(['records']);
  });

  it('a PostgreSQL URL is the PostgreSQL store: opening it on a closed port fails with STORAGE_UNAVAILABLE', async () => {
    store = await createStoreAt(parseStoreUrl('postgres://tf@127.0.0.1:1/tf', './data'), { groupCommitMs: 5, logger: silentLogger });
    await expect(store.open()).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE', details: { code: 'ECONNREFUSED' } });
  });
});
