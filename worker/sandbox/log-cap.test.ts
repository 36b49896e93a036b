import { describe, expect, it } from 'vitest';
import type { LogLine } from '../../common/records.js';
import { LogCap } from './log-cap.js';

const line = (message: string, stream: LogLine['stream'] = 'stdout'): LogLine => ({ ts: '2024-01-01T00:00:00.000Z', stream, message });

describe('LogCap', () => {
  it('passes lines through unchanged while under every cap', () => {
    const got: Array<[LogLine[], boolean]> = [];
    const cap = new LogCap((l, t) => got.push([l, t]), { logLines: 10, logBytes: 100, logLineChars: 10 });
    cap.accept([line('a'), line('b', 'stderr')], false);
    expect(got).toEqual([[[line('a'), line('b', 'stderr')], false]]);
    expect(cap.truncated).toBe(false);
  });

  it('drops lines past the line cap and says so', () => {
    const got: LogLine[] = [];
    const cap = new LogCap((l) => got.push(...l), { logLines: 2, logBytes: 100, logLineChars: 10 });
    cap.accept([line('1'), line('2'), line('3')], false);
    expect(got.map((l) => l.message)).toEqual(['1', '2']);
    expect(cap.truncated).toBe(true);
  });

  it('shortens long lines to logLineChars', () => {
    const got: LogLine[] = [];
    const cap = new LogCap((l) => got.push(...l), { logLines: 10, logBytes: 100, logLineChars: 3 });
    cap.accept([line('abcdef')], false);
    expect(got).toEqual([line('abc')]);
    expect(cap.truncated).toBe(true);
  });

  it('stops at the byte cap without letting a later, smaller line through', () => {
    const got: LogLine[] = [];
    const cap = new LogCap((l) => got.push(...l), { logLines: 10, logBytes: 5, logLineChars: 10 });
    cap.accept([line('abc'), line('defg'), line('h')], false);
    expect(got.map((l) => l.message)).toEqual(['abc']);
    expect(cap.truncated).toBe(true);
  });

  it('reports truncation from upstream even with no lines', () => {
    const got: Array<[number, boolean]> = [];
    const cap = new LogCap((l, t) => got.push([l.length, t]), { logLines: 10, logBytes: 100, logLineChars: 10 });
    cap.accept([], true);
    cap.accept([], true);
    expect(got).toEqual([[0, true]]);
  });
});
