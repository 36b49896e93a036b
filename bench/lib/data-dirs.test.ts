import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createRunDataRoot, makeDataDir, releaseDataDir, removeRunDataRoot, removeRunDataRootNow } from './data-dirs.js';

describe('bench data dirs', () => {
  afterEach(() => removeRunDataRootNow());

  it('keeps a scenario dir inside the run root until the root is removed', async () => {
    const root = await createRunDataRoot();
    const dir = await makeDataDir('stack');
    expect(dirname(dir)).toBe(root);
    await writeFile(join(dir, 'x.json'), '{}');
    await releaseDataDir(dir);
    expect(existsSync(join(dir, 'x.json'))).toBe(true);
    await removeRunDataRoot();
    expect(existsSync(root)).toBe(false);
  });

  it('removes a dir at once when no run root is active', async () => {
    const dir = await makeDataDir('store');
    expect(dirname(dir)).toBe(tmpdir());
    await writeFile(join(dir, 'x.json'), '{}');
    await releaseDataDir(dir);
    expect(existsSync(dir)).toBe(false);
  });

  it('removes the root synchronously for an interrupted run', async () => {
    const root = await createRunDataRoot();
    await makeDataDir('stack');
    removeRunDataRootNow();
    expect(existsSync(root)).toBe(false);
  });
});
