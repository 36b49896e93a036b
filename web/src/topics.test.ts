import { describe, expect, it } from 'vitest';
import { topicsOf } from './topics.js';

describe('topicsOf', () => {
  it('groups the functions’ topic triggers by topic, sorted, with their filters; cron triggers are not topics', () => {
    const topics = topicsOf([
      { name: 'welcome', version: 2, triggers: [{ type: 'topic', topic: 'users.signed-up' }] },
      {
        name: 'audit',
        version: 1,
        triggers: [
          { type: 'topic', topic: 'users.signed-up' },
          { type: 'topic', topic: 'orders', filter: { region: 'eu' } },
        ],
      },
      { name: 'nightly', version: 1, triggers: [{ type: 'cron' }] },
      { name: 'plain', version: 1 },
    ]);
    expect(topics).toEqual([
      { name: 'orders', subscribers: [{ function: 'audit', version: 1, filter: { region: 'eu' } }] },
      {
        name: 'users.signed-up',
        subscribers: [
          { function: 'audit', version: 1 },
          { function: 'welcome', version: 2 },
        ],
      },
    ]);
    expect(topicsOf([])).toEqual([]);
  });
});
