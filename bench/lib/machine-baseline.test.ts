import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { fileCreateCpuUs, processRoundTrip } from './machine-baseline.js';
import { TempDirs } from './testing/temp-dirs.js';

describe('machine baseline', () => {
  const temp = new TempDirs();
  afterEach(() => temp.cleanup());

  it('times round trips to a real child process and counts the CPU of both sides', async () => {
    const r = await processRoundTrip(50, 0, 5);
    expect(r).toMatchObject({ trips: 50, gapMs: 0 });
    expect(r.wallUsP50).toBeGreaterThan(0);
    // Two processes each receive and send one message per trip: that cannot be free.
    expect(r.cpuUs).toBeGreaterThan(0);
  });

  it('keeps one set of listeners on the child however many trips it makes', async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error): void => void warnings.push(w);
    process.on('warning', onWarning);
    try {
      await processRoundTrip(40, 0, 20);
      await new Promise((r) => setImmediate(r)); // warnings are emitted on the next tick
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
  });

  it('rejects, naming the exit, when the child dies instead of answering', async () => {
    const script = await temp.script('process.exit(3);\n');
    await expect(processRoundTrip(5, 0, 1, script)).rejects.toThrow(/echo child exited \(3\)/);
  });

  it('waits the gap before each trip without counting it as the trip’s wall time', async () => {
    const started = performance.now();
    const r = await processRoundTrip(10, 20, 1);
    expect(performance.now() - started).toBeGreaterThanOrEqual(10 * 20);
    expect(r.wallUsP50).toBeLessThan(20_000);
  });

  it('creates every file through a temp name and leaves no temp file', async () => {
    const dir = join(await temp.dir(), 'files');
    expect(fileCreateCpuUs(dir, 25)).toBeGreaterThanOrEqual(0);
    const names = readdirSync(dir).sort();
    expect(names).toHaveLength(25);
    expect(names.every((n) => /^f\d+\.json$/.test(n))).toBe(true);
  });
});
