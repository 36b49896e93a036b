import { afterEach, describe, expect, it } from 'vitest';
import { bareCpuRate } from './cpu-baseline.js';
import { TempDirs } from './testing/temp-dirs.js';

describe('bare CPU baseline', () => {
  const temp = new TempDirs();
  afterEach(() => temp.cleanup());

  it('runs the handler in every child for the time given and sums their calls', async () => {
    const r = await bareCpuRate(10_000, 2, 0.3);
    expect(r).toMatchObject({ processes: 2, seconds: 0.3 });
    // 10k iterations take well under a millisecond: each child completes many calls.
    expect(r.runs).toBeGreaterThan(20);
    expect(r.perSecond).toBeCloseTo(r.runs / 0.3, 6);
  });

  it('rejects, naming the exit, when a child dies before it reports', async () => {
    const script = await temp.script('process.exit(3);\n');
    await expect(bareCpuRate(10, 2, 0.1, script)).rejects.toThrow(/burn child exited \(3\) before it reported/);
  });

  it('rejects when a child dies after it was told to go', async () => {
    const script = await temp.script("process.on('message', () => process.exit(4)); process.send('ready');\n");
    await expect(bareCpuRate(10, 1, 0.1, script)).rejects.toThrow(/burn child exited \(4\) before it reported/);
  });
});
