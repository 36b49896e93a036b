import { describe, expect, it } from 'vitest';
import { NO_FILTERS, Pager, applyChange, matches, mergeNewer } from './executions-model.js';
import type { Execution } from './types.js';

const ex = (id: string, over: Partial<Execution> = {}): Execution => ({
  id,
  function: 'a',
  version: 1,
  status: 'queued',
  mode: 'async',
  error: null,
  attempt: 1,
  maxAttempts: 3,
  workerId: null,
  coldStart: null,
  createdAt: `2026-01-01T00:00:0${id.slice(-1)}Z`,
  startedAt: null,
  finishedAt: null,
  durationMs: null,
  ...over,
});
const opts = { insert: true, max: 3 };

describe('applyChange', () => {
  it('adds a new execution on top, newest first, keeping at most max rows', () => {
    let list: Execution[] = [];
    for (const id of ['ex_1', 'ex_3', 'ex_2', 'ex_4']) list = applyChange(list, ex(id), NO_FILTERS, opts);
    expect(list.map((e) => e.id)).toEqual(['ex_4', 'ex_3', 'ex_2']);
  });

  it('updates one it shows, and never moves it back to an older state', () => {
    let list = [ex('ex_1')];
    list = applyChange(list, ex('ex_1', { status: 'succeeded', durationMs: 5 }), NO_FILTERS, opts);
    expect(list[0]).toMatchObject({ status: 'succeeded', durationMs: 5 });
    list = applyChange(list, ex('ex_1', { status: 'running' }), NO_FILTERS, opts);
    expect(list[0]!.status).toBe('succeeded');
  });

  it('drops one that no longer matches the filters, and adds only matching new ones', () => {
    const f = { ...NO_FILTERS, status: 'running' };
    let list = [ex('ex_1', { status: 'running' })];
    list = applyChange(list, ex('ex_1', { status: 'failed' }), f, opts);
    expect(list).toEqual([]);
    list = applyChange(list, ex('ex_2', { status: 'queued' }), f, opts);
    expect(list).toEqual([]);
  });

  it('adds nothing new on a later page, but still updates what it shows', () => {
    const list = applyChange([ex('ex_1')], ex('ex_2'), NO_FILTERS, { insert: false, max: 3 });
    expect(list.map((e) => e.id)).toEqual(['ex_1']);
    expect(applyChange(list, ex('ex_1', { status: 'running' }), NO_FILTERS, { insert: false, max: 3 })[0]!.status).toBe('running');
  });
});

describe('mergeNewer', () => {
  it('takes the later state, keeping what the change lacks, and ignores an older one', () => {
    const queued = ex('ex_1', { input: { a: 1 } });
    const running = ex('ex_1', { status: 'running', workerId: 'w_1' });
    expect(mergeNewer(null, queued)).toBe(queued);
    expect(mergeNewer(queued, running)).toEqual({ ...running, input: { a: 1 } });
    expect(mergeNewer(running, queued)).toBe(running);
  });

  it('takes a retry (queued again, one attempt on) and nothing after the end but the end', () => {
    const running = ex('ex_1', { status: 'running' });
    const retry = ex('ex_1', { status: 'queued', attempt: 2 });
    expect(mergeNewer(running, retry).attempt).toBe(2);
    const done = ex('ex_1', { status: 'failed', attempt: 1 });
    expect(mergeNewer(done, ex('ex_1', { status: 'running', attempt: 3 }))).toBe(done);
    expect(mergeNewer(done, ex('ex_1', { status: 'failed', output: null, input: 1 }))).toMatchObject({ status: 'failed', input: 1 });
  });
});

describe('matches', () => {
  it('checks function, status and trigger (mode)', () => {
    expect(matches(ex('ex_1'), { function: 'a', status: 'queued', mode: 'async' })).toBe(true);
    expect(matches(ex('ex_1'), { ...NO_FILTERS, function: 'b' })).toBe(false);
    expect(matches(ex('ex_1'), { ...NO_FILTERS, mode: 'sync' })).toBe(false);
  });

  it('checks the trigger type too: invoke, topic, cron, retry', () => {
    const retried = ex('ex_2', { trigger: { type: 'retry', of: 'ex_1' } });
    expect(matches(retried, { ...NO_FILTERS, mode: 'retry' })).toBe(true);
    expect(matches(retried, { ...NO_FILTERS, mode: 'async' })).toBe(true);
    expect(matches(retried, { ...NO_FILTERS, mode: 'invoke' })).toBe(false);
    expect(matches(ex('ex_1'), { ...NO_FILTERS, mode: 'invoke' })).toBe(true);
    expect(matches(ex('ex_1'), { ...NO_FILTERS, mode: 'cron' })).toBe(false);
  });
});

describe('Pager', () => {
  it('keeps the cursors of the pages shown for Previous', () => {
    const p = new Pager();
    expect([p.cursor, p.page, p.first]).toEqual([null, 1, true]);
    p.next('c2');
    p.next('c3');
    expect([p.cursor, p.page, p.first]).toEqual(['c3', 3, false]);
    p.previous();
    expect(p.cursor).toBe('c2');
    p.reset();
    p.previous();
    expect([p.cursor, p.page]).toEqual([null, 1]);
  });
});
