import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHopTrace } from './hop-trace.js';

describe('hop trace', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hop-trace-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('is off without a file: marks write nothing', () => {
    const t = createHopTrace(undefined);
    expect(t.enabled).toBe(false);
    t.mark('G1 gateway route');
    t.flush();
    expect(existsSync(join(dir, 'trace'))).toBe(false);
  });

  it('buffers marks with their time and appends them on flush', async () => {
    const file = join(dir, 'trace');
    let clock = 1_700_000_000_000.1234;
    const t = createHopTrace(file, () => clock);
    t.mark('G1 gateway route');
    clock += 0.25;
    t.mark('S1 scheduler session read');
    expect(existsSync(file)).toBe(false);
    t.flush();
    t.mark('G4 gateway onResponse');
    t.flush();
    expect(await readFile(file, 'utf8')).toBe(
      '1700000000000.123 G1 gateway route\n1700000000000.373 S1 scheduler session read\n1700000000000.373 G4 gateway onResponse\n',
    );
  });

  it('writes on its own once 4096 marks are buffered', async () => {
    const file = join(dir, 'trace');
    const t = createHopTrace(file, () => 1);
    for (let i = 0; i < 4095; i++) t.mark('W2 worker ipc send');
    expect(existsSync(file)).toBe(false);
    t.mark('W3 worker ipc receive');
    expect((await readFile(file, 'utf8')).split('\n').filter(Boolean)).toHaveLength(4096);
  });

  it('never throws when the file cannot be written', () => {
    const t = createHopTrace(join(dir, 'missing', 'trace'));
    t.mark('W1 worker execute read');
    expect(() => t.flush()).not.toThrow();
  });
});
