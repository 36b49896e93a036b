import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { LogLine } from '../common/records.js';
import { LogBatcher } from './log-batcher.js';

const line = (message: string): LogLine => ({ ts: new Date().toISOString(), stream: 'stdout', message });

describe('LogBatcher', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('batches lines that arrive within flushMs into one emit', async () => {
    const emits: Array<{ lines: string[]; truncated: boolean }> = [];
    const b = new LogBatcher({ flushMs: 20, emit: (lines, truncated) => emits.push({ lines: lines.map((l) => l.message), truncated }) });
    b.add([line('a')], false);
    await vi.advanceTimersByTimeAsync(10);
    b.add([line('b'), line('c')], false);
    expect(emits).toEqual([]);
    await vi.advanceTimersByTimeAsync(10);
    expect(emits).toEqual([{ lines: ['a', 'b', 'c'], truncated: false }]);
  });

  it('flush() sends at once and carries truncation', () => {
    const emits: Array<{ n: number; truncated: boolean }> = [];
    const b = new LogBatcher({ flushMs: 20, emit: (lines, truncated) => emits.push({ n: lines.length, truncated }) });
    b.add([line('a')], true);
    b.flush();
    b.flush();
    expect(emits).toEqual([{ n: 1, truncated: true }]);
  });

  it('close() flushes and ignores later lines', async () => {
    const emits: number[] = [];
    const b = new LogBatcher({ flushMs: 20, emit: (lines) => emits.push(lines.length) });
    b.add([line('a'), line('b')], false);
    b.close();
    b.add([line('c')], false);
    await vi.advanceTimersByTimeAsync(100);
    expect(emits).toEqual([2]);
  });

  it('lines after a gap go out in a batch of their own that carries the gap', () => {
    const emits: Array<{ lines: string[]; dropped: number }> = [];
    const b = new LogBatcher({ flushMs: 20, emit: (lines, _t, dropped) => emits.push({ lines: lines.map((l) => l.message), dropped }) });
    b.add([line('head')], false);
    b.add([line('tail 1'), line('tail 2')], true, 40);
    b.flush();
    expect(emits).toEqual([
      { lines: ['head'], dropped: 0 },
      { lines: ['tail 1', 'tail 2'], dropped: 40 },
    ]);
  });
});
