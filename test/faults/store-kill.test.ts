/**
 * Fault: kill -9 during a write storm to the JSON-file store. A child process writes executions
 * durably (and group-commits later transitions and logs of each) as fast as it can and prints
 * every acknowledged id; it is SIGKILLed mid-storm. Afterwards every record file on disk parses
 * and is whole; a store opened on the directory quarantines nothing and holds every acknowledged
 * record (as written or as a later transition of it); after that store closes cleanly the record
 * files alone hold them all and no temp file is left.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Execution } from '../../common/records.js';
import { isTempFileName } from '../../scheduler/store/files/atomic-write.js';
import { createFileStore } from '../../scheduler/store/index.js';

const SCRIPT = join(import.meta.dirname, 'fixtures', 'store-storm.mjs');
const DIST_STORE = join(import.meta.dirname, '..', '..', 'dist', 'scheduler', 'store', 'index.js');

let dataDir: string | undefined;
afterEach(async () => {
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
  dataDir = undefined;
});

/** Runs the storm until `acks` writes were acknowledged, then SIGKILLs it. Returns the acknowledged ids. */
async function stormAndKill(dir: string, acks: number): Promise<{ acked: Set<string>; signal: string | null }> {
  const proc = spawn(process.execPath, [SCRIPT, dir, '32'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const acked = new Set<string>();
  let partial = '';
  let stderr = '';
  proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<string | null>((resolve) => proc.on('exit', (_code, signal) => resolve(signal)));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`storm did not reach ${acks} acks (got ${acked.size}):\n${stderr}`)), 30_000);
    proc.stdout.on('data', (d: Buffer) => {
      const lines = (partial + d.toString()).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) if (line.startsWith('ack ')) acked.add(line.slice(4));
      if (acked.size >= acks && proc.exitCode === null && proc.signalCode === null) {
        clearTimeout(timer);
        proc.kill('SIGKILL');
        resolve();
      }
    });
    void exited.then(() => {
      clearTimeout(timer);
      if (acked.size < acks) reject(new Error(`storm exited early:\n${stderr}`));
    });
  });
  // Lines still in the pipe were printed before the kill: their writes were acknowledged too.
  await new Promise<void>((resolve) => proc.stdout.on('end', () => resolve()));
  for (const line of partial.split('\n')) if (line.startsWith('ack ')) acked.add(line.slice(4));
  return { acked, signal: await exited };
}

describe('kill -9 during a write storm', () => {
  it('leaves only whole files, and every acknowledged record is present', async () => {
    expect(existsSync(DIST_STORE), 'dist/ is missing: run `make build` first').toBe(true);
    dataDir = await mkdtemp(join(tmpdir(), 'taskforge-storm-'));
    const { acked, signal } = await stormAndKill(dataDir, 1_500);
    expect(signal).toBe('SIGKILL');

    // Every record file on disk is whole: it parses and names the record its file name says.
    // (Temp files are the store's own leftovers of interrupted writes; open() sweeps them.)
    const readRecords = async (): Promise<Map<string, Execution>> => {
      const found = new Map<string, Execution>();
      for (const dir of ['executions', 'logs']) {
        for (const file of await readdir(join(dataDir!, dir))) {
          if (isTempFileName(file) || !file.endsWith('.json')) continue;
          const text = await readFile(join(dataDir!, dir, file), 'utf8');
          let value: any;
          expect(() => (value = JSON.parse(text)), `${dir}/${file} does not parse`).not.toThrow();
          expect(`${dir === 'executions' ? value.id : value.executionId}.json`).toBe(file);
          if (dir === 'executions') found.set(value.id, value);
        }
      }
      return found;
    };
    await readRecords();

    const checkAcked = (records: Map<string, Execution>, where: string): void => {
      for (const id of acked) {
        const rec = records.get(id);
        expect(rec, `acknowledged ${id} is missing from ${where}`).toBeDefined();
        // As acknowledged, or a later transition of it: never older, never another record's.
        expect(['queued', 'running', 'succeeded']).toContain(rec!.status);
        const n = Number(id.split('_').pop());
        const input = rec!.input as { n: number; payload: string };
        expect(input.n).toBe(n);
        expect(input.payload).toHaveLength(2_000 + (n % 7) * 3_000);
      }
    };

    const store = createFileStore({ dataDir });
    const loaded = await store.open();
    expect(loaded.quarantined).toEqual([]);
    checkAcked(new Map(loaded.executions.map((e) => [e.id, e])), 'the reopened store');
    await store.close();

    // After a clean close, the files alone hold every acknowledged record, and no temp file is left.
    checkAcked(await readRecords(), 'the record files');
    for (const dir of ['executions', 'logs']) expect((await readdir(join(dataDir, dir))).filter(isTempFileName)).toEqual([]);
  });
});
