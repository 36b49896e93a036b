import { describe, expect, it } from 'vitest';
import { silentLogger } from '../common/logger.js';
import { failureResult } from './messages.js';
import { PendingResults } from './pending-results.js';

const result = (id: string) => failureResult(id, `l-${id}`, { code: 'CANCELLED', message: 'x' });

describe('PendingResults', () => {
  it('keeps entries in order and reports them as held', () => {
    const p = new PendingResults(10, silentLogger);
    p.add('a', 'l-a', [result('a')]);
    p.add('b', 'l-b', [result('b')]);
    expect(p.held()).toEqual([
      { executionId: 'a', lease: 'l-a' },
      { executionId: 'b', lease: 'l-b' },
    ]);
    const written: string[] = [];
    expect(p.flush((m) => written.push((m.msg?.value as { executionId: string }).executionId))).toBe(2);
    expect(written).toEqual(['a', 'b']);
    expect(p.size).toBe(0);
  });

  it('drops the oldest entry past the bound', () => {
    const p = new PendingResults(2, silentLogger);
    for (const id of ['a', 'b', 'c']) p.add(id, `l-${id}`, [result(id)]);
    expect(p.held().map((h) => h.executionId)).toEqual(['b', 'c']);
  });

  it('forgets a killed execution and ignores empty message lists', () => {
    const p = new PendingResults(5, silentLogger);
    p.add('a', 'l-a', [result('a')]);
    p.add('b', 'l-b', []);
    expect(p.delete('a')).toBe(true);
    expect(p.delete('a')).toBe(false);
    expect(p.size).toBe(0);
  });
});
