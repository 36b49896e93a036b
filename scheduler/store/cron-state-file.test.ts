import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../common/logger.js';
import { createFaultFs } from './testing/fault-fs.js';
import { CRON_STATE_FILE, createCronStateFile } from './cron-state-file.js';
import { nodeStoreFs } from './files/store-fs.js';

describe('cron-state.json', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'taskforge-cron-state-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('round-trips the marks, readable by people, and is empty before the first write', async () => {
    const file = createCronStateFile(dir, silentLogger);
    expect((await file.read()).size).toBe(0);
    await file.write(new Map([['tick:0123456789abcdef', { function: 'tick', afterMs: Date.parse('2026-03-01T10:00:00.000Z') }]]));
    expect(JSON.parse(await readFile(join(dir, CRON_STATE_FILE), 'utf8'))).toEqual({
      version: 1,
      triggers: { 'tick:0123456789abcdef': { function: 'tick', after: '2026-03-01T10:00:00.000Z' } },
    });
    expect([...(await file.read())]).toEqual([['tick:0123456789abcdef', { function: 'tick', afterMs: Date.parse('2026-03-01T10:00:00.000Z') }]]);
  });

  it('a file that is not JSON, or entries of the wrong shape, count as absent; a leftover temp file is swept', async () => {
    const file = createCronStateFile(dir, silentLogger);
    await writeFile(join(dir, CRON_STATE_FILE), '{ torn');
    expect((await file.read()).size).toBe(0);
    await writeFile(
      join(dir, CRON_STATE_FILE),
      JSON.stringify({
        triggers: {
          'ok:0123456789abcdef': { function: 'ok', after: '2026-01-01T00:00:00Z' },
          '../x': { function: 'x', after: 'y' },
          'b:0123456789abcdef': { function: 'B!', after: '2026-01-01T00:00:00Z' },
        },
      }),
    );
    await writeFile(join(dir, `.${CRON_STATE_FILE}.abcdef123456.tmp`), 'half');
    expect([...(await file.read()).keys()]).toEqual(['ok:0123456789abcdef']);
    expect((await readdir(dir)).sort()).toEqual([CRON_STATE_FILE]);
  });

  it('a failed write rejects and leaves the previous state', async () => {
    const fs = createFaultFs(nodeStoreFs);
    const file = createCronStateFile(dir, silentLogger, fs);
    await file.write(new Map([['a:0123456789abcdef', { function: 'a', afterMs: 1000 }]]));
    fs.fail({ op: 'rename', code: 'EIO' });
    await expect(file.write(new Map())).rejects.toMatchObject({ code: 'EIO' });
    expect((await file.read()).get('a:0123456789abcdef')).toEqual({ function: 'a', afterMs: 1000 });
  });
});
