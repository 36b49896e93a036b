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

  it('passes the head on live, keeps the latest lines for the end and counts what fell between', () => {
    const got: Array<[string[], boolean, number]> = [];
    const cap = new LogCap((l, t, d) => got.push([l.map((x) => x.message), t, d]), { logLines: 4, logBytes: 100, logLineChars: 20 });
    cap.accept([line('1'), line('2'), line('3'), line('4'), line('5')], false);
    cap.accept([line('6'), line('final error')], false);
    expect(got).toEqual([[['1', '2'], true, 0]]);
    cap.finish();
    expect(got[1]).toEqual([['6', 'final error'], true, 3]);
    expect(cap.truncated).toBe(true);
    cap.accept([line('late')], false);
    cap.finish();
    expect(got).toHaveLength(2);
  });

  it("lines after a gap the runtime reported go to the tail, with the runtime's count added", () => {
    const got: Array<[string[], number]> = [];
    const cap = new LogCap((l, _t, d) => got.push([l.map((x) => x.message), d]), { logLines: 10, logBytes: 100, logLineChars: 10 });
    cap.accept([line('a')], false);
    cap.accept([line('y'), line('z')], true, 7);
    cap.finish();
    expect(got).toEqual([
      [['a'], 0],
      [[], 0],
      [['y', 'z'], 7],
    ]);
  });

  it('shortens long lines to logLineChars', () => {
    const got: LogLine[] = [];
    const cap = new LogCap((l) => got.push(...l), { logLines: 10, logBytes: 100, logLineChars: 3 });
    cap.accept([line('abcdef')], false);
    expect(got).toEqual([line('abc')]);
    expect(cap.truncated).toBe(true);
  });

  it('holds the byte cap across head and tail, keeping order', () => {
    const got: LogLine[] = [];
    const cap = new LogCap((l) => got.push(...l), { logLines: 10, logBytes: 5, logLineChars: 10 });
    cap.accept([line('abc'), line('defg'), line('h')], false);
    cap.finish();
    // head: 3 of ⌈5/2⌉ bytes; tail: 2 bytes left, so 'defg' fell out and 'h' is the tail.
    expect(got.map((l) => l.message)).toEqual(['abc', 'h']);
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
