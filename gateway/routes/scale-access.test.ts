/**
 * Who may size the cluster: POST /v1/workers/scale is for unrestricted admin keys alone (access
 * `cluster:scale`), GET /v1/workers/pools for every key that may read the cluster. Through the real
 * auth hook of buildApp over a fake control client.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import type { Principal } from '../../common/api-keys.js';
import { buildApp } from '../app.js';
import { createFakeControlClient, knownKeys, testKey, testPrincipal, type FakeControlClient } from '../testing/fake-control-client.js';

const KEYS = { admin: testKey('admin'), deploy: testKey('deploy'), invoke: testKey('invoke'), read: testKey('read'), limitedAdmin: testKey('limitedadm') };
const PRINCIPALS: Record<string, Principal> = {
  [KEYS.admin]: testPrincipal('admin0000000', ['admin']),
  [KEYS.deploy]: testPrincipal('deploy000000', ['deploy']),
  [KEYS.invoke]: testPrincipal('invoke000000', ['invoke']),
  [KEYS.read]: testPrincipal('read00000000', ['read']),
  [KEYS.limitedAdmin]: testPrincipal('limitedadm00', ['admin'], ['hello']),
};

let app: FastifyInstance;
let control: FakeControlClient;
afterEach(async () => {
  await app?.close();
});

function build(): void {
  control = createFakeControlClient({ authenticate: knownKeys(PRINCIPALS) });
  app = buildApp({ control });
}

const scale = (key: string | null) =>
  app.inject({ method: 'POST', url: '/v1/workers/scale', payload: { workers: 2 }, headers: key ? { authorization: `Bearer ${key}` } : {} });

describe('POST /v1/workers/scale access', () => {
  it('an admin key may scale', async () => {
    build();
    expect((await scale(KEYS.admin)).statusCode).toBe(200);
    expect(control.callsTo('scaleWorkers')).toEqual([['', 2]]);
  });

  it.each([
    ['deploy', KEYS.deploy],
    ['invoke', KEYS.invoke],
    ['read', KEYS.read],
    ['admin limited to some functions', KEYS.limitedAdmin],
  ])('a %s key: 403 FORBIDDEN, nothing relayed', async (_what, key) => {
    build();
    const res = await scale(key);
    expect(res.statusCode).toBe(403);
    expect(res.json().error.code).toBe('FORBIDDEN');
    expect(control.callsTo('scaleWorkers')).toEqual([]);
  });

  it('no key: 401 UNAUTHORIZED', async () => {
    build();
    const res = await scale(null);
    expect(res.statusCode).toBe(401);
    expect(control.callsTo('scaleWorkers')).toEqual([]);
  });

  it.each([
    ['read', KEYS.read, 200],
    ['deploy', KEYS.deploy, 200],
    ['invoke', KEYS.invoke, 403],
    ['admin limited to some functions', KEYS.limitedAdmin, 403],
  ])('GET /v1/workers/pools with a %s key: %i', async (_what, key, status) => {
    build();
    const res = await app.inject({ method: 'GET', url: '/v1/workers/pools', headers: { authorization: `Bearer ${key}` } });
    expect(res.statusCode).toBe(status);
  });
});
