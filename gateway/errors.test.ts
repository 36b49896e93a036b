import { afterEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { status as grpcStatus } from '@grpc/grpc-js';
import { checkCode } from '../common/code-check.js';
import { ERROR_STATUS, TaskForgeError, executionNotFound, functionNotFound, type ErrorCode } from '../common/errors.js';
import { fromGrpcError } from '../common/grpc-errors.js';
import { buildApp } from './app.js';
import { DEFAULT_REASON, normalizeDetails, toHttpError, type ApiErrorCode } from './errors.js';
import { createFakeControlClient, knownKeys, testKey, testPrincipal, type FakeControlClient } from './testing/fake-control-client.js';

let app: FastifyInstance;
let control: FakeControlClient;

function build(overrides: Parameters<typeof createFakeControlClient>[0] = {}): FastifyInstance {
  control = createFakeControlClient(overrides);
  app = buildApp({ control, auth: 'off' });
  return app;
}

afterEach(async () => {
  await app?.close();
});

const errorOf = (res: { json(): unknown }) => (res.json() as { error: { code: string; message: string; details: Record<string, unknown> } }).error;

describe('toHttpError', () => {
  it('maps every TaskForgeError code to its status and the one body shape', () => {
    for (const [code, status] of Object.entries(ERROR_STATUS) as [ErrorCode, number][]) {
      const e = toHttpError(new TaskForgeError(code, `m-${code}`, { k: 1 }));
      expect(e.statusCode).toBe(status);
      expect(e.body).toEqual({ error: { code, message: `m-${code}`, details: expect.objectContaining({ k: 1, reason: expect.any(String) }) } });
    }
  });

  it('sets retry-after on 429 and 503, using the scheduler suggestion when there is one', () => {
    expect(toHttpError(new TaskForgeError('QUEUE_FULL', 'q')).headers['retry-after']).toBe('1');
    expect(toHttpError(new TaskForgeError('RATE_LIMITED', 'r', { retryAfterSeconds: 2.2 })).headers['retry-after']).toBe('3');
    expect(toHttpError(new TaskForgeError('SCHEDULER_UNAVAILABLE', 's')).headers['retry-after']).toBe('1');
    expect(toHttpError(new TaskForgeError('FUNCTION_NOT_FOUND', 'f')).headers['retry-after']).toBeUndefined();
  });

  it('maps Fastify errors by code and never leaks their text', () => {
    const fst = (code: string, statusCode: number) => Object.assign(new Error('fastify text'), { code, statusCode });
    expect(toHttpError(fst('FST_ERR_CTP_BODY_TOO_LARGE', 413), { bodyLimit: 10 }).body.error).toEqual({
      code: 'PAYLOAD_TOO_LARGE',
      message: 'request body is too large',
      details: { field: 'body', reason: 'too_large', limitBytes: 10 },
    });
    expect(toHttpError(fst('FST_ERR_CTP_INVALID_MEDIA_TYPE', 415)).body.error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    expect(toHttpError(fst('FST_ERR_MAX_PARAM_LENGTH', 414)).statusCode).toBe(400);
    expect(toHttpError(fst('FST_ERR_SOMETHING_NEW', 400)).body.error).toEqual({
      code: 'VALIDATION_ERROR',
      message: 'bad request',
      details: { reason: 'bad_request', errors: [] },
    });
  });

  it('answers anything else 500 INTERNAL with a fixed message', () => {
    for (const thrown of [new Error('secret /etc/passwd'), 'a string', null, { statusCode: 503 }]) {
      const e = toHttpError(thrown);
      expect(e.statusCode).toBe(500);
      expect(e.body).toEqual({ error: { code: 'INTERNAL', message: 'internal error', details: { reason: 'internal' } } });
      expect(e.severe).toBe(true);
    }
  });
});

describe('error answers over HTTP', () => {
  it('schema failure: 400 VALIDATION_ERROR listing each field path and reason', async () => {
    build();
    const res = await app.inject({ method: 'PUT', url: '/v1/functions/hello', payload: { code: 'x', timeoutMs: 5, memoryMb: 'big', bogus: 1 } });
    expect(res.statusCode).toBe(400);
    const err = errorOf(res);
    expect(err.code).toBe('VALIDATION_ERROR');
    const fields = (err.details.errors as { field: string; reason: string }[]).map((e) => e.field);
    expect(fields).toEqual(expect.arrayContaining(['body.timeoutMs', 'body.memoryMb', 'body.bogus']));
    expect(err.details.errors).toContainEqual({ field: 'body.bogus', reason: 'unknown_field', message: 'unknown field' });
    expect(control.calls).toHaveLength(0);
  });

  it('bad JSON: 400 VALIDATION_ERROR', async () => {
    build();
    const res = await app.inject({ method: 'PUT', url: '/v1/functions/hello', headers: { 'content-type': 'application/json' }, payload: '{"code": ' });
    expect(res.statusCode).toBe(400);
    expect(errorOf(res)).toMatchObject({ code: 'VALIDATION_ERROR', message: 'body is not valid JSON' });
  });

  it('wrong content-type: 415 UNSUPPORTED_MEDIA_TYPE, text/plain included', async () => {
    build();
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/xml']) {
      const res = await app.inject({ method: 'PUT', url: '/v1/functions/hello', headers: { 'content-type': type }, payload: 'code=1' });
      expect(res.statusCode).toBe(415);
      expect(errorOf(res).code).toBe('UNSUPPORTED_MEDIA_TYPE');
    }
  });

  it('unknown path: 404 NOT_FOUND in the API shape, without an allow header', async () => {
    build();
    for (const method of ['GET', 'DELETE'] as const) {
      const res = await app.inject({ method, url: '/v1/nope?x=1' });
      expect(res.statusCode).toBe(404);
      expect(errorOf(res)).toMatchObject({ code: 'NOT_FOUND', message: `route ${method} /v1/nope does not exist` });
      expect(res.headers.allow).toBeUndefined();
    }
  });

  it('a known path with a method it does not have: 405 METHOD_NOT_ALLOWED, allow lists its methods', async () => {
    build();
    const cases: [string, 'DELETE' | 'PATCH' | 'GET' | 'OPTIONS', string[]][] = [
      ['/v1/stats', 'DELETE', ['GET', 'HEAD']],
      ['/v1/functions/hello', 'PATCH', ['DELETE', 'GET', 'HEAD', 'PUT']],
      ['/v1/functions', 'DELETE', ['GET', 'HEAD', 'POST']],
      ['/v1/executions/ex_1/cancel', 'GET', ['POST']],
      ['/v1/functions/hello/invoke/', 'OPTIONS', ['POST']],
    ];
    for (const [url, method, allow] of cases) {
      const res = await app.inject({ method, url });
      expect(res.statusCode, `${method} ${url}`).toBe(405);
      expect(res.headers.allow, `${method} ${url}`).toBe(allow.join(', '));
      expect(errorOf(res)).toMatchObject({ code: 'METHOD_NOT_ALLOWED', details: { method, allow } });
    }
    expect(control.calls).toHaveLength(0);
  });

  it('405 needs a key like any other route: 401 without one', async () => {
    control = createFakeControlClient();
    app = buildApp({ control });
    const res = await app.inject({ method: 'DELETE', url: '/v1/stats' });
    expect(res.statusCode).toBe(401);
  });

  it('a trailing slash is ignored: /v1/functions/ is the list, not an empty name', async () => {
    build();
    const list = await app.inject({ method: 'GET', url: '/v1/functions/' });
    expect(list.statusCode).toBe(200);
    expect(list.json()).toEqual((await app.inject({ method: 'GET', url: '/v1/functions' })).json());
    const one = await app.inject({ method: 'GET', url: '/v1/functions/hello/?include=code' });
    expect(one.statusCode).toBe(200);
    expect(control.callsTo('getFunction')).toEqual([['hello', true, undefined]]);
    const invoke = await app.inject({ method: 'POST', url: '/v1/functions/hello/invoke/', payload: { a: 1 } });
    expect(invoke.statusCode).toBe(202);
    expect((await app.inject({ method: 'GET', url: '/healthz/' })).statusCode).toBe(200);
  });

  it('an over-long path parameter is INVALID_NAME, not Fastify 414', async () => {
    build();
    const res = await app.inject({ method: 'GET', url: `/v1/functions/${'a'.repeat(300)}` });
    expect(res.statusCode).toBe(400);
    expect(errorOf(res).code).toBe('INVALID_NAME');
  });

  it('a malformed URL escape is 400 in the API shape', async () => {
    build();
    const res = await app.inject({ method: 'GET', url: '/v1/functions/%E0%A4%A' });
    expect(res.statusCode).toBe(400);
    expect(errorOf(res).code).toMatch(/^(VALIDATION_ERROR|INVALID_NAME)$/);
  });

  const passthrough: [string, TaskForgeError, number][] = [
    ['FUNCTION_NOT_FOUND', functionNotFound('hello'), 404],
    ['EXECUTION_NOT_FOUND', executionNotFound('ex_1'), 404],
    ['FUNCTION_EXISTS', new TaskForgeError('FUNCTION_EXISTS', "function 'hello' already exists"), 409],
    ['INVALID_CODE', new TaskForgeError('INVALID_CODE', 'no export handler'), 400],
    ['SCHEDULER_UNAVAILABLE', new TaskForgeError('SCHEDULER_UNAVAILABLE', 'the scheduler is not reachable'), 503],
  ];
  for (const [code, err, status] of passthrough) {
    it(`${code} from the control client passes through with status ${status}`, async () => {
      build({ getFunction: async () => Promise.reject(err) });
      const res = await app.inject({ method: 'GET', url: '/v1/functions/hello' });
      expect(res.statusCode).toBe(status);
      expect(res.json()).toEqual({ error: { code, message: err.message, details: { reason: expect.any(String), ...err.details } } });
    });
  }

  it('QUEUE_FULL: 429 with retry-after', async () => {
    build({ invoke: async () => Promise.reject(new TaskForgeError('QUEUE_FULL', 'the pending queue is full', { bound: 10 })) });
    const res = await app.inject({ method: 'POST', url: '/v1/functions/hello/invoke' });
    expect(res.statusCode).toBe(429);
    expect(res.headers['retry-after']).toBe('1');
    expect(res.json()).toEqual({ error: { code: 'QUEUE_FULL', message: 'the pending queue is full', details: { reason: 'queue_full', bound: 10 } } });
  });

  it('a plain Error from the client: 500 INTERNAL, no stack or message in the body', async () => {
    build({ stats: async () => Promise.reject(new Error('boom at /srv/secret.js:12')) });
    const res = await app.inject({ method: 'GET', url: '/v1/stats' });
    expect(res.statusCode).toBe(500);
    expect(res.json()).toEqual({ error: { code: 'INTERNAL', message: 'internal error', details: { reason: 'internal' } } });
    expect(res.body).not.toMatch(/boom|secret|at /);
  });
});

describe('one details shape: { field?, reason, … } for every code', () => {
  const READ_KEY = testKey('reader');
  const LIMITED_KEY = testKey('limited');
  const keys = knownKeys({ [READ_KEY]: testPrincipal('reader', ['read']), [LIMITED_KEY]: testPrincipal('limited', ['admin'], ['hello']) });
  const withAuth = (overrides: Parameters<typeof createFakeControlClient>[0] = {}, rateLimit?: number): FastifyInstance => {
    control = createFakeControlClient({ authenticate: keys, ...overrides });
    app = buildApp({ control, ...(rateLimit !== undefined && { rateLimit }) });
    return app;
  };
  const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
  const rejecting = (method: 'getFunction' | 'putFunction' | 'invoke' | 'cancelExecution' | 'retryExecution' | 'stats' | 'scaleWorkers', err: Error) =>
    build({ [method]: async () => Promise.reject(err) });
  const syntaxError = ((): Error => {
    try {
      checkCode('export default (', 'default');
    } catch (err) {
      if (err instanceof Error) return err;
    }
    throw new Error('the code check accepted a syntax error');
  })();

  /** One request per code, and the details it must answer with (exactly). */
  const cases: [ApiErrorCode, () => Promise<{ json(): unknown; statusCode: number }>, Record<string, unknown>][] = [
    [
      'VALIDATION_ERROR',
      () => build().inject({ method: 'PUT', url: '/v1/functions/hello', payload: { code: 'x', timeoutMs: 5 } }),
      {
        field: 'body.timeoutMs',
        reason: 'range',
        errors: [{ field: 'body.timeoutMs', reason: 'range', message: expect.any(String) }],
      },
    ],
    ['INVALID_NAME', () => build().inject({ method: 'GET', url: '/v1/functions/Bad_Name' }), { field: 'params.name', reason: 'pattern', name: 'Bad_Name' }],
    [
      'INVALID_CODE',
      () => rejecting('putFunction', syntaxError).inject({ method: 'PUT', url: '/v1/functions/hello', payload: { code: 'export default (' } }),
      { field: 'body.code', reason: 'syntax', line: 1, column: expect.any(Number), parserMessage: expect.any(String) },
    ],
    ['UNAUTHORIZED', () => withAuth().inject({ method: 'GET', url: '/v1/functions' }), { reason: 'no_valid_key' }],
    [
      'FORBIDDEN',
      () => withAuth().inject({ method: 'DELETE', url: '/v1/functions/hello', headers: bearer(READ_KEY) }),
      { reason: 'scope', scopes: ['admin', 'deploy'] },
    ],
    [
      'FUNCTION_NOT_FOUND',
      () => rejecting('getFunction', functionNotFound('ghost')).inject({ method: 'GET', url: '/v1/functions/ghost' }),
      { reason: 'not_found', name: 'ghost' },
    ],
    [
      'EXECUTION_NOT_FOUND',
      () => build({ getExecution: async (id) => Promise.reject(executionNotFound(id)) }).inject({ method: 'GET', url: '/v1/executions/ex_1' }),
      { reason: 'not_found', id: 'ex_1' },
    ],
    ['NOT_FOUND', () => build().inject({ method: 'GET', url: '/v1/nope' }), { reason: 'no_route', method: 'GET' }],
    ['METHOD_NOT_ALLOWED', () => build().inject({ method: 'PATCH', url: '/v1/stats' }), { reason: 'method', method: 'PATCH', allow: ['GET', 'HEAD'] }],
    [
      'FUNCTION_EXISTS',
      () =>
        rejecting('putFunction', new TaskForgeError('FUNCTION_EXISTS', "function 'hello' already exists", { reason: 'exists', name: 'hello' })).inject({
          method: 'POST',
          url: '/v1/functions',
          payload: { name: 'hello', code: 'x' },
        }),
      { reason: 'exists', name: 'hello' },
    ],
    [
      'EXECUTION_FINISHED',
      () =>
        rejecting('cancelExecution', new TaskForgeError('EXECUTION_FINISHED', 'done', { reason: 'finished', id: 'ex_1', status: 'succeeded' })).inject({
          method: 'POST',
          url: '/v1/executions/ex_1/cancel',
        }),
      { reason: 'finished', id: 'ex_1', status: 'succeeded' },
    ],
    [
      'PAYLOAD_TOO_LARGE',
      () => build().inject({ method: 'PUT', url: '/v1/functions/hello', payload: { code: 'x'.repeat(5 * 1024 * 1024 + 1) } }),
      { field: 'body.code', reason: 'too_large', limitBytes: 5 * 1024 * 1024 },
    ],
    [
      'IDEMPOTENCY_MISMATCH',
      () =>
        rejecting(
          'invoke',
          new TaskForgeError('IDEMPOTENCY_MISMATCH', 'used', { field: 'headers.idempotency-key', reason: 'mismatch', function: 'hello', idempotencyKey: 'k' }),
        ).inject({ method: 'POST', url: '/v1/functions/hello/invoke', headers: { 'idempotency-key': 'k' } }),
      { field: 'headers.idempotency-key', reason: 'mismatch', function: 'hello', idempotencyKey: 'k' },
    ],
    [
      'UNSUPPORTED_MEDIA_TYPE',
      () => build().inject({ method: 'PUT', url: '/v1/functions/hello', headers: { 'content-type': 'text/plain' }, payload: 'x' }),
      { field: 'headers.content-type', reason: 'media_type', contentType: 'text/plain' },
    ],
    [
      'QUEUE_FULL',
      () =>
        rejecting('invoke', new TaskForgeError('QUEUE_FULL', 'full', { reason: 'queue_full', limit: 10 })).inject({
          method: 'POST',
          url: '/v1/functions/hello/invoke',
        }),
      { reason: 'queue_full', limit: 10 },
    ],
    [
      'RATE_LIMITED',
      async () => {
        withAuth({}, 1);
        await app.inject({ method: 'GET', url: '/v1/functions', headers: bearer(READ_KEY) });
        return app.inject({ method: 'GET', url: '/v1/functions', headers: bearer(READ_KEY) });
      },
      { reason: 'rate_limited', limit: 1, retryAfterSeconds: 1 },
    ],
    [
      'EXECUTION_NOT_FINISHED',
      () =>
        rejecting('retryExecution', new TaskForgeError('EXECUTION_NOT_FINISHED', 'running', { reason: 'not_finished', id: 'ex_1', status: 'running' })).inject({
          method: 'POST',
          url: '/v1/executions/ex_1/retry',
        }),
      { reason: 'not_finished', id: 'ex_1', status: 'running' },
    ],
    [
      'CIRCUIT_OPEN',
      () =>
        rejecting('invoke', new TaskForgeError('CIRCUIT_OPEN', 'open', { reason: 'circuit_open', function: 'hello', retryAfterSeconds: 30 })).inject({
          method: 'POST',
          url: '/v1/functions/hello/invoke?mode=sync',
        }),
      { reason: 'circuit_open', function: 'hello', retryAfterSeconds: 30 },
    ],
    [
      'POOL_NOT_CONNECTED',
      () =>
        rejecting('scaleWorkers', new TaskForgeError('POOL_NOT_CONNECTED', 'no pool', { reason: 'no_pool' })).inject({
          method: 'POST',
          url: '/v1/workers/scale',
          payload: { workers: 1 },
        }),
      { reason: 'no_pool' },
    ],
    [
      'POOL_NOT_FOUND',
      () =>
        rejecting('scaleWorkers', new TaskForgeError('POOL_NOT_FOUND', 'no such pool', { reason: 'not_found', pool: 'p' })).inject({
          method: 'POST',
          url: '/v1/workers/scale',
          payload: { workers: 1, pool: 'p' },
        }),
      { reason: 'not_found', pool: 'p' },
    ],
    [
      'POOL_AUTOSCALED',
      () =>
        rejecting('scaleWorkers', new TaskForgeError('POOL_AUTOSCALED', 'autoscaled', { reason: 'autoscaled', pool: 'p' })).inject({
          method: 'POST',
          url: '/v1/workers/scale',
          payload: { workers: 1 },
        }),
      { reason: 'autoscaled', pool: 'p' },
    ],
    ['INTERNAL', () => rejecting('stats', new Error('kaboom')).inject({ method: 'GET', url: '/v1/stats' }), { reason: 'internal' }],
    [
      'SCHEDULER_UNAVAILABLE',
      () => rejecting('stats', fromGrpcError({ code: grpcStatus.UNAVAILABLE })).inject({ method: 'GET', url: '/v1/stats' }),
      { reason: 'unreachable' },
    ],
    [
      'STORAGE_UNAVAILABLE',
      () =>
        rejecting('invoke', new TaskForgeError('STORAGE_UNAVAILABLE', 'storage is unavailable: ENOSPC', { reason: 'storage', code: 'ENOSPC' })).inject({
          method: 'POST',
          url: '/v1/functions/hello/invoke',
        }),
      { reason: 'storage', code: 'ENOSPC' },
    ],
  ];

  it('the table covers every code the API answers', () => {
    expect(cases.map(([code]) => code).sort()).toEqual(Object.keys(DEFAULT_REASON).sort());
    expect(Object.keys(DEFAULT_REASON).sort()).toEqual([...Object.keys(ERROR_STATUS), 'METHOD_NOT_ALLOWED'].sort());
  });

  for (const [code, request, details] of cases) {
    it(`${code}: details ${JSON.stringify(details)}`, async () => {
      const res = await request();
      const error = errorOf(res);
      expect(error.code).toBe(code);
      expect(error.details).toEqual(details);
      expect(error.details.reason).toMatch(/^[a-z][a-z_]*$/);
    });
  }

  it('FORBIDDEN for a function outside a limited key names the field that named it', async () => {
    withAuth();
    const res = await app.inject({ method: 'GET', url: '/v1/functions/other', headers: bearer(LIMITED_KEY) });
    expect(errorOf(res)).toMatchObject({ code: 'FORBIDDEN', details: { reason: 'function', field: 'params.name' } });
  });

  it('an error from a scheduler that sent no reason, or no object, still answers the shape', async () => {
    rejecting('getFunction', new TaskForgeError('FUNCTION_NOT_FOUND', 'gone', { name: 'hello' }));
    expect(errorOf(await app.inject({ method: 'GET', url: '/v1/functions/hello' })).details).toEqual({ reason: 'not_found', name: 'hello' });
    expect(normalizeDetails('VALIDATION_ERROR', 'cursor: bad', { field: 'query.cursor' })).toEqual({
      field: 'query.cursor',
      reason: 'invalid',
      errors: [{ field: 'query.cursor', reason: 'invalid', message: 'cursor: bad' }],
    });
    expect(normalizeDetails('INTERNAL', 'x', ['not', 'an', 'object'])).toEqual({ reason: 'internal' });
    expect(normalizeDetails('NOT_FOUND', 'x', { reason: '', field: 3 })).toEqual({ reason: 'not_found' });
  });
});
