import { afterEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { TaskForgeError } from '../../common/errors.js';
import type { PublishArgs } from '../control-client.js';
import { buildTestApp, knownKeys, testKey, testPrincipal, type FakeControlClient } from '../testing/fake-control-client.js';

let app: FastifyInstance;
let control: FakeControlClient;
afterEach(async () => {
  await app?.close();
});

const URL_ = '/v1/topics/orders.created/events';
const err = (res: { json(): unknown }) => (res.json() as { error: { code: string; details: Record<string, unknown> } }).error;
const published = (): PublishArgs => control.callsTo('publish')[0]![0] as PublishArgs;

describe('POST /v1/topics/:topic/events', () => {
  it('202 with the eventId and one entry per execution; the JSON is forwarded as sent', async () => {
    ({ app, control } = buildTestApp());
    const body = '{ "region": "eu",  "n": 1 }';
    const res = await app.inject({ method: 'POST', url: URL_, payload: body, headers: { 'content-type': 'application/json' } });
    expect(res.statusCode).toBe(202);
    expect(res.json()).toEqual({ eventId: 'evt_1', executions: [{ function: 'a', executionId: 'ex_1' }] });
    expect(published()).toEqual({ topic: 'orders.created', bodyJson: body, cloudEvent: false });
  });

  it('takes a structured CloudEvent (application/cloudevents+json, any parameters) and says so', async () => {
    ({ app, control } = buildTestApp());
    const ce = JSON.stringify({ specversion: '1.0', id: '1', source: '/s', type: 't' });
    const res = await app.inject({ method: 'POST', url: URL_, payload: ce, headers: { 'content-type': 'application/cloudevents+json; charset=utf-8' } });
    expect(res.statusCode).toBe(202);
    expect(published()).toEqual({ topic: 'orders.created', bodyJson: ce, cloudEvent: true });
  });

  it('an empty body is the event null', async () => {
    ({ app, control } = buildTestApp());
    const res = await app.inject({ method: 'POST', url: URL_ });
    expect(res.statusCode).toBe(202);
    expect(published().bodyJson).toBe('null');
  });

  it('refuses other media types (batch mode included) with 415, and bad JSON with 400, before the scheduler', async () => {
    ({ app, control } = buildTestApp());
    const batch = await app.inject({ method: 'POST', url: URL_, payload: '[]', headers: { 'content-type': 'application/cloudevents-batch+json' } });
    expect(batch.statusCode).toBe(415);
    expect(err(batch).code).toBe('UNSUPPORTED_MEDIA_TYPE');
    const bad = await app.inject({ method: 'POST', url: URL_, payload: '{"a":', headers: { 'content-type': 'application/cloudevents+json' } });
    expect(bad.statusCode).toBe(400);
    expect(err(bad)).toMatchObject({ code: 'VALIDATION_ERROR', details: { field: 'body', reason: 'invalid_json' } });
    expect(control.callsTo('publish')).toEqual([]);
  });

  it('a bad topic name is 400 INVALID_NAME naming params.topic', async () => {
    ({ app, control } = buildTestApp());
    for (const topic of ['Orders', '1st', 'a_b', 'x'.repeat(129)]) {
      const res = await app.inject({ method: 'POST', url: `/v1/topics/${topic}/events`, payload: {} });
      expect(res.statusCode).toBe(400);
      expect(err(res).code).toBe('INVALID_NAME');
    }
    const longest = await app.inject({ method: 'POST', url: `/v1/topics/a${'b'.repeat(127)}/events`, payload: {} });
    expect(longest.statusCode).toBe(202);
  });

  it("passes the scheduler's refusal on in the error shape", async () => {
    ({ app, control } = buildTestApp({
      publish: async () => {
        throw new TaskForgeError('VALIDATION_ERROR', 'body.source: required non-empty string', { field: 'body.source', reason: 'cloudevent' });
      },
    }));
    const res = await app.inject({ method: 'POST', url: URL_, payload: '{}', headers: { 'content-type': 'application/cloudevents+json' } });
    expect(res.statusCode).toBe(400);
    expect(err(res)).toMatchObject({ code: 'VALIDATION_ERROR', details: { field: 'body.source', reason: 'cloudevent' } });
  });

  it('needs the invoke scope and a key not limited to functions', async () => {
    const keys = {
      [testKey('invoker')]: testPrincipal('invoker', ['invoke']),
      [testKey('reader')]: testPrincipal('reader', ['read']),
      [testKey('limited')]: testPrincipal('limited', ['invoke', 'admin'], ['a']),
    };
    ({ app, control } = buildTestApp({ authenticate: knownKeys(keys) }, {}));
    const as = (tag: string) => app.inject({ method: 'POST', url: URL_, payload: {}, headers: { authorization: `Bearer ${testKey(tag)}` } });
    expect((await as('invoker')).statusCode).toBe(202);
    const reader = await as('reader');
    expect(reader.statusCode).toBe(403);
    expect(err(reader).details).toMatchObject({ reason: 'scope', scopes: ['admin', 'invoke'] });
    expect((await as('limited')).statusCode).toBe(403);
    expect(control.callsTo('publish')).toHaveLength(1);
  });
});

describe('the publish route in /openapi.json', () => {
  it('says it takes JSON and structured CloudEvents, answers 202, and names its errors', async () => {
    ({ app, control } = buildTestApp());
    type Doc = { paths: Record<string, { post?: { requestBody?: { content?: Record<string, unknown> }; responses: Record<string, unknown> } }> };
    const doc = (await app.inject({ method: 'GET', url: '/openapi.json' })).json<Doc>();
    const post = doc.paths['/v1/topics/{topic}/events']?.post;
    expect(Object.keys(post?.requestBody?.content ?? {}).sort()).toEqual(['application/cloudevents+json', 'application/json']);
    expect(Object.keys(post?.responses ?? {})).toEqual(expect.arrayContaining(['202', '400', '403', '413', '415', '429', '503']));
  });
});
