/**
 * Destinations end to end (docs/DESTINATIONS.md): a real stack and a real HTTP receiver on port 0.
 * Signatures verify with the secret FunctionInfo shows, failing receivers are retried, a hanging
 * one is cut by the timeout without holding up other deliveries, a huge answer is cut, private
 * addresses are refused unless allowed, and a function destination gets `{ execution }`.
 */
import { lookup } from 'node:dns/promises';
import { hostname } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { isPrivateAddress } from '../../common/destination.js';
import { verifySignature } from '../../scheduler/delivery/signature.js';
import { settledDelivery, startReceiver, type Receiver } from '../helpers/receiver.js';
import { fn, startStack, type Stack } from '../helpers/stack.js';

const OK = 'export default async (e) => ({ got: e })';
const BOOM = 'export default async () => { throw new Error("boom") }';

async function invokeDone(stack: Stack, name: string, input: unknown = {}): Promise<string> {
  const r = await stack.request('POST', `/v1/functions/${name}/invoke`, input);
  expect(r.status).toBe(202);
  const done = await stack.request('GET', `/v1/executions/${r.body.executionId}?waitMs=15000`);
  expect(['succeeded', 'failed', 'timed_out']).toContain(done.body.status);
  return r.body.executionId as string;
}

let stack: Stack | undefined;
let receiver: Receiver | undefined;
afterEach(async () => {
  await receiver?.close();
  receiver = undefined;
  await stack?.close();
  stack = undefined;
});

const FAST = { allowPrivateWebhooks: true, deliveryRetryBaseMs: 20, deliveryRetryCapMs: 40 };

describe('webhook destinations', () => {
  it('signs the POST of { execution } with the secret FunctionInfo shows to admin and deploy keys only', { timeout: 30_000 }, async () => {
    receiver = await startReceiver((_r, res) => res.writeHead(204).end());
    stack = await startStack({ scheduler: FAST });
    const put = await stack.request('PUT', '/v1/functions/signed', fn(OK, { onSuccess: { url: receiver.url('/hook') } }));
    expect(put.status).toBe(201);
    const secret = put.body.webhookSecret as string;
    expect(secret).toMatch(/^whsec_[0-9a-f]{48}$/);
    expect(put.body.onSuccess).toEqual({ url: receiver.url('/hook') });
    const read = await stack.request('POST', '/v1/keys', { name: 'reader', scopes: ['read'] });
    const seen = await stack.requestAs(read.body.key as string, 'GET', '/v1/functions/signed');
    expect(seen.status).toBe(200);
    expect(seen.body).not.toHaveProperty('webhookSecret');
    expect(seen.body.onSuccess).toEqual({ url: receiver.url('/hook') });
    // A new version keeps the secret.
    const v2 = await stack.request('PUT', '/v1/functions/signed', fn(OK, { onSuccess: { url: receiver.url('/hook') }, description: 'v2' }));
    expect(v2.body.webhookSecret).toBe(secret);

    const id = await invokeDone(stack, 'signed', { n: 1 });
    const d = await settledDelivery(stack, id);
    expect(d).toMatchObject({ status: 'delivered', on: 'success', executionId: id, attempts: [{ attempt: 1, statusCode: 204, error: null }] });
    const got = receiver.received[0]!;
    expect(got.headers['content-type']).toBe('application/json');
    expect(got.headers['taskforge-delivery']).toBe(d.id);
    expect(verifySignature(secret, got.body, got.headers['taskforge-signature'] as string, Math.floor(Date.now() / 1000))).toBe(true);
    expect(verifySignature('whsec_other', got.body, got.headers['taskforge-signature'] as string, Math.floor(Date.now() / 1000))).toBe(false);
    const body = JSON.parse(got.body);
    expect(body.execution).toMatchObject({ id, function: 'signed', status: 'succeeded', input: { n: 1 }, output: { got: { n: 1 } } });
    expect(body.execution).not.toHaveProperty('lease');
  });

  it('a receiver answering 500 twice then 200: three attempts recorded, delivered', { timeout: 30_000 }, async () => {
    receiver = await startReceiver((_r, res, n) => (n <= 2 ? res.writeHead(500).end('not now') : res.writeHead(200).end('thanks')));
    stack = await startStack({ scheduler: FAST });
    await stack.request('PUT', '/v1/functions/flaky', fn(OK, { onSuccess: { url: receiver.url('/flaky') } }));
    const id = await invokeDone(stack, 'flaky');
    const d = await settledDelivery(stack, id);
    expect(d.status).toBe('delivered');
    expect(d.attempts.map((a: { statusCode: number }) => a.statusCode)).toEqual([500, 500, 200]);
    expect(d.attempts[0]).toMatchObject({ error: 'answered 500', responseExcerpt: 'not now', responseTruncated: false });
    expect(d.attempts[2]).toMatchObject({ error: null, responseExcerpt: 'thanks' });
    expect(d.nextAttemptAt).toBeNull();
    expect(new Set(receiver.received.map((r) => r.headers['taskforge-delivery'])).size).toBe(1);
  });

  it('a receiver that never answers is cut by the timeout while other deliveries go through', { timeout: 40_000 }, async () => {
    receiver = await startReceiver((r, res) => {
      if (r.path === '/ok') res.writeHead(200).end();
      // /hang: never answered.
    });
    stack = await startStack({ scheduler: { ...FAST, webhookTimeoutMs: 1_500, deliveryAttempts: 2 } });
    await stack.request('PUT', '/v1/functions/slow-hook', fn(OK, { onSuccess: { url: receiver.url('/hang') } }));
    await stack.request('PUT', '/v1/functions/fast-hook', fn(OK, { onSuccess: { url: receiver.url('/ok') } }));
    const hung = await invokeDone(stack, 'slow-hook');
    const others = [await invokeDone(stack, 'fast-hook'), await invokeDone(stack, 'fast-hook')];
    for (const id of others) expect((await settledDelivery(stack, id)).status).toBe('delivered');
    // The hanging delivery was still on its first attempt while the others were delivered.
    const meanwhile = await stack.request('GET', `/v1/executions/${hung}/deliveries`);
    expect(meanwhile.body.deliveries[0].status).not.toBe('delivered');
    const d = await settledDelivery(stack, hung);
    expect(d.status).toBe('failed');
    expect(d.attempts).toHaveLength(2);
    expect(d.attempts[0]).toMatchObject({ statusCode: null, error: 'timed out after 1500 ms' });
  });

  it('an answer of 10 MB is cut at the read cap', { timeout: 30_000 }, async () => {
    receiver = await startReceiver((_r, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      const chunk = 'x'.repeat(1024 * 1024);
      let sent = 0;
      const more = (): void => {
        while (sent < 10 && !res.destroyed) {
          sent++;
          if (!res.write(chunk)) return void res.once('drain', more);
        }
        if (!res.destroyed) res.end();
      };
      more();
    });
    stack = await startStack({ scheduler: FAST });
    await stack.request('PUT', '/v1/functions/big-answer', fn(OK, { onSuccess: { url: receiver.url('/big') } }));
    const id = await invokeDone(stack, 'big-answer');
    const d = await settledDelivery(stack, id);
    expect(d.status).toBe('delivered');
    expect(d.attempts).toHaveLength(1);
    expect(d.attempts[0]).toMatchObject({ statusCode: 200, responseTruncated: true });
    expect(d.attempts[0].responseExcerpt.length).toBeLessThanOrEqual(1024);
  });

  it('onFailure to a function: it runs with { execution } of the failed record, triggered by it', { timeout: 30_000 }, async () => {
    stack = await startStack({ scheduler: FAST });
    expect((await stack.request('PUT', '/v1/functions/catcher', fn(OK))).status).toBe(201);
    await stack.request('PUT', '/v1/functions/boom', fn(BOOM, { maxRetries: 1, onFailure: { function: 'catcher' } }));
    const put = await stack.request('GET', '/v1/functions/boom');
    expect(put.body).not.toHaveProperty('webhookSecret');
    const id = await invokeDone(stack, 'boom', { why: 'test' });
    const d = await settledDelivery(stack, id);
    expect(d).toMatchObject({ status: 'delivered', on: 'failure', destination: { function: 'catcher' }, attempts: [{ statusCode: null, error: null }] });
    const created = await stack.request('GET', `/v1/executions/${d.createdExecutionId}?waitMs=15000`);
    expect(created.body).toMatchObject({ function: 'catcher', status: 'succeeded', mode: 'async', trigger: { type: 'destination', of: id } });
    expect(created.body.output.got.execution).toMatchObject({ id, status: 'failed', attempt: 2, error: { code: 'FUNCTION_ERROR', message: 'boom' } });
    // One destination per execution, not one per attempt.
    expect((await stack.request('GET', '/v1/executions?function=catcher')).body.executions).toHaveLength(1);
  });

  it('refuses bad destinations at registration: file:, no destination, itself, unknown fields', { timeout: 30_000 }, async () => {
    stack = await startStack({ scheduler: FAST });
    const cases: [unknown, string][] = [
      [{ url: 'file:///etc/passwd' }, 'onSuccess.url'],
      [{ url: 'not a url' }, 'onSuccess.url'],
      [{ url: `https://example.com/${'a'.repeat(2100)}` }, 'body.onSuccess.url'],
      [{}, 'onSuccess'],
      [{ function: 'selfish' }, 'onSuccess.function'],
      [{ url: 'https://example.com', function: 'x' }, 'onSuccess'],
    ];
    for (const [onSuccess, field] of cases) {
      const r = await stack.request('PUT', '/v1/functions/selfish', fn(OK, { onSuccess }));
      expect(r.status, JSON.stringify(onSuccess)).toBe(400);
      expect(r.body.error.code).toBe('VALIDATION_ERROR');
      expect(r.body.error.details.field).toContain(field.replace(/^body\./, ''));
    }
  });

  it('no destinations for a cancelled execution', { timeout: 30_000 }, async () => {
    receiver = await startReceiver((_r, res) => res.writeHead(200).end());
    stack = await startStack({ scheduler: FAST, workers: 0 });
    await stack.request('PUT', '/v1/functions/never', fn(OK, { onSuccess: { url: receiver.url('/s') }, onFailure: { url: receiver.url('/f') } }));
    const r = await stack.request('POST', '/v1/functions/never/invoke', {});
    expect((await stack.request('POST', `/v1/executions/${r.body.executionId}/cancel`)).status).toBe(200);
    expect((await stack.request('GET', `/v1/executions/${r.body.executionId}/deliveries`)).body).toEqual({ deliveries: [] });
    expect((await stack.request('GET', '/v1/executions/ex_nope/deliveries')).status).toBe(404);
    // A key limited to another function learns nothing about this execution's deliveries.
    const other = await stack.request('POST', '/v1/keys', { name: 'other', scopes: ['read'], functions: ['other'] });
    const hidden = await stack.requestAs(other.body.key as string, 'GET', `/v1/executions/${r.body.executionId}/deliveries`);
    expect(hidden.status).toBe(404);
    expect(hidden.body.error.code).toBe('EXECUTION_NOT_FOUND');
    expect((await stack.requestAs(null, 'GET', `/v1/executions/${r.body.executionId}/deliveries`)).status).toBe(401);
  });
});

describe('private addresses', () => {
  it('a loopback URL is refused at registration without --allow-private-webhooks', { timeout: 30_000 }, async () => {
    stack = await startStack();
    for (const url of ['http://127.0.0.1:9/x', 'http://localhost:9/x', 'http://[::1]:9/x', 'http://10.1.2.3/x', 'http://169.254.169.254/latest']) {
      const r = await stack.request('PUT', '/v1/functions/local', fn(OK, { onFailure: { url } }));
      expect(r.status, url).toBe(400);
      expect(r.body.error.details).toMatchObject({ field: 'onFailure.url', reason: 'private_address' });
    }
  });

  const host = hostname();
  it('a name that resolves to loopback is refused at delivery, and allowed with the flag', { timeout: 40_000 }, async (ctx) => {
    const addresses = await lookup(host, { all: true }).catch(() => []);
    if (addresses.length === 0 || !addresses.every((a) => isPrivateAddress(a.address))) ctx.skip();
    receiver = await startReceiver((_r, res) => res.writeHead(200).end());
    const url = `http://${host}:${receiver.port}/named`;
    stack = await startStack({ scheduler: { deliveryAttempts: 1 } });
    expect((await stack.request('PUT', '/v1/functions/named', fn(OK, { onSuccess: { url } }))).status).toBe(201);
    const id = await invokeDone(stack, 'named');
    const d = await settledDelivery(stack, id);
    expect(d.status).toBe('failed');
    expect(d.attempts[0].error).toMatch(/^refused: .* resolves to .*private or loopback/);
    expect(receiver.received).toHaveLength(0);
    await stack.close();

    stack = await startStack({ scheduler: { deliveryAttempts: 1, allowPrivateWebhooks: true } });
    await stack.request('PUT', '/v1/functions/named', fn(OK, { onSuccess: { url } }));
    const ok = await settledDelivery(stack, await invokeDone(stack, 'named'));
    expect(ok.status).toBe('delivered');
    expect(receiver.received).toHaveLength(1);
  });
});
