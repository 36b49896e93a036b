import { describe, expect, it } from 'vitest';
import { MAX_JSON_DEPTH, jsonDeeperThan } from './json-depth.js';

const nested = (levels: number, open = '[', close = ']'): string => open.repeat(levels) + close.repeat(levels);

describe('jsonDeeperThan', () => {
  it('counts arrays and objects, mixed', () => {
    expect(jsonDeeperThan(nested(MAX_JSON_DEPTH))).toBe(false);
    expect(jsonDeeperThan(nested(MAX_JSON_DEPTH + 1))).toBe(true);
    const objects = '{"a":'.repeat(MAX_JSON_DEPTH + 1) + '1' + '}'.repeat(MAX_JSON_DEPTH + 1);
    expect(jsonDeeperThan(objects)).toBe(true);
    expect(jsonDeeperThan('[{"a":[{"b":[]}]}]', 5)).toBe(false);
    expect(jsonDeeperThan('[{"a":[{"b":[]}]}]', 4)).toBe(true);
  });

  it('ignores brackets inside strings, escaped quotes included', () => {
    const inString = JSON.stringify({ s: '['.repeat(10_000) + '\\"' + '{'.repeat(10_000) });
    expect(jsonDeeperThan(inString)).toBe(false);
    // An escaped quote does not end the string, so the brackets after it are still inside it.
    expect(jsonDeeperThan(`["\\"${'['.repeat(600)}"]`)).toBe(false);
    // An escaped backslash does end it: the brackets after the closing quote count.
    expect(jsonDeeperThan(`["\\\\",${'['.repeat(600)}`)).toBe(true);
  });

  it('sibling containers do not add up', () => {
    expect(jsonDeeperThan(`[${'[],'.repeat(10_000)}[]]`)).toBe(false);
  });

  it('scans 100,000 levels without recursion', () => {
    expect(jsonDeeperThan(nested(100_000))).toBe(true);
    expect(jsonDeeperThan('['.repeat(1_000_000))).toBe(true);
  });
});
