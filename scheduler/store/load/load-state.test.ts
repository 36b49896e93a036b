import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Execution, FunctionVersion } from '../../../common/records.js';
import { createFaultFs } from '../testing/fault-fs.js';
import { createFileStore } from '../file-store.js';
import { nodeStoreFs } from '../files/store-fs.js';
import type { StoredFunction } from '../types.js';
import { sampleExecution } from '../../../common/testing/records.js';

const execution = (id: string, createdAt = '2025-01-01T00:00:00.000Z'): Execution =>
  sampleExecution({ id, status: 'running', workerId: 'w1', coldStart: true, createdAt });

function stored(name: string): StoredFunction {
  const version = (v: number): FunctionVersion => ({
    name,
    version: v,
    code: `export default () => ${v}`,
    handler: 'default',
    maxQueueMs: 3_600_000,
    runtime: 'nodejs',
    timeoutMs: 1000,
    memoryMb: 128,
    maxRetries: 0,
    concurrency: 0,
    env: {},
    description: '',
    codeSha256: 'x',
    codeBytes: 10,
    createdAt: '2025-01-01T00:00:00.000Z',
    updatedAt: '2025-01-01T00:00:00.000Z',
  });
  return { name, versions: [version(1), version(2)] };
}

/** A pino logger whose lines land in an array. */
function memoryLogger() {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      cb();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), lines };
}

describe('file store open()', () => {
  let dataDir: string;
  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'taskforge-load-'));
  });
  afterEach(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('creates the layout in an empty directory', async () => {
    const state = await createFileStore({ dataDir }).open();
    expect(state).toEqual({ functions: [], executions: [], quarantined: [], sweptTempFiles: 0 });
    expect((await readdir(dataDir)).sort()).toEqual(['executions', 'functions', 'journal', 'logs', 'quarantine']);
  });

  it('loads everything a previous store wrote', async () => {
    const first = createFileStore({ dataDir });
    await first.open();
    await first.putFunction(stored('hello'));
    await first.putFunction(stored('alpha'));
    await first.putExecutionDurable(execution('e2', '2025-01-02T00:00:00.000Z'));
    first.putExecution(execution('e1', '2025-01-01T00:00:00.000Z'));
    first.putLogs({ executionId: 'e1', lines: [], truncated: true });
    await first.close();

    const second = createFileStore({ dataDir });
    const state = await second.open();
    expect(state.functions).toEqual([stored('alpha'), stored('hello')]);
    expect(state.executions.map((e) => e.id)).toEqual(['e1', 'e2']);
    expect(state.executions[0]).toEqual(execution('e1', '2025-01-01T00:00:00.000Z'));
    expect(await second.getLogs('e1')).toEqual({ executionId: 'e1', lines: [], truncated: true });
    expect(state.quarantined).toEqual([]);
  });

  it('quarantines corrupt and mismatched files, logs each, and goes on', async () => {
    const { logger, lines } = memoryLogger();
    await createFileStore({ dataDir }).open();
    const ex = join(dataDir, 'executions');
    const fn = join(dataDir, 'functions');
    await writeFile(join(ex, 'good.json'), JSON.stringify(execution('good')));
    await writeFile(join(ex, 'torn.json'), JSON.stringify(execution('torn')).slice(0, 40));
    await writeFile(join(ex, 'other.json'), JSON.stringify(execution('not-other')));
    await writeFile(join(ex, 'status.json'), JSON.stringify({ ...execution('status'), status: 'paused' }));
    await writeFile(join(ex, 'bad name.json'), JSON.stringify(execution('good')));
    await writeFile(join(fn, 'hello.json'), '{"name": "hello", "versions": [');
    await writeFile(join(fn, 'alpha.json'), JSON.stringify(stored('beta')));
    await mkdir(join(fn, 'dir.json'));

    const state = await createFileStore({ dataDir, logger }).open();
    expect(state.executions.map((e) => e.id)).toEqual(['good']);
    expect(state.functions).toEqual([]);
    const expected = [
      'executions/bad name.json',
      'executions/other.json',
      'executions/status.json',
      'executions/torn.json',
      'functions/alpha.json',
      'functions/dir.json',
      'functions/hello.json',
    ];
    expect([...state.quarantined].sort()).toEqual(expected);
    expect(await readdir(ex)).toEqual(['good.json']);
    expect(await readdir(fn)).toEqual([]);
    const moved = await readdir(join(dataDir, 'quarantine'));
    expect(moved).toHaveLength(expected.length);
    for (const file of expected) {
      expect(moved.some((m) => m.startsWith(file.replace('/', '.') + '.'))).toBe(true);
    }
    const warns = lines.filter((l) => l.msg === 'quarantined store file');
    expect(warns.map((l) => l.file).sort()).toEqual(expected);
    expect(warns.every((l) => l.level === 40)).toBe(true);
    expect(warns.find((l) => l.file === 'executions/torn.json')).toMatchObject({ reason: 'bad_json' });
    expect(warns.find((l) => l.file === 'executions/other.json')).toMatchObject({ reason: 'id_mismatch' });
    expect(warns.find((l) => l.file === 'executions/status.json')).toMatchObject({ reason: 'bad_status' });
  });

  it('sweeps and counts leftover temp files', async () => {
    await createFileStore({ dataDir }).open();
    await writeFile(join(dataDir, 'executions', '.x.tmp'), 'partial');
    await writeFile(join(dataDir, 'executions', '.e1.json.0123456789ab.tmp'), '{"id":');
    await writeFile(join(dataDir, 'logs', '.e1.json.ffffffffffff.tmp'), '');
    await writeFile(join(dataDir, 'executions', 'e1.json'), JSON.stringify(execution('e1')));
    const state = await createFileStore({ dataDir }).open();
    expect(state.sweptTempFiles).toBe(3);
    expect(state.quarantined).toEqual([]);
    expect(await readdir(join(dataDir, 'executions'))).toEqual(['e1.json']);
    expect(await readdir(join(dataDir, 'logs'))).toEqual([]);
  });

  it('reads with the asynchronous readFile when the fs has no synchronous read, and quarantines unreadable files either way', async () => {
    await createFileStore({ dataDir }).open();
    for (const id of ['a', 'b', 'c']) await writeFile(join(dataDir, 'executions', `${id}.json`), JSON.stringify(execution(id)));
    const { readFileSync: _unused, ...asyncOnly } = nodeStoreFs;
    for (const base of [asyncOnly, nodeStoreFs]) {
      const fs = createFaultFs(base);
      fs.fail({ op: 'readFile', code: 'EIO', match: (p) => p.endsWith('b.json') });
      const state = await createFileStore({ dataDir, fs }).open();
      expect(state.executions.map((e) => e.id)).toEqual(['a', 'c']);
      expect(state.quarantined).toEqual(['executions/b.json']);
      await writeFile(join(dataDir, 'executions', 'b.json'), JSON.stringify(execution('b')));
    }
  });

  it('loads 2,000 records', async () => {
    await createFileStore({ dataDir }).open();
    await Promise.all(
      Array.from({ length: 2000 }, (_, i) => writeFile(join(dataDir, 'executions', `e${i}.json`), JSON.stringify(execution(`e${i}`), null, 2))),
    );
    const state = await createFileStore({ dataDir, readSliceSize: 300 }).open();
    expect(state.executions).toHaveLength(2000);
    expect(new Set(state.executions.map((e) => e.id)).size).toBe(2000);
  });
});
