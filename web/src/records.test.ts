import { afterEach, describe, expect, it, vi } from 'vitest';
import { circuitText, isDeadLetter, matchesTrigger, relative, retryOf, triggerKind, triggerText } from './records.js';

describe('triggers', () => {
  it('names an HTTP invoke `invoke` and any other start by its type, new types too', () => {
    expect(triggerKind({ trigger: null })).toBe('invoke');
    expect(triggerKind({})).toBe('invoke');
    expect(triggerKind({ trigger: { type: 'cron', tick: '2026-01-01T00:00:00.000Z' } })).toBe('cron');
    expect(triggerKind({ trigger: { type: 'workflow', run: 'wr_1' } })).toBe('workflow');
  });

  it('filters by the mode for sync/async and by the trigger type otherwise; empty keeps all', () => {
    const topic = { mode: 'async', trigger: { type: 'topic', topic: 'orders', eventId: 'ev_1' } };
    const sync = { mode: 'sync', trigger: null };
    expect(matchesTrigger(topic, '')).toBe(true);
    expect(matchesTrigger(topic, 'async')).toBe(true);
    expect(matchesTrigger(topic, 'topic')).toBe(true);
    expect(matchesTrigger(topic, 'invoke')).toBe(false);
    expect(matchesTrigger(sync, 'invoke')).toBe(true);
    expect(matchesTrigger(sync, 'async')).toBe(false);
    expect(matchesTrigger(sync, 'retry')).toBe(false);
  });

  it('says what started an execution in words, and links a retry to its original', () => {
    expect(triggerText(null, 'sync')).toBe('HTTP sync');
    expect(triggerText({ type: 'topic', topic: 'orders', eventId: 'ev_1' }, 'async')).toBe('topic orders (event ev_1)');
    expect(triggerText({ type: 'cron', tick: 'T' }, 'async')).toBe('cron tick T');
    expect(triggerText({ type: 'retry', of: 'ex_1' }, 'async')).toBe('retry of');
    expect(triggerText({ type: 'workflow' }, 'async')).toBe('workflow');
    expect(retryOf({ type: 'retry', of: 'ex_1' })).toBe('ex_1');
    expect(retryOf({ type: 'retry', of: 5 })).toBeNull();
    expect(retryOf({ type: 'cron', tick: 'T' })).toBeNull();
    expect(retryOf(null)).toBeNull();
  });
});

describe('isDeadLetter', () => {
  it('is an async execution failed or timed out for good; not a sync one, a cancelled one or one still going', () => {
    expect(isDeadLetter({ mode: 'async', status: 'failed' })).toBe(true);
    expect(isDeadLetter({ mode: 'async', status: 'timed_out' })).toBe(true);
    expect(isDeadLetter({ mode: 'sync', status: 'failed' })).toBe(false);
    expect(isDeadLetter({ mode: 'async', status: 'cancelled' })).toBe(false);
    expect(isDeadLetter({ mode: 'async', status: 'running' })).toBe(false);
  });
});

describe('relative', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('says a time ahead as `in …` and one past as `… ago`, and nothing for a missing or bad one', () => {
    vi.useFakeTimers({ now: Date.parse('2026-12-04T12:00:00.000Z') });
    const now = Date.now();
    expect(relative('2026-12-04T12:00:12.000Z', now)).toBe('in 12 s');
    expect(relative('2026-12-04T11:58:00.000Z', now)).toBe('2 min ago');
    expect(relative('2026-12-04T15:00:00.000Z', now)).toBe('in 3 h');
    expect(relative('2026-12-01T12:00:00.000Z', now)).toBe('3 d ago');
    expect(relative(null, now)).toBe('—');
    expect(relative('not a time', now)).toBe('—');
  });

  it('names the circuit states', () => {
    expect(circuitText('half_open')).toBe('half open (one trial call)');
    expect(circuitText('open')).toBe('open');
  });
});
