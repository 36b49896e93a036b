import { describe, expect, it } from 'vitest';
import { OptionsError } from './options-error.js';
import { MAX_SCHEDULER_ADDRESSES, parseSchedulerList } from './scheduler-list.js';

describe('parseSchedulerList', () => {
  it('keeps one address as it is and a list in its order, trimmed', () => {
    expect(parseSchedulerList('127.0.0.1:50051')).toEqual(['127.0.0.1:50051']);
    expect(parseSchedulerList(' sched-a.internal:50051 , 10.1.2.3:50052,[fd00::1]:50053')).toEqual([
      'sched-a.internal:50051',
      '10.1.2.3:50052',
      '[fd00::1]:50053',
    ]);
  });

  it.each([
    ['', /empty value/],
    ['   ', /empty value/],
    ['nohost', /entry 1 \("nohost"\) must be host:port/],
    ['a:1,', /entry 2 \(""\)/],
    ['a:1,,b:2', /entry 2 \(""\)/],
    ['a:0', /port 1-65535/],
    ['a:65536', /port 1-65535/],
    ['a b:1', /entry 1/],
    ['-a:1', /entry 1/],
    ['http://a:1', /entry 1/],
    ['a:1,A:1', /lists A:1 twice/],
    [Array.from({ length: MAX_SCHEDULER_ADDRESSES + 1 }, (_, i) => `h${i}:1`).join(','), /at most 16/],
  ])('refuses %j naming the option', (value, message) => {
    expect(() => parseSchedulerList(value, '--scheduler')).toThrowError(message);
    expect(() => parseSchedulerList(value, '--scheduler')).toThrowError(expect.objectContaining({ code: 'ERR_TASKFORGE_OPTION', option: '--scheduler' }));
    expect(() => parseSchedulerList(value)).toThrowError(OptionsError);
  });
});
