/**
 * The Lambda-compatible Invoke on the real stack, driven by the unmodified AWS SDK: SigV4 with a
 * TaskForge key (verified by the scheduler), the invocation types, logs, versions and errors in
 * the shape the SDK turns into its exceptions; plus unit checks of the SigV4 parsing and replay window.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InvokeCommand, LambdaClient, TooManyRequestsException, type InvokeCommandOutput } from '@aws-sdk/client-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SIGV4_WINDOW_MS } from '../../common/sigv4.js';
import { parseSigV4 } from '../../gateway/auth.js';
import { logTail } from '../../gateway/routes/lambda.js';
import { fn, startStack, type Stack } from '../helpers/stack.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ workers: 1 });
  for (const [name, code] of [
    ['echo', 'export default async (e) => ({ got: e })'],
    ['fails', "export default async () => { console.log('about to fail'); throw new TypeError('boom'); }"],
    ['logs', "export default async () => { for (let i = 0; i < 500; i++) console.log('line ' + i); return 'done'; }"],
    ['versioned', 'export default async () => 1'],
  ] as const) {
    expect((await stack.request('PUT', `/v1/functions/${name}`, fn(code))).status).toBe(201);
  }
  expect((await stack.request('PUT', '/v1/functions/versioned', fn('export default async () => 2'))).status).toBe(201);
}, 60_000);
afterAll(async () => {
  await stack?.close();
});

const split = (key: string): { accessKeyId: string; secretAccessKey: string } => {
  const i = key.lastIndexOf('_');
  return { accessKeyId: key.slice(0, i), secretAccessKey: key.slice(i + 1) };
};

const lambda = (key: string, secret?: string, endpoint: string = stack.url): LambdaClient => {
  const c = split(key);
  return new LambdaClient({
    endpoint,
    region: 'eu-west-1',
    credentials: { accessKeyId: c.accessKeyId, secretAccessKey: secret ?? c.secretAccessKey },
    maxAttempts: 1,
  });
};

async function makeKey(body: Record<string, unknown>): Promise<string> {
  const r = await stack.request('POST', '/v1/keys', body);
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  return r.body.key;
}

const payload = (o: InvokeCommandOutput): unknown => JSON.parse(Buffer.from(o.Payload!).toString('utf8'));
const json = (v: unknown): Uint8Array => Buffer.from(JSON.stringify(v));

describe('Lambda Invoke with the AWS SDK', () => {
  it('RequestResponse answers the output, with $LATEST as the executed version', async () => {
    const out = await lambda(stack.adminKey).send(new InvokeCommand({ FunctionName: 'echo', Payload: json({ n: 1 }) }));
    expect(out.StatusCode).toBe(200);
    expect(out.FunctionError).toBeUndefined();
    expect(out.ExecutedVersion).toBe('$LATEST');
    expect(payload(out)).toEqual({ got: { n: 1 } });
  });

  it('a failed run is 200 with FunctionError Unhandled and the error payload; Tail gives the logs', async () => {
    const out = await lambda(stack.adminKey).send(new InvokeCommand({ FunctionName: 'fails', LogType: 'Tail' }));
    expect(out.StatusCode).toBe(200);
    expect(out.FunctionError).toBe('Unhandled');
    expect(payload(out)).toMatchObject({ errorType: 'TypeError', errorMessage: 'boom', trace: expect.any(Array) });
    expect(Buffer.from(out.LogResult!, 'base64').toString('utf8')).toContain('about to fail');
  });

  it('LogType Tail carries the last 4 KB of the logs', async () => {
    const out = await lambda(stack.adminKey).send(new InvokeCommand({ FunctionName: 'logs', LogType: 'Tail' }));
    expect(payload(out)).toBe('done');
    const tail = Buffer.from(out.LogResult!, 'base64');
    expect(tail.length).toBeLessThanOrEqual(4096);
    expect(tail.toString('utf8')).toContain('line 499');
    expect(tail.toString('utf8')).not.toContain('line 0\n');
  });

  it('Event is 202 with an empty body; DryRun is 204', async () => {
    const ev = await lambda(stack.adminKey).send(new InvokeCommand({ FunctionName: 'echo', InvocationType: 'Event', Payload: json(1) }));
    expect(ev.StatusCode).toBe(202);
    expect(ev.Payload?.length ?? 0).toBe(0);
    const dry = await lambda(stack.adminKey).send(new InvokeCommand({ FunctionName: 'echo', InvocationType: 'DryRun' }));
    expect(dry.StatusCode).toBe(204);
  });

  it('Qualifier pins a version', async () => {
    const c = lambda(stack.adminKey);
    const v1 = await c.send(new InvokeCommand({ FunctionName: 'versioned', Qualifier: '1' }));
    expect(v1.ExecutedVersion).toBe('1');
    expect(payload(v1)).toBe(1);
    const latest = await c.send(new InvokeCommand({ FunctionName: 'versioned' }));
    expect(latest.ExecutedVersion).toBe('$LATEST');
    expect(payload(latest)).toBe(2);
  });

  it('an unknown function raises ResourceNotFoundException', async () => {
    const err = await lambda(stack.adminKey)
      .send(new InvokeCommand({ FunctionName: 'nope' }))
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'ResourceNotFoundException', $metadata: { httpStatusCode: 404 } });
  });

  it('a wrong secret is refused, and so is a body changed after signing', async () => {
    const wrong = await lambda(stack.adminKey, 'A'.repeat(40))
      .send(new InvokeCommand({ FunctionName: 'echo' }))
      .catch((e: unknown) => e);
    expect(wrong).toMatchObject({ name: 'UnrecognizedClientException', $metadata: { httpStatusCode: 401 } });
    expect((wrong as Error).message).toContain('signature does not match');

    const tampering = lambda(stack.adminKey);
    tampering.middlewareStack.add(
      (next) => async (args) => {
        const req = args.request as { body?: unknown };
        req.body = Buffer.from('{"n":2}');
        return next(args);
      },
      { step: 'deserialize', priority: 'high' },
    );
    const tampered = await tampering.send(new InvokeCommand({ FunctionName: 'echo', Payload: Buffer.from('{"n":1}') })).catch((e: unknown) => e);
    expect(tampered).toMatchObject({ name: 'UnrecognizedClientException' });
  });

  it('scopes and function limits apply as to Bearer keys', async () => {
    const reader = await makeKey({ name: 'reader', scopes: ['read'] });
    const denied = await lambda(reader)
      .send(new InvokeCommand({ FunctionName: 'echo' }))
      .catch((e: unknown) => e);
    expect(denied).toMatchObject({ name: 'AccessDeniedException', $metadata: { httpStatusCode: 403 } });
    const limited = await makeKey({ name: 'limited', scopes: ['invoke'], functions: ['echo'] });
    expect(payload(await lambda(limited).send(new InvokeCommand({ FunctionName: 'echo', Payload: json(3) })))).toEqual({ got: 3 });
    const other = await lambda(limited)
      .send(new InvokeCommand({ FunctionName: 'versioned' }))
      .catch((e: unknown) => e);
    expect(other).toMatchObject({ name: 'AccessDeniedException' });
  });

  it('a Bearer key works too', async () => {
    const r = await stack.request('POST', '/2015-03-31/functions/echo/invocations', { b: true });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ got: { b: true } });
    expect(r.headers.get('x-amz-executed-version')).toBe('$LATEST');
    const anon = await stack.requestAs(null, 'POST', '/2015-03-31/functions/echo/invocations', {});
    expect(anon.status).toBe(401);
    expect(anon.headers.get('x-amzn-errortype')).toBe('UnrecognizedClientException');
  });

  it('a key made before keys could sign is refused with the reason, and still works as Bearer', async () => {
    const old = await makeKey({ name: 'old', scopes: ['invoke'] });
    // As keys.json held it before sealed secrets existed.
    const path = join(stack.dataDir, 'keys.json');
    const file = JSON.parse(await readFile(path, 'utf8')) as { keys: { id: string; secretSealed?: string }[] };
    for (const k of file.keys) if (k.id === split(old).accessKeyId.slice(4)) delete k.secretSealed;
    await writeFile(path, JSON.stringify(file));
    await stack.restartScheduler();
    const err = await lambda(old)
      .send(new InvokeCommand({ FunctionName: 'echo' }))
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'UnrecognizedClientException', $metadata: { httpStatusCode: 401 } });
    expect((err as Error).message).toContain('made before keys could sign');
    expect((await stack.requestAs(old, 'POST', '/2015-03-31/functions/echo/invocations', 1)).status).toBe(200);
    // The restart kept every other key able to sign (the master key file is reused).
    expect(payload(await lambda(stack.adminKey).send(new InvokeCommand({ FunctionName: 'echo', Payload: json(4) })))).toEqual({ got: 4 });
  }, 30_000);
});

describe('SigV4 parsing', () => {
  const now = Date.UTC(2026, 0, 2, 3, 4, 5);
  const auth =
    'AWS4-HMAC-SHA256 Credential=tfk_AbCdEf123456/20260102/us-east-1/lambda/aws4_request, SignedHeaders=host;x-amz-date, Signature=' + 'a'.repeat(64);
  const headers = { authorization: auth, host: 'localhost', 'x-amz-date': '20260102T030405Z' };

  it('reads the parts of a well-formed header', () => {
    expect(parseSigV4(headers, now)).toMatchObject({
      accessKeyId: 'tfk_AbCdEf123456',
      credentialScope: '20260102/us-east-1/lambda/aws4_request',
      signedHeaders: 'host;x-amz-date',
      headers: { host: 'localhost', 'x-amz-date': '20260102T030405Z' },
    });
  });

  it('refuses a date outside the replay window, either way', () => {
    expect(parseSigV4(headers, now + SIGV4_WINDOW_MS + 1000)).toEqual({ refused: 'expired' });
    expect(parseSigV4(headers, now - SIGV4_WINDOW_MS - 1000)).toEqual({ refused: 'expired' });
    expect(parseSigV4(headers, now + SIGV4_WINDOW_MS - 1000)).not.toHaveProperty('refused');
  });

  it('refuses missing or unsigned headers and malformed values', () => {
    expect(parseSigV4({ ...headers, 'x-amz-date': undefined }, now)).toEqual({ refused: 'malformed' });
    expect(parseSigV4({ ...headers, host: undefined }, now)).toEqual({ refused: 'malformed' });
    expect(parseSigV4({ ...headers, authorization: auth.replace('host;x-amz-date', 'x-amz-date') }, now)).toEqual({ refused: 'malformed' });
    expect(parseSigV4({ ...headers, authorization: auth.replace('tfk_AbCdEf123456', 'AKIAEXAMPLE') }, now)).toEqual({ refused: 'malformed' });
    expect(parseSigV4({ ...headers, authorization: auth + 'x'.repeat(5000) }, now)).toEqual({ refused: 'malformed' });
    expect(parseSigV4({ ...headers, authorization: undefined }, now)).toEqual({ refused: 'malformed' });
  });

  it('the log tail is at most 4 KB and starts on a character', () => {
    const tail = Buffer.from(logTail([{ message: 'é'.repeat(5000) }]), 'base64');
    expect(tail.length).toBeLessThanOrEqual(4096);
    expect(tail.toString('utf8')).toMatch(/^é+\n$/);
  });
});

// Signed invokes count against their key's rate limit like every other request: the limit is
// applied once the signature has named the key (preHandler), so a SigV4 client cannot go around it.
describe('the per-key rate limit and SigV4', () => {
  let limited: Stack;
  beforeAll(async () => {
    limited = await startStack({ workers: 0, rateLimit: 2 });
    expect((await limited.request('PUT', '/v1/functions/echo', fn('export default async (e) => e'))).status).toBe(201);
  }, 60_000);
  afterAll(async () => {
    await limited?.close();
  });

  it('a burst of signed invokes over the limit is answered TooManyRequestsException', async () => {
    const created = await limited.request('POST', '/v1/keys', { name: 'burst', scopes: ['invoke'] });
    expect(created.status).toBe(201);
    const client = lambda(created.body.key as string, undefined, limited.url);
    // DryRun needs no worker: the answer is about the request, not a run.
    const results = await Promise.allSettled(
      Array.from({ length: 6 }, () => client.send(new InvokeCommand({ FunctionName: 'echo', InvocationType: 'DryRun' }))),
    );
    const ok = results.filter((r) => r.status === 'fulfilled');
    const tooMany = results.filter((r) => r.status === 'rejected' && r.reason instanceof TooManyRequestsException);
    expect(ok.length).toBeGreaterThanOrEqual(1);
    expect(tooMany.length).toBeGreaterThanOrEqual(1);
    expect(ok.length + tooMany.length).toBe(6);
  });
});
