/**
 * A webhook receiver for tests: a real HTTP server on port 0 that records every request, and a
 * poll of an execution's deliveries until one is settled.
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'vitest';
import type { Stack } from './stack.js';

export interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface Receiver {
  port: number;
  url(path: string): string;
  received: Received[];
  close(): Promise<void>;
}

/** A real HTTP server; `answer` decides each request's answer (it may leave it hanging). */
export async function startReceiver(answer: (r: Received, res: ServerResponse, count: number) => void): Promise<Receiver> {
  const received: Received[] = [];
  const open = new Set<ServerResponse>();
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r = { path: req.url ?? '/', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      received.push(r);
      open.add(res);
      res.on('close', () => open.delete(res));
      res.on('error', () => undefined);
      answer(r, res, received.filter((x) => x.path === r.path).length);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: (path) => `http://127.0.0.1:${port}${path}`,
    received,
    close: async () => {
      for (const res of open) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Polls the deliveries of an execution until one is delivered or failed. */
export async function settledDelivery(stack: Stack, executionId: string, deadlineMs = 30_000): Promise<any> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    const r = await stack.request('GET', `/v1/executions/${executionId}/deliveries`);
    expect(r.status).toBe(200);
    const d = r.body.deliveries[0];
    if (d && (d.status === 'delivered' || d.status === 'failed')) return d;
    if (Date.now() > end) throw new Error(`delivery of ${executionId} is still ${JSON.stringify(d)}`);
    await new Promise((res) => setTimeout(res, 50));
  }
}
