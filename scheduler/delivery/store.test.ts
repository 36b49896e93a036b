import { mkdtemp, readdir, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFileDeliveryStore } from './store.js';
import type { Delivery } from './types.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'taskforge-deliveries-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const delivery = (executionId: string, over: Partial<Delivery> = {}): Delivery => ({
  id: `dlv_${executionId}`,
  executionId,
  function: 'f',
  version: 1,
  on: 'success',
  destination: { url: 'https://example.com/' },
  status: 'pending',
  attempts: [],
  maxAttempts: 8,
  nextAttemptAt: '2026-01-01T00:00:00.000Z',
  createdAt: '2026-01-01T00:00:00.000Z',
  finishedAt: null,
  createdExecutionId: null,
  ...over,
});

describe('file delivery store', () => {
  it('puts, loads, replaces and deletes one file per execution', async () => {
    const s = createFileDeliveryStore(dir);
    expect(await s.load()).toEqual({ deliveries: [], quarantined: [] });
    await s.put(delivery('ex_1'));
    await s.put(delivery('ex_1', { status: 'delivered' }));
    await s.put(delivery('ex_2'));
    const { deliveries } = await s.load();
    expect(deliveries.map((d) => [d.executionId, d.status]).sort()).toEqual([
      ['ex_1', 'delivered'],
      ['ex_2', 'pending'],
    ]);
    await s.delete('ex_1');
    await s.delete('ex_1');
    expect(await readdir(join(dir, 'deliveries'))).toEqual(['ex_2.json']);
  });

  it('quarantines what does not parse or is not a delivery, sweeps temp files, resumes a delivering one as pending', async () => {
    const s = createFileDeliveryStore(dir);
    await mkdir(join(dir, 'deliveries'), { recursive: true });
    await writeFile(join(dir, 'deliveries', 'ex_bad.json'), '{"trunc');
    await writeFile(join(dir, 'deliveries', 'ex_other.json'), JSON.stringify({ hello: 1 }));
    await writeFile(join(dir, 'deliveries', 'ex_misnamed.json'), JSON.stringify(delivery('ex_else')));
    await writeFile(join(dir, 'deliveries', '.ex_3.json.abc.tmp'), 'partial');
    await writeFile(join(dir, 'deliveries', 'ex_4.json'), JSON.stringify(delivery('ex_4', { status: 'delivering' })));
    const r = await s.load();
    expect(r.quarantined.sort()).toEqual(['ex_bad.json', 'ex_misnamed.json', 'ex_other.json']);
    expect(r.deliveries).toEqual([delivery('ex_4')]);
    expect(await readdir(join(dir, 'deliveries'))).toEqual(['ex_4.json']);
    expect((await readdir(join(dir, 'quarantine'))).sort()).toEqual(['deliveries-ex_bad.json', 'deliveries-ex_misnamed.json', 'deliveries-ex_other.json']);
  });
});
