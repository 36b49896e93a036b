import { describe, expect, it } from 'vitest';
import { diffLines, diffSettings } from './diff.js';

const ops = (before: string, after: string): string[] => diffLines(before, after).map((l) => l.op + l.text);

describe('diffLines', () => {
  it('keeps common lines and marks removed and added ones, with their line numbers', () => {
    expect(ops('a\nb\nc', 'a\nB\nc')).toEqual([' a', '-b', '+B', ' c']);
    expect(diffLines('a\nb', 'a\nx\nb')).toEqual([
      { op: ' ', text: 'a', a: 1, b: 1 },
      { op: '+', text: 'x', b: 2 },
      { op: ' ', text: 'b', a: 2, b: 3 },
    ]);
  });

  it('finds the longest common part in the middle', () => {
    expect(ops('h\n1\n2\n3\nt', 'h\n0\n2\n3\n4\nt')).toEqual([' h', '-1', '+0', ' 2', ' 3', '+4', ' t']);
  });

  it('handles identical, empty and fully replaced texts', () => {
    expect(ops('x', 'x')).toEqual([' x']);
    expect(ops('', 'a')).toEqual(['-', '+a']);
    expect(ops('a\nb', 'c\nd')).toEqual(['-a', '-b', '+c', '+d']);
  });

  it('falls back to whole removal and addition past its size bound', () => {
    const a = Array.from({ length: 2100 }, (_, i) => `a${i}`).join('\n');
    const b = Array.from({ length: 2100 }, (_, i) => `b${i}`).join('\n');
    const d = diffLines(a, b);
    expect(d).toHaveLength(4200);
    expect(d[0]).toEqual({ op: '-', text: 'a0', a: 1 });
    expect(d[2100]).toEqual({ op: '+', text: 'b0', b: 1 });
  });
});

describe('diffSettings', () => {
  it('lists the fields that differ, sorted, ignoring the ones named', () => {
    expect(diffSettings({ timeoutMs: 1, env: { A: '1' }, version: 1 }, { timeoutMs: 2, env: { A: '1' }, version: 2, description: 'x' }, ['version'])).toEqual([
      ['description', '—', '"x"'],
      ['timeoutMs', '1', '2'],
    ]);
  });
});
