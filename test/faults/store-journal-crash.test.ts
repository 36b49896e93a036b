/**
 * kill -9 during a write storm to the JSON-file store's journal: a child process writes durable
 * records (and their later transitions and logs) as fast as it can and prints each acknowledged
 * id; it is SIGKILLed mid-storm, twice (the second run starts on the first one's leftovers, so
 * replay runs over a replayed journal). After each kill, a fresh store must load every
 * acknowledged id, and every JSON file left must parse. Runs the compiled store (dist/).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFileStore } from '../../scheduler/store/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const CHILD = join(here, 'store-journal-crash-child.mjs');
const BUILT = join(here, '..', '..', 'dist', 'scheduler', 'store', 'index.js');

/** Runs the child until it has acknowledged `minAcks` records, then SIGKILLs it. Returns the acked ids. */
async function stormAndKill(dataDir: string, prefix: string, minAcks: number): Promise<string[]> {
  const child = spawn(process.execPath, [CHILD, dataDir, prefix], { stdio: ['ignore', 'pipe', 'pipe'] });
  const acked: string[] = [];
  let partial = '';
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`only ${acked.length} acks in time; stderr: ${stderr}`)), 20_000);
    child.stdout.on('data', (d: Buffer) => {
      const lines = (partial + d.toString()).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) if (line.startsWith('ack ')) acked.push(line.slice(4));
      if (acked.length >= minAcks) {
        clearTimeout(timer);
        resolve();
      }
    });
    void exited.then(() => reject(new Error(`child exited early; stderr: ${stderr}`)));
  });
  child.kill('SIGKILL');
  expect(await exited).toBe('SIGKILL');
  // Lines already in the pipe were acknowledged before the kill too.
  for (const line of partial.split('\n')) if (line.startsWith('ack ')) acked.push(line.slice(4));
  return acked;
}

async function expectEveryJsonFileParses(dataDir: string): Promise<void> {
  for (const dir of ['executions', 'logs']) {
    for (const name of await readdir(join(dataDir, dir))) {
      if (!name.endsWith('.json')) continue;
      const text = await readFile(join(dataDir, dir, name), 'utf8').catch(() => null);
      if (text === null) continue;
      expect(() => JSON.parse(text), `${dir}/${name}`).not.toThrow();
    }
  }
}

describe('store journal: kill -9 during a write storm', () => {
  let dataDir: string;
  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'taskforge-journal-crash-'));
  });
  afterEach(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('keeps every acknowledged record, and every JSON file parses', async () => {
    expect(existsSync(BUILT), 'build first: npx tsc -p tsconfig.json').toBe(true);
    const all: string[] = [];
    for (const [round, prefix] of ['a', 'b'].entries()) {
      all.push(...(await stormAndKill(dataDir, prefix, 1500 + round * 500)));
      await expectEveryJsonFileParses(dataDir);
      const store = createFileStore({ dataDir });
      const state = await store.open();
      const loaded = new Set(state.executions.map((e) => e.id));
      const missing = all.filter((id) => !loaded.has(id));
      expect(missing, 'acknowledged but lost').toEqual([]);
      expect(state.quarantined).toEqual([]);
      // Not closed: the next round starts on whatever journal this open left behind.
      await store.flush();
    }
  });
});
