import { afterEach, describe, expect, it } from 'vitest';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { TaskForgeError } from '../../common/errors.js';
import { buildApp } from '../app.js';
import type { ControlClient } from '../control-client.js';
import { createFakeControlClient, knownKeys, sampleKey, testKey, testPrincipal, type FakeControlClient } from '../testing/fake-control-client.js';

const ADMIN = testKey('admin');
const DEPLOY = testKey('deploy');

let app: FastifyInstance;
let control: FakeControlClient;

function build(overrides: Partial<ControlClient> = {}): void {
  control = createFakeControlClient({
    authenticate: knownKeys({ [ADMIN]: testPrincipal('admin0000000', ['admin']), [DEPLOY]: testPrincipal('deploy000000', ['deploy']) }),
    ...overrides,
  });
  app = buildApp({ control });
}

afterEach(async () => {
  await app?.close();
});

const as = (key: string, req: InjectOptions) => app.inject({ ...req, headers: { ...req.headers, authorization: `Bearer ${key}` } });
type ErrorJson = { error: { code: string; details: { errors?: { field: string; reason: string }[] } } };
const err = (res: { json(): unknown }) => (res.json() as ErrorJson).error;

describe('POST /v1/keys', () => {
  it('201 with the record and the key, shown only here (no-store); functions left out = every function', async () => {
    build();
    const res = await as(ADMIN, { method: 'POST', url: '/v1/keys', payload: { name: 'ci', scopes: ['deploy', 'read'] } });
    expect(res.statusCode).toBe(201);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.json()).toMatchObject({ id: 'AbCdEf123456', name: 'ci', scopes: ['deploy', 'read'], functions: null, key: testKey('AbCdEf123456') });
    expect(control.callsTo('createKey')).toEqual([[{ name: 'ci', scopes: ['deploy', 'read'], functions: null }]]);
    await as(ADMIN, { method: 'POST', url: '/v1/keys', payload: { name: 'one', scopes: ['invoke'], functions: ['hello'] } });
    expect(control.callsTo('createKey')[1]).toEqual([{ name: 'one', scopes: ['invoke'], functions: ['hello'] }]);
  });

  it.each([
    [{ name: 'ci', scopes: ['read'], admin: true }, 'body.admin', 'unknown_field'],
    [{ name: 'ci', scopes: ['root'] }, 'body.scopes.0', undefined],
    [{ name: 'ci', scopes: [] }, 'body.scopes', undefined],
    [{ name: 'ci', scopes: ['read', 'read'] }, 'body.scopes', undefined],
    [{ scopes: ['read'] }, 'body.name', 'required'],
    [{ name: '', scopes: ['read'] }, 'body.name', undefined],
    [{ name: 'a\u0007b', scopes: ['read'] }, 'body.name', undefined],
    [{ name: 'ci', scopes: ['read'], functions: [] }, 'body.functions', undefined],
    [{ name: 'ci', scopes: ['read'], functions: ['../etc'] }, 'body.functions.0', undefined],
  ])('%j is 400 VALIDATION_ERROR naming %s, and creates nothing', async (payload, field, reason) => {
    build();
    const res = await as(ADMIN, { method: 'POST', url: '/v1/keys', payload });
    expect(res.statusCode).toBe(400);
    expect(err(res).code).toBe('VALIDATION_ERROR');
    const reported = err(res).details.errors ?? [];
    expect(reported.map((e) => e.field)).toContain(field);
    if (reason) expect(reported.find((e) => e.field === field)?.reason).toBe(reason);
    expect(control.callsTo('createKey')).toEqual([]);
  });

  it('is for admin keys only', async () => {
    build();
    const res = await as(DEPLOY, { method: 'POST', url: '/v1/keys', payload: { name: 'x', scopes: ['admin'] } });
    expect(res.statusCode).toBe(403);
    expect(control.callsTo('createKey')).toEqual([]);
  });
});

describe('GET /v1/keys and DELETE /v1/keys/:id', () => {
  it('lists the records, never a key', async () => {
    build();
    const res = await as(ADMIN, { method: 'GET', url: '/v1/keys' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ keys: [sampleKey()] });
    expect((await as(DEPLOY, { method: 'GET', url: '/v1/keys' })).statusCode).toBe(403);
  });

  it('deletes: 204; unknown 404 NOT_FOUND; a malformed id 400 INVALID_NAME that never reaches the scheduler', async () => {
    build({
      deleteKey: async (id) => {
        if (id === 'AAAAAAAAAAAA') throw new TaskForgeError('NOT_FOUND', `key '${id}' does not exist`, { id });
      },
    });
    const ok = await as(ADMIN, { method: 'DELETE', url: '/v1/keys/AbCdEf123456' });
    expect(ok.statusCode).toBe(204);
    expect(ok.body).toBe('');
    const missing = await as(ADMIN, { method: 'DELETE', url: '/v1/keys/AAAAAAAAAAAA' });
    expect(missing.statusCode).toBe(404);
    expect(err(missing).code).toBe('NOT_FOUND');
    for (const id of ['short', 'AbCdEf123456x', '..%2F..%2Fetc', 'AbCdEf_23456']) {
      const res = await as(ADMIN, { method: 'DELETE', url: `/v1/keys/${id}` });
      expect(res.statusCode, id).toBe(400);
      expect(err(res).code).toBe('INVALID_NAME');
    }
    expect(control.callsTo('deleteKey')).toEqual([['AbCdEf123456'], ['AAAAAAAAAAAA']]);
    expect((await as(DEPLOY, { method: 'DELETE', url: '/v1/keys/AbCdEf123456' })).statusCode).toBe(403);
  });
});
