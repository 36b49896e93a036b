import { describe, expect, it } from 'vitest';
import { LIMITS } from '../../common/records.js';
import { errorDetails } from './results.js';

describe('errorDetails: details_json of a Result as the record keeps it', () => {
  it('parses a JSON object', () => {
    expect(errorDetails('{"code":"ENOENT","errno":-2}')).toEqual({ details: { code: 'ENOENT', errno: -2 } });
  });

  it.each([
    ['nothing', ''],
    ['an empty object', '{}'],
    ['an array', '[1]'],
    ['a string', '"x"'],
    ['null', 'null'],
    ['broken JSON', '{"code":'],
    ['more than the cap', JSON.stringify({ big: 'x'.repeat(LIMITS.errorDetailsBytes) })],
  ])('keeps no details for %s', (_label, json) => {
    expect(errorDetails(json)).toEqual({});
  });
});
