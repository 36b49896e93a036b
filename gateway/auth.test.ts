/**
 * The real auth hook of buildApp (auth on, the default), with the real 1 s cache over a fake
 * ControlClient whose authenticate() knows a few keys as the scheduler would.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { FastifyInstance, InjectOptions } from 'fastify';
import type { Principal } from '../common/api-keys.js';
import { TaskForgeError } from '../common/errors.js';
import { toExecutionText, type ControlClient } from './control-client.js';
import { buildApp, type GatewayAppOptions } from './app.js';
import { bearerKey } from './auth.js';
import {
  createFakeControlClient,
  knownKeys,
  sampleExecution,
  sampleFunction,
  testKey,
  testPrincipal,
  type FakeControlClient,
} from './testing/fake-control-client.js';

const KEYS = {
  admin: testKey('admin'),
  deploy: testKey('deploy'),
  invoke: testKey('invoke'),
  read: testKey('read'),
  limited: testKey('limited'),
  limitedAdmin: testKey('limitedadm'),
};
const PRINCIPALS: Record<string, Principal> = {
  [KEYS.admin]: testPrincipal('admin0000000', ['admin']),
  [KEYS.deploy]: testPrincipal('deploy000000', ['deploy']),
  [KEYS.invoke]: testPrincipal('invoke000000', ['invoke']),
  [KEYS.read]: testPrincipal('read00000000', ['read']),
  [KEYS.limited]: testPrincipal('limited00000', ['invoke', 'deploy'], ['hello']),
  [KEYS.limitedAdmin]: testPrincipal('limitedadm00', ['admin'], ['hello']),
};

let app: FastifyInstance;
let control: FakeControlClient;

function build(overrides: Partial<ControlClient> = {}, opts: Omit<GatewayAppOptions, 'control'> = {}): void {
  control = createFakeControlClient({ authenticate: knownKeys(PRINCIPALS), ...overrides });
  app = buildApp({ ...opts, control });
}

afterEach(async () => {
  vi.useRealTimers();
  await app?.close();
});

/** A request these tests name in their messages: always a method and a path. */
type Call = InjectOptions & { method: string; url: string };

const as = (key: string, req: InjectOptions) => app.inject({ ...req, headers: { ...req.headers, authorization: `Bearer ${key}` } });
const code = (res: { json(): unknown }) => (res.json() as { error: { code: string } }).error.code;
const UNAUTHORIZED = {
  error: { code: 'UNAUTHORIZED', message: 'a valid API key is required: authorization: Bearer <key>', details: { reason: 'no_valid_key' } },
};

describe('401: no, malformed or unknown key', () => {
  const MALFORMED: Array<[string, string | undefined]> = [
    ['no header', undefined],
    ['empty', ''],
    ['Bearer alone', 'Bearer'],
    ['Bearer and a space', 'Bearer '],
    ['Basic', 'Basic dXNlcjpwYXNzd29yZA=='],
    ['Basic with a key', `Basic ${KEYS.admin}`],
    ['no scheme', KEYS.admin],
    ['two spaces', `Bearer  ${KEYS.admin}`],
    ['wrong prefix', `Bearer tfx_${KEYS.admin.slice(4)}`],
    ['id too short', `Bearer tfk_admin_${'s'.repeat(40)}`],
    ['secret too short', `Bearer ${KEYS.admin.slice(0, 17 + 31)}`],
    ['underscore in the id', `Bearer tfk_adm_n0000000_${'s'.repeat(40)}`],
    ['10 KB key', `Bearer tfk_admin0000000_${'s'.repeat(10 * 1024)}`],
    ['huge header', `Bearer ${'x'.repeat(60_000)}`],
    ['non-ASCII', `Bearer tfk_admin0000000_${'ÿ'.repeat(40)}`],
    ['non-ASCII scheme', `Bëarer ${KEYS.admin}`],
    ['key and more', `Bearer ${KEYS.admin} ${KEYS.admin}`],
  ];

  it.each(MALFORMED)('%s: 401 in the one shape, without asking the scheduler', async (_what, header) => {
    build();
    const started = performance.now();
    const res = await app.inject({ method: 'GET', url: '/v1/functions', headers: header === undefined ? {} : { authorization: header } });
    expect(performance.now() - started).toBeLessThan(1000);
    expect(res.statusCode).toBe(401);
    expect(res.json()).toEqual(UNAUTHORIZED);
    expect(res.headers['www-authenticate']).toBe('Bearer realm="taskforge"');
    expect(control.calls).toEqual([]);
  });

  it('a well-formed unknown key is asked about once and answered exactly like a malformed one', async () => {
    build();
    const unknown = await as(testKey('nobody'), { method: 'GET', url: '/v1/functions' });
    const wrongSecret = await as(`${KEYS.admin.slice(0, -1)}t`, { method: 'GET', url: '/v1/functions' });
    for (const res of [unknown, wrongSecret]) {
      expect(res.statusCode).toBe(401);
      expect(res.json()).toEqual(UNAUTHORIZED);
    }
    expect(control.calls.map((c) => c.method)).toEqual(['authenticate', 'authenticate']);
  });

  it('the scheme is case-insensitive, and surrounding blanks are not part of the key', async () => {
    build();
    expect(bearerKey(`bearer ${KEYS.read}`)).toBe(KEYS.read);
    expect(bearerKey(`BEARER ${KEYS.read}`)).toBe(KEYS.read);
    const res = await app.inject({ method: 'GET', url: '/v1/functions', headers: { authorization: ` bearer ${KEYS.read} ` } });
    expect(res.statusCode).toBe(200);
  });

  it('auth comes before everything else: a bad body, a too-large body, a bad name still answer 401', async () => {
    build({}, { invokeBodyLimit: 10 });
    const json = { 'content-type': 'application/json' };
    for (const req of [
      { method: 'POST', url: '/v1/functions/hello/invoke', headers: json, payload: '{"a":' },
      { method: 'POST', url: '/v1/functions/hello/invoke', headers: json, payload: JSON.stringify({ x: 'y'.repeat(100) }) },
      { method: 'POST', url: '/v1/functions/hello/invoke', headers: json, payload: '['.repeat(100_000) },
      { method: 'PUT', url: '/v1/functions/Bad_Name', headers: json, payload: '{}' },
      { method: 'GET', url: '/v1/executions/..%2F..%2Fetc' },
      { method: 'GET', url: '/v1/nothing-here' },
    ] as Call[]) {
      const res = await app.inject(req);
      expect(res.statusCode, `${req.method} ${req.url}`).toBe(401);
    }
    expect(control.calls).toEqual([]);
  });

  it('being on loopback earns nothing: a real request from 127.0.0.1 needs a key too', async () => {
    build();
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as { port: number };
    const res = await fetch(`http://127.0.0.1:${port}/v1/stats`);
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual(UNAUTHORIZED);
  });

  it('the probes are open; an unknown route with a valid key is 404', async () => {
    build();
    expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
    // HEAD routes Fastify adds for each GET keep its access.
    expect((await app.inject({ method: 'HEAD', url: '/healthz' })).statusCode).toBe(200);
    expect((await app.inject({ method: 'HEAD', url: '/v1/functions' })).statusCode).toBe(401);
    expect((await as(KEYS.read, { method: 'HEAD', url: '/v1/functions' })).statusCode).toBe(200);
    expect((await as(KEYS.limited, { method: 'HEAD', url: '/v1/workers' })).statusCode).toBe(403);
    const missing = await as(KEYS.read, { method: 'GET', url: '/v1/nothing-here' });
    expect(missing.statusCode).toBe(404);
    expect(code(missing)).toBe('NOT_FOUND');
  });

  it('a scheduler that cannot be asked is 503, not 401, and the next request asks again', async () => {
    let down = true;
    build({
      authenticate: async (key) => {
        if (down) throw new TaskForgeError('SCHEDULER_UNAVAILABLE', 'the scheduler is not reachable');
        return knownKeys(PRINCIPALS)(key);
      },
    });
    const res = await as(KEYS.read, { method: 'GET', url: '/v1/functions' });
    expect(res.statusCode).toBe(503);
    down = false;
    expect((await as(KEYS.read, { method: 'GET', url: '/v1/functions' })).statusCode).toBe(200);
  });
});

describe('403: each scope on a route it allows and one it does not', () => {
  const CASES: Array<[keyof typeof KEYS, Call, Call]> = [
    ['admin', { method: 'POST', url: '/v1/keys', payload: { name: 'x', scopes: ['read'] } }, { method: 'GET', url: '/v1/nothing' }],
    [
      'deploy',
      { method: 'PUT', url: '/v1/functions/hello', payload: { code: 'export default () => 1' } },
      { method: 'POST', url: '/v1/functions/hello/invoke' },
    ],
    ['deploy', { method: 'GET', url: '/v1/executions' }, { method: 'GET', url: '/v1/keys' }],
    ['invoke', { method: 'POST', url: '/v1/functions/hello/invoke' }, { method: 'PUT', url: '/v1/functions/hello', payload: { code: 'x' } }],
    ['invoke', { method: 'POST', url: '/v1/executions/ex_1/cancel' }, { method: 'GET', url: '/v1/workers' }],
    ['invoke', { method: 'GET', url: '/v1/executions/ex_1' }, { method: 'DELETE', url: '/v1/functions/hello' }],
    ['read', { method: 'GET', url: '/v1/workers' }, { method: 'POST', url: '/v1/functions/hello/invoke' }],
    ['read', { method: 'GET', url: '/v1/functions/hello' }, { method: 'POST', url: '/v1/executions/ex_1/cancel' }],
    ['read', { method: 'GET', url: '/v1/stats' }, { method: 'GET', url: '/v1/keys' }],
  ];

  it.each(CASES)('%s key', async (scope, allowed, forbidden) => {
    build();
    const ok = await as(KEYS[scope], allowed);
    expect(ok.statusCode, `${allowed.method} ${allowed.url}`).toBeLessThan(300);
    const calls = control.calls.length;
    const no = await as(KEYS[scope], forbidden);
    if (forbidden.url === '/v1/nothing') {
      // admin may do everything: what it cannot do is use a route that does not exist
      expect(no.statusCode).toBe(404);
      return;
    }
    expect(no.statusCode, `${forbidden.method} ${forbidden.url}`).toBe(403);
    expect(no.json()).toEqual({
      error: { code: 'FORBIDDEN', message: 'this API key does not allow this request', details: expect.objectContaining({ reason: expect.any(String) }) },
    });
    // Nothing reached the scheduler for the refused request beyond the (cached) key check.
    expect(control.calls.slice(calls).filter((c) => c.method !== 'authenticate')).toEqual([]);
  });

  it('403 is decided before the body is read: a forbidden invoke with a broken body is 403', async () => {
    build();
    const res = await as(KEYS.read, { method: 'POST', url: '/v1/functions/hello/invoke', headers: { 'content-type': 'application/json' }, payload: '{"a":' });
    expect(res.statusCode).toBe(403);
  });
});

describe('routes added later', () => {
  it('routes added without declaring access need a key, and an unrestricted admin one', async () => {
    build();
    app.get('/v1/later', async () => 'later');
    app.post('/2015-03-31/functions/:name/aliases', async () => ({}));
    for (const req of [
      { method: 'GET', url: '/v1/later' },
      { method: 'POST', url: '/2015-03-31/functions/hello/aliases' },
    ] as Call[]) {
      expect((await app.inject(req)).statusCode, req.url).toBe(401);
      expect((await as(KEYS.read, req)).statusCode, req.url).toBe(403);
      expect((await as(KEYS.limitedAdmin, req)).statusCode, req.url).toBe(403);
      expect((await as(KEYS.admin, req)).statusCode, req.url).toBe(200);
    }
  });
});

describe('a key limited to some functions', () => {
  const other = sampleExecution({ id: 'ex_other', function: 'other' });
  const mine = sampleExecution({ id: 'ex_mine', function: 'hello' });
  const byId = (id: string) => (id === 'ex_other' ? other : mine);
  const overrides: Partial<ControlClient> = {
    getExecution: async (id) => toExecutionText(byId(id)),
    listFunctions: async () => [sampleFunction('hello'), sampleFunction('other')],
  };

  it('uses its functions and is refused others by name (403)', async () => {
    build(overrides);
    expect((await as(KEYS.limited, { method: 'GET', url: '/v1/functions/hello' })).statusCode).toBe(200);
    expect((await as(KEYS.limited, { method: 'POST', url: '/v1/functions/hello/invoke' })).statusCode).toBe(202);
    for (const req of [
      { method: 'GET', url: '/v1/functions/other' },
      { method: 'GET', url: '/v1/functions/other/versions' },
      { method: 'PUT', url: '/v1/functions/other', payload: { code: 'x' } },
      { method: 'DELETE', url: '/v1/functions/other' },
      { method: 'POST', url: '/v1/functions/other/invoke' },
      { method: 'POST', url: '/v1/functions', payload: { name: 'other', code: 'x' } },
      { method: 'GET', url: '/v1/executions?function=other' },
    ] as Call[]) {
      const res = await as(KEYS.limited, req);
      expect(res.statusCode, `${req.method} ${req.url}`).toBe(403);
    }
    expect(control.callsTo('putFunction')).toEqual([]);
    expect(control.callsTo('deleteFunction')).toEqual([]);
    expect(control.callsTo('invoke').map((a) => (a[0] as { function: string }).function)).toEqual(['hello']);
  });

  it('lists only its functions, and executions of only its functions', async () => {
    build(overrides);
    const fns = await as(KEYS.limited, { method: 'GET', url: '/v1/functions' });
    expect(fns.json().functions.map((f: { name: string }) => f.name)).toEqual(['hello']);
    await as(KEYS.limited, { method: 'GET', url: '/v1/executions?limit=5' });
    expect(control.callsTo('listExecutions')).toEqual([[{ limit: 5, functions: ['hello'] }]]);
    await as(KEYS.read, { method: 'GET', url: '/v1/executions?limit=5' });
    expect(control.callsTo('listExecutions')[1]).toEqual([{ limit: 5 }]);
  });

  it("another function's execution is 404 EXECUTION_NOT_FOUND, before any wait, logs read or cancel", async () => {
    build(overrides);
    for (const req of [
      { method: 'GET', url: '/v1/executions/ex_other' },
      { method: 'GET', url: '/v1/executions/ex_other?waitMs=30000' },
      { method: 'GET', url: '/v1/executions/ex_other/logs' },
      { method: 'POST', url: '/v1/executions/ex_other/cancel' },
    ] as Call[]) {
      const res = await as(KEYS.limited, req);
      expect(res.statusCode, req.url).toBe(404);
      expect(res.json()).toEqual({
        error: { code: 'EXECUTION_NOT_FOUND', message: "execution 'ex_other' does not exist", details: { reason: 'not_found', id: 'ex_other' } },
      });
    }
    expect(control.callsTo('getExecution').every(([, waitMs]) => waitMs === 0)).toBe(true);
    expect(control.callsTo('getLogs')).toEqual([]);
    expect(control.callsTo('cancelExecution')).toEqual([]);
    const own = await as(KEYS.limited, { method: 'GET', url: '/v1/executions/ex_mine/logs' });
    expect(own.statusCode).toBe(200);
    expect((await as(KEYS.limited, { method: 'POST', url: '/v1/executions/ex_mine/cancel' })).statusCode).toBe(200);
  });

  it('never sees the cluster or keys, even with the admin scope', async () => {
    build(overrides);
    for (const url of ['/v1/workers', '/v1/stats', '/v1/keys']) {
      expect((await as(KEYS.limitedAdmin, { method: 'GET', url })).statusCode, url).toBe(403);
    }
    expect((await as(KEYS.limitedAdmin, { method: 'POST', url: '/v1/keys', payload: { name: 'escalate', scopes: ['admin'] } })).statusCode).toBe(403);
    expect(control.callsTo('createKey')).toEqual([]);
  });
});

describe('env values', () => {
  const withEnv = (name: string, version = 1) => sampleFunction(name, version, { env: { DB_PASSWORD: 's3cr3t', REGION: 'eu' } });
  const overrides: Partial<ControlClient> = {
    getFunction: async (name) => withEnv(name),
    listFunctions: async () => [withEnv('hello')],
    listVersions: async (name) => [withEnv(name, 2), withEnv(name, 1)],
  };
  const reads: InjectOptions[] = [
    { method: 'GET', url: '/v1/functions/hello' },
    { method: 'GET', url: '/v1/functions/hello?include=code' },
    { method: 'GET', url: '/v1/functions/hello/versions' },
    { method: 'GET', url: '/v1/functions' },
  ];

  it.each(['read', 'invoke'] as const)('are hidden from a %s key: the names with null values', async (scope) => {
    build(overrides);
    for (const req of reads) {
      const res = await as(KEYS[scope], req);
      expect(res.statusCode).toBe(200);
      expect(res.body).not.toContain('s3cr3t');
      const body = res.json();
      const infos = body.functions ?? body.versions ?? [body];
      for (const info of infos) expect(info.env).toEqual({ DB_PASSWORD: null, REGION: null });
    }
  });

  it.each(['admin', 'deploy'] as const)('are shown to a %s key', async (scope) => {
    build(overrides);
    for (const req of reads) {
      const res = await as(KEYS[scope], req);
      expect(res.body).toContain('s3cr3t');
    }
  });
});

describe('the key cache of the real hook', () => {
  it('a deleted key keeps working for under 1 s and is refused from 1 s on; one lookup per second per key', async () => {
    vi.useFakeTimers();
    let deleted = false;
    build({ authenticate: async (key) => (deleted ? null : knownKeys(PRINCIPALS)(key)) });
    expect((await as(KEYS.read, { method: 'GET', url: '/v1/stats' })).statusCode).toBe(200);
    deleted = true;
    await vi.advanceTimersByTimeAsync(999);
    expect((await as(KEYS.read, { method: 'GET', url: '/v1/stats' })).statusCode).toBe(200);
    expect(control.callsTo('authenticate')).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect((await as(KEYS.read, { method: 'GET', url: '/v1/stats' })).statusCode).toBe(401);
  });

  it('a key deleted through this gateway is refused at once', async () => {
    let deleted = false;
    build({
      authenticate: async (key) => (deleted && key === KEYS.read ? null : knownKeys(PRINCIPALS)(key)),
      deleteKey: async () => {
        deleted = true;
      },
    });
    expect((await as(KEYS.read, { method: 'GET', url: '/v1/stats' })).statusCode).toBe(200);
    expect((await as(KEYS.admin, { method: 'DELETE', url: '/v1/keys/read00000000' })).statusCode).toBe(204);
    expect((await as(KEYS.read, { method: 'GET', url: '/v1/stats' })).statusCode).toBe(401);
  });
});

describe('rate limit per key', () => {
  it('past the limit: 429 RATE_LIMITED in the API shape with retry-after; other keys and the probes go on', async () => {
    build({}, { rateLimit: 3 });
    for (let i = 0; i < 3; i++) expect((await as(KEYS.read, { method: 'GET', url: '/v1/stats' })).statusCode).toBe(200);
    const over = await as(KEYS.read, { method: 'GET', url: '/v1/stats' });
    expect(over.statusCode).toBe(429);
    expect(over.json()).toEqual({
      error: {
        code: 'RATE_LIMITED',
        message: 'this API key is over its rate limit of 3 requests per second',
        details: { reason: 'rate_limited', limit: 3, retryAfterSeconds: 1 },
      },
    });
    expect(over.headers['retry-after']).toBe('1');
    expect(control.callsTo('stats')).toHaveLength(3);
    expect((await as(KEYS.deploy, { method: 'GET', url: '/v1/stats' })).statusCode).toBe(200);
    for (let i = 0; i < 5; i++) expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
  });

  it('counts by the checked key id, so bad keys cannot spend a real key’s budget', async () => {
    build({}, { rateLimit: 2 });
    const forged = `${KEYS.read.slice(0, -1)}x`; // the read key's id, a wrong secret
    for (let i = 0; i < 5; i++) expect((await as(forged, { method: 'GET', url: '/v1/stats' })).statusCode).toBe(401);
    expect((await as(KEYS.read, { method: 'GET', url: '/v1/stats' })).statusCode).toBe(200);
    expect((await as(KEYS.read, { method: 'GET', url: '/v1/stats' })).statusCode).toBe(200);
  });

  it('a new window lets the key in again', async () => {
    build({}, { rateLimit: 1 });
    expect((await as(KEYS.read, { method: 'GET', url: '/v1/stats' })).statusCode).toBe(200);
    expect((await as(KEYS.read, { method: 'GET', url: '/v1/stats' })).statusCode).toBe(429);
    await new Promise((r) => setTimeout(r, 1100));
    expect((await as(KEYS.read, { method: 'GET', url: '/v1/stats' })).statusCode).toBe(200);
  });
});

describe("auth: 'off'", () => {
  it('needs no key and acts as an unrestricted admin', async () => {
    build({}, { auth: 'off' });
    expect((await app.inject({ method: 'GET', url: '/v1/keys' })).statusCode).toBe(200);
    expect((await app.inject({ method: 'POST', url: '/v1/functions/hello/invoke' })).statusCode).toBe(202);
    expect(control.callsTo('authenticate')).toEqual([]);
  });
});
