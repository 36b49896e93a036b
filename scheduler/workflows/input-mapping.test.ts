import { describe, expect, it } from 'vitest';
import { collectReferences, parseReference, resolveInput } from './input-mapping.js';

const ctx = { input: { n: 3, user: { name: 'ada', tags: ['x'] } }, outputs: { a: { field: 10, nested: { v: true } }, b: 'text' } };

describe('input mapping', () => {
  it('replaces $.input and $.steps.<id>.output (with fields) anywhere, recursively', () => {
    const template = {
      whole: '$.input',
      n: '$.input.n',
      name: '$.input.user.name',
      list: ['$.steps.a.output.field', { deep: '$.steps.a.output.nested.v' }, 1, null, true],
      b: '$.steps.b.output',
      keep: 'not $.input',
    };
    expect(resolveInput(template, ctx)).toEqual({
      whole: ctx.input,
      n: 3,
      name: 'ada',
      list: [10, { deep: true }, 1, null, true],
      b: 'text',
      keep: 'not $.input',
    });
  });

  it('a missing field, a field of a non-object, or a missing output is null', () => {
    expect(resolveInput(['$.input.nope', '$.input.n.x', '$.steps.zz.output', '$.steps.b.output.length', '$.input.user.tags.0'], ctx)).toEqual([
      null,
      null,
      null,
      null,
      'x',
    ]);
  });

  it('no template: the run input (null when there is none)', () => {
    expect(resolveInput(undefined, ctx)).toBe(ctx.input);
    expect(resolveInput(undefined, { input: undefined, outputs: {} })).toBeNull();
  });

  it('never reads inherited properties', () => {
    expect(resolveInput('$.input.constructor', ctx)).toBeNull();
    expect(resolveInput('$.input.__proto__', ctx)).toBeNull();
  });

  it('parses references and says what is wrong with a malformed one', () => {
    expect(parseReference('$.input')).toEqual({ kind: 'input', path: [] });
    expect(parseReference('$.steps.s-1.output.a.b')).toEqual({ kind: 'step', step: 's-1', path: ['a', 'b'] });
    expect(parseReference('hello')).toBeNull();
    expect(parseReference('$.inputs')).toBeNull();
    expect(parseReference('$.steps.a')).toMatch(/step reference/);
    expect(parseReference('$.steps.a.output.')).toMatch(/field name/);
    expect(parseReference('$.input..x')).toMatch(/field name/);
  });

  it('collects references with where they are', () => {
    expect(collectReferences({ a: ['$.input', { b: '$.steps.x.output' }] })).toEqual([
      { at: 'input.a[0]', ref: { kind: 'input', path: [] } },
      { at: 'input.a[1].b', ref: { kind: 'step', step: 'x', path: [] } },
    ]);
  });
});
