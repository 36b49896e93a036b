import { afterEach, describe, expect, it } from 'vitest';
import { TaskForgeError } from '../../common/errors.js';
import { MAX_JSON_DEPTH } from '../../common/json-depth.js';
import { createHarness, type Harness } from '../testing/harness.js';
import { TopicPublisher } from './topics.js';

const CODE = 'export default async (e) => e';
let h: Harness;
afterEach(() => h?.close());

async function setup(maxQueue = 100): Promise<TopicPublisher> {
  h = createHarness({ maxQueue });
  await h.functions.put('all-orders', { code: CODE, triggers: [{ type: 'topic', topic: 'orders' }] }, false);
  await h.functions.put('eu-orders', { code: CODE, triggers: [{ type: 'topic', topic: 'orders', filter: { region: 'eu' } }] }, false);
  await h.functions.put('big-orders', { code: CODE, triggers: [{ type: 'topic', topic: 'orders', filter: { size: { big: true } } }] }, false);
  await h.functions.put(
    'other',
    {
      code: CODE,
      triggers: [
        { type: 'topic', topic: 'payments' },
        { type: 'cron', schedule: '0 * * * *' },
      ],
    },
    false,
  );
  return new TopicPublisher(h.state, h.functions, { maxQueue });
}

const publish = (p: TopicPublisher, topic: string, body: unknown, cloudEvent = false) => p.publish({ topic, bodyJson: JSON.stringify(body), cloudEvent });

async function refusal(p: Promise<unknown>): Promise<TaskForgeError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TaskForgeError);
  return err as TaskForgeError;
}

describe('topic publish', () => {
  it('starts one execution per matching subscriber, all in one durable commit, each with its trigger and its own input', async () => {
    const p = await setup();
    const r = await publish(p, 'orders', { region: 'eu', size: { big: true }, n: 1 });
    expect(r.eventId).toMatch(/^evt_[A-Za-z0-9]{20}$/);
    expect(r.executions.map((e) => e.function)).toEqual(['all-orders', 'big-orders', 'eu-orders']);
    expect(h.store.durableBatches).toEqual([r.executions.map((e) => e.executionId)]);
    const recs = r.executions.map((e) => h.state.index.get(e.executionId)!);
    for (const rec of recs) {
      expect(rec).toMatchObject({ status: 'queued', mode: 'async', trigger: { type: 'topic', topic: 'orders', eventId: r.eventId } });
      expect(rec.input).toEqual({ region: 'eu', size: { big: true }, n: 1 });
      expect(h.state.pending.has(rec.id)).toBe(true);
    }
    expect(recs[0]!.input).not.toBe(recs[1]!.input);
  });

  it('filters on equality of top-level fields; a non-object event matches only unfiltered subscribers', async () => {
    const p = await setup();
    expect((await publish(p, 'orders', { region: 'us', size: { big: true, x: 1 } })).executions.map((e) => e.function)).toEqual(['all-orders']);
    expect((await publish(p, 'orders', [1, 2])).executions.map((e) => e.function)).toEqual(['all-orders']);
    expect((await publish(p, 'orders', { size: { big: true } })).executions.map((e) => e.function)).toEqual(['all-orders', 'big-orders']);
  });

  it('answers an empty list for a topic nobody subscribes to, and writes nothing', async () => {
    const p = await setup();
    const r = await publish(p, 'nobody.here', { a: 1 });
    expect(r.executions).toEqual([]);
    expect(h.store.durableBatches).toEqual([]);
  });

  it('follows the functions: a new version without the trigger stops the subscription, a delete too', async () => {
    const p = await setup();
    await h.functions.put('all-orders', { code: CODE }, false);
    await h.functions.delete('eu-orders');
    expect((await publish(p, 'orders', { region: 'eu' })).executions).toEqual([]);
    expect(p.subscribers('payments')).toEqual(['other']);
  });

  it('validates a CloudEvent and passes the whole structured event as the input', async () => {
    const p = await setup();
    const ce = { specversion: '1.0', id: 'a-1', source: '/shop', type: 'com.shop.order', datacontenttype: 'application/json', data: { n: 1 } };
    const r = await publish(p, 'orders', ce, true);
    expect(h.state.index.get(r.executions[0]!.executionId)!.input).toEqual(ce);
    const missing = await refusal(publish(p, 'orders', { specversion: '1.0', id: 'a', type: 't' }, true));
    expect(missing.code).toBe('VALIDATION_ERROR');
    expect(missing.details).toMatchObject({ field: 'body.source', reason: 'cloudevent' });
    expect((await refusal(publish(p, 'orders', { ...ce, specversion: '0.3' }, true))).details).toMatchObject({ field: 'body.specversion' });
    expect((await refusal(publish(p, 'orders', { ...ce, time: 'yesterday' }, true))).details).toMatchObject({ field: 'body.time', reason: 'cloudevent' });
    expect((await refusal(publish(p, 'orders', [ce], true))).details).toMatchObject({ field: 'body' });
    expect(h.store.durableBatches).toHaveLength(1);
  });

  it('refuses a bad topic name, bad JSON, a too deep or too large event', async () => {
    const p = await setup();
    expect((await refusal(publish(p, 'Orders', {}))).code).toBe('INVALID_NAME');
    expect((await refusal(p.publish({ topic: 'orders', bodyJson: '{', cloudEvent: false }))).details).toMatchObject({ reason: 'invalid_json' });
    expect(
      (await refusal(p.publish({ topic: 'orders', bodyJson: '['.repeat(MAX_JSON_DEPTH + 1) + ']'.repeat(MAX_JSON_DEPTH + 1), cloudEvent: false }))).details,
    ).toMatchObject({
      reason: 'too_deep',
    });
    expect((await refusal(p.publish({ topic: 'orders', bodyJson: JSON.stringify('x'.repeat(1024 * 1024)), cloudEvent: false }))).code).toBe(
      'PAYLOAD_TOO_LARGE',
    );
  });

  it('is all or nothing: a full queue or a failed commit starts none of them', async () => {
    const p = await setup(2);
    expect((await refusal(publish(p, 'orders', { region: 'eu', size: { big: true } }))).code).toBe('QUEUE_FULL');
    h.store.failDurable = 'EIO';
    expect((await refusal(publish(p, 'orders', { region: 'eu' }))).code).toBe('STORAGE_UNAVAILABLE');
    expect(h.state.index.statusCounts().queued).toBe(0);
    expect(h.state.pending.size).toBe(0);
  });
});
