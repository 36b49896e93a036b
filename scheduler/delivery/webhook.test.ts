import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createWebhookSender, publicOnlyLookup } from './webhook.js';

let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

async function serve(answer: (res: ServerResponse, body: string, headers: Record<string, unknown>) => void): Promise<string> {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => answer(res, Buffer.concat(chunks).toString(), req.headers));
    res.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
}

const send = createWebhookSender({ timeoutMs: 2_000, maxResponseBytes: 1024, allowPrivate: true });
const never = new AbortController().signal;
const req = (url: string) => ({ url, body: '{"execution":{}}', headers: { 'content-type': 'application/json', 'x-test': '1' } });

describe('webhook sender', () => {
  it('POSTs the body and headers; a 2xx is ok with its answer', async () => {
    let seen: { body: string; headers: Record<string, unknown> } | undefined;
    const url = await serve((res, body, headers) => {
      seen = { body, headers };
      res.writeHead(201).end('created');
    });
    const o = await send(req(url), never);
    expect(o).toMatchObject({ ok: true, statusCode: 201, error: null, body: 'created', truncated: false });
    expect(seen).toMatchObject({ body: '{"execution":{}}', headers: { 'x-test': '1', 'content-length': '16' } });
  });

  it('a redirect is not followed: not delivered', async () => {
    const url = await serve((res) => res.writeHead(302, { location: 'http://169.254.169.254/' }).end());
    expect(await send(req(url), never)).toMatchObject({ ok: false, statusCode: 302, error: 'answered 302' });
  });

  it('an answer over the cap is cut, the connection closed', async () => {
    const url = await serve((res) => {
      res.writeHead(200);
      res.write('a'.repeat(800));
      res.write('b'.repeat(800));
      // Never ended: the cap, not the end, finishes the read.
    });
    const o = await send(req(url), never);
    expect(o).toMatchObject({ ok: true, statusCode: 200, truncated: true });
    expect(o.body).toHaveLength(1024);
  });

  it('a connection refused, a receiver that never answers, an abort: failures with why', async () => {
    const url = await serve(() => undefined);
    const port = new URL(url).port;
    await new Promise<void>((resolve) => server!.close(() => resolve()));
    server = undefined;
    expect(await send(req(`http://127.0.0.1:${port}/`), never)).toMatchObject({ ok: false, statusCode: null, error: expect.stringMatching(/^ECONNREFUSED/) });

    const hang = await serve(() => undefined);
    const quick = createWebhookSender({ timeoutMs: 100, maxResponseBytes: 1024, allowPrivate: true });
    expect(await quick(req(hang), never)).toMatchObject({ ok: false, error: 'timed out after 100 ms' });

    const ac = new AbortController();
    const pending = send(req(hang), ac.signal);
    ac.abort();
    expect(await pending).toMatchObject({ ok: false, error: 'cancelled: the scheduler is closing' });
  });

  it('without private webhooks: a private literal and a name that resolves to loopback are refused before any request', async () => {
    let requests = 0;
    const url = await serve((res) => {
      requests++;
      res.end();
    });
    const strict = createWebhookSender({ timeoutMs: 2_000, maxResponseBytes: 1024, allowPrivate: false });
    expect(await strict(req(url), never)).toMatchObject({ ok: false, error: 'refused: address 127.0.0.1 is private or loopback' });
    expect(await strict(req(url.replace('127.0.0.1', 'localhost')), never)).toMatchObject({ ok: false, error: 'refused: localhost is loopback' });
    expect(requests).toBe(0);
  });

  it('publicOnlyLookup refuses names with a private address and passes public answers through', async () => {
    const err = await new Promise<NodeJS.ErrnoException | null>((resolve) => publicOnlyLookup('localhost', {}, (e) => resolve(e)));
    expect(err?.message).toMatch(/resolves to .* private or loopback/);
    const missing = await new Promise<NodeJS.ErrnoException | null>((resolve) => publicOnlyLookup('does-not-exist.invalid', {}, (e) => resolve(e)));
    expect(missing?.code).toMatch(/ENOTFOUND|EAI_AGAIN/);
  });
});
