import { describe, expect, it } from 'vitest';
import { Api, ApiError, toApiError, withQuery } from './api.js';
import { errorReply, fakeFetch, jsonReply } from './testing/fakes.js';

const KEY = `tfk_AbCdEf123456_${'s'.repeat(40)}`;

describe('Api', () => {
  it('sends the key in the authorization header only, and JSON bodies as JSON', async () => {
    const f = fakeFetch(() => jsonReply(201, { ok: true }));
    const r = await new Api(KEY, f).request('PUT', '/v1/functions/a', { body: { code: 'x' } });
    expect(r).toEqual({ status: 201, body: { ok: true } });
    expect(f.seen[0]).toEqual({
      url: '/v1/functions/a',
      method: 'PUT',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: '{"code":"x"}',
    });
    expect(f.seen[0]!.url).not.toContain(KEY);
  });

  it('turns the error shape into an ApiError with code, message and details', async () => {
    const api = new Api(
      KEY,
      fakeFetch(() => errorReply(403, 'FORBIDDEN', { reason: 'scope', scopes: ['admin'] })),
    );
    const err = await api.get('/v1/keys').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ status: 403, code: 'FORBIDDEN', message: 'FORBIDDEN message', details: { reason: 'scope', scopes: ['admin'] } });
  });

  it("keeps a sync invoke's 502 record (a failed execution) when told to, and still refuses an error shape then", async () => {
    const record = { id: 'ex_1', status: 'failed', error: { code: 'FUNCTION_ERROR', message: 'boom' } };
    const ok = await new Api(
      KEY,
      fakeFetch(() => jsonReply(502, record)),
    ).request('POST', '/x', { accept: [502] });
    expect(ok).toEqual({ status: 502, body: record });
    const refused = new Api(
      KEY,
      fakeFetch(() => errorReply(502, 'SCHEDULER_UNAVAILABLE')),
    ).request('POST', '/x', { accept: [502] });
    await expect(refused).rejects.toMatchObject({ code: 'SCHEDULER_UNAVAILABLE' });
  });

  it('answers a reply that is not the error shape, or not JSON, with an error named by its status', async () => {
    await expect(
      new Api(
        KEY,
        fakeFetch(() => new Response('<html>', { status: 500 })),
      ).get('/x'),
    ).rejects.toMatchObject({ status: 500, code: 'HTTP_500' });
    expect(
      await new Api(
        KEY,
        fakeFetch(() => new Response(null, { status: 204 })),
      ).request('DELETE', '/x'),
    ).toEqual({ status: 204, body: null });
  });

  it('says the gateway cannot be reached when fetch fails, and lets an abort through', async () => {
    const down = new Api(
      KEY,
      fakeFetch(() => Promise.reject(new TypeError('Failed to fetch'))),
    );
    await expect(down.get('/x')).rejects.toMatchObject({ status: 0, code: 'NETWORK' });
    const abort = new Api(
      KEY,
      fakeFetch(() => Promise.reject(new DOMException('aborted', 'AbortError'))),
    );
    await expect(abort.get('/x')).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('sends a raw body with its own content type (the probes)', async () => {
    const f = fakeFetch(() => errorReply(415, 'UNSUPPORTED_MEDIA_TYPE'));
    await new Api(KEY, f).request('PUT', '/p', { rawBody: { type: 'text/plain', text: 'probe' } }).catch(() => undefined);
    expect(f.seen[0]!.headers['content-type']).toBe('text/plain');
    expect(f.seen[0]!.body).toBe('probe');
  });
});

describe('toApiError and withQuery', () => {
  it('reads details only when they are an object', () => {
    expect(toApiError(400, { error: { code: 'X', details: 'no' } })).toMatchObject({ code: 'X', message: 'X', details: {} });
  });

  it('leaves out empty and absent query values, and encodes the rest', () => {
    expect(withQuery('/v1/executions', { function: 'a b', status: '', limit: 5, cursor: null, x: undefined })).toBe('/v1/executions?function=a+b&limit=5');
    expect(withQuery('/v1/events', { function: '' })).toBe('/v1/events');
  });
});
