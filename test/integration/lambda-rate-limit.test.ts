/**
 * Signed Lambda invokes count against their key's rate limit like every other request: the
 * limit is applied once the signature has named the key (preHandler), so a SigV4 client cannot
 * go around it. Driven with the unmodified AWS SDK against a gateway limited to 2 requests/s.
 */
import { InvokeCommand, LambdaClient, TooManyRequestsException } from '@aws-sdk/client-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fn, startStack, type Stack } from '../helpers/stack.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ workers: 0, rateLimit: 2 });
  expect((await stack.request('PUT', '/v1/functions/echo', fn('export default async (e) => e'))).status).toBe(201);
}, 60_000);
afterAll(async () => {
  await stack?.close();
});

describe('the per-key rate limit and SigV4', () => {
  it('a burst of signed invokes over the limit is answered TooManyRequestsException', async () => {
    const created = await stack.request('POST', '/v1/keys', { name: 'burst', scopes: ['invoke'] });
    expect(created.status).toBe(201);
    const key = created.body.key as string;
    const i = key.lastIndexOf('_');
    const client = new LambdaClient({
      endpoint: stack.url,
      region: 'eu-west-1',
      credentials: { accessKeyId: key.slice(0, i), secretAccessKey: key.slice(i + 1) },
      maxAttempts: 1,
    });
    // DryRun needs no worker: the answer is about the request, not a run.
    const results = await Promise.allSettled(
      Array.from({ length: 6 }, () => client.send(new InvokeCommand({ FunctionName: 'echo', InvocationType: 'DryRun' }))),
    );
    const ok = results.filter((r) => r.status === 'fulfilled');
    const limited = results.filter((r) => r.status === 'rejected' && r.reason instanceof TooManyRequestsException);
    expect(ok.length).toBeGreaterThanOrEqual(1);
    expect(limited.length).toBeGreaterThanOrEqual(1);
    expect(ok.length + limited.length).toBe(6);
  });
});
