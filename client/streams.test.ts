/**
 * The live views against a small local HTTP server that speaks text/event-stream as docs/API-PLATFORM.md
 * "Live views" describes it: resume with Last-Event-ID, `event: reset`, `: ping`, `event: end`.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { TaskForgeApiError, TaskForgeClient, type LiveEvent, type LogEvent } from './index.js';

type Handler = (req: IncomingMessage, res: ServerResponse, n: number) => void;

let server: Server | undefined;
const seen: IncomingMessage[] = [];

async function serve(handler: Handler): Promise<TaskForgeClient> {
  let n = 0;
  server = createServer((req, res) => {
    seen.push(req);
    handler(req, res, ++n);
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return new TaskForgeClient({ url: `http://127.0.0.1:${port}`, apiKey: 'tfk_test', retry: { retries: 3, baseDelayMs: 5, maxDelayMs: 20 } });
}

const stream = (res: ServerResponse): void => {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  res.flushHeaders();
};
const exec = (id: string, status = 'running') => JSON.stringify({ id, function: 'f', version: 1, status });

afterEach(async () => {
  seen.length = 0;
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  server = undefined;
});

describe('events()', () => {
  it('resumes with Last-Event-ID after a dropped connection and hands a reset to the caller', async () => {
    const client = await serve((req, res, n) => {
      stream(res);
      if (n === 1) {
        res.write(`: ping\n\nevent: execution\nid: 1\ndata: ${exec('ex_a')}\n\n`);
        res.write(`event: execution\nid: 2\ndata: ${exec('ex_a', 'succeeded')}\n\n`);
        // The connection drops mid-stream.
        setTimeout(() => res.destroy(), 20);
      } else {
        res.write(`event: reset\nid: 5\ndata: {}\n\nevent: execution\nid: 6\ndata: ${exec('ex_b')}\n\n`);
      }
    });
    const ac = new AbortController();
    const got: LiveEvent[] = [];
    for await (const ev of client.events({ function: 'f', signal: ac.signal })) {
      got.push(ev);
      if (got.length === 4) ac.abort();
    }
    expect(got.map((e) => [e.type, e.id, e.type === 'execution' ? e.execution.id : null])).toEqual([
      ['execution', '1', 'ex_a'],
      ['execution', '2', 'ex_a'],
      ['reset', '5', null],
      ['execution', '6', 'ex_b'],
    ]);
    expect(seen[0]!.url).toBe('/v1/events?function=f');
    expect(seen[0]!.headers['last-event-id']).toBeUndefined();
    expect(seen[0]!.headers.accept).toBe('text/event-stream');
    expect(seen[0]!.headers.authorization).toBe('Bearer tfk_test');
    expect(seen[1]!.headers['last-event-id']).toBe('2');
  });

  it('reconnects when the server ends the stream, and breaking out of the loop closes it', async () => {
    const client = await serve((_req, res, n) => {
      stream(res);
      res.end(`id: ${n}\nevent: execution\ndata: ${exec(`ex_${n}`)}\n\n`);
    });
    const ids: string[] = [];
    for await (const ev of client.events()) {
      if (ev.type === 'execution') ids.push(ev.execution.id);
      if (ids.length === 3) break;
    }
    expect(ids).toEqual(['ex_1', 'ex_2', 'ex_3']);
    expect(seen.map((r) => r.headers['last-event-id'])).toEqual([undefined, '1', '2']);
  });

  it('starts from a given lastEventId', async () => {
    const client = await serve((_req, res) => {
      stream(res);
      res.write(`id: 11\nevent: execution\ndata: ${exec('ex_x')}\n\n`);
    });
    for await (const _ of client.events({ lastEventId: '10' })) break;
    expect(seen[0]!.headers['last-event-id']).toBe('10');
  });

  it('an answer in the error shape ends the iteration with that error, without reconnecting', async () => {
    const client = await serve((_req, res) => {
      res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 'UNAUTHORIZED', message: 'no key', details: {} } }));
    });
    const err = await (async () => {
      for await (const _ of client.events()) return null;
      return null;
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TaskForgeApiError);
    expect(err).toMatchObject({ status: 401, code: 'UNAUTHORIZED' });
    expect(seen).toHaveLength(1);
  });

  it('a 503 is retried like a drop, then given up after the retries', async () => {
    const client = await serve((_req, res) => {
      res
        .writeHead(503, { 'content-type': 'application/json' })
        .end(JSON.stringify({ error: { code: 'SCHEDULER_UNAVAILABLE', message: 'down', details: {} } }));
    });
    await expect(
      (async () => {
        for await (const _ of client.events()) break;
      })(),
    ).rejects.toMatchObject({ code: 'SCHEDULER_UNAVAILABLE' });
    expect(seen).toHaveLength(4);
  });
});

describe('followLogs()', () => {
  const line = (message: string) => JSON.stringify({ ts: '2026-01-01T00:00:00.000Z', stream: 'stdout', message, attempt: 1 });

  it('yields the log lines, then the final Execution, and ends there', async () => {
    const client = await serve((_req, res) => {
      stream(res);
      res.write(`event: log\ndata: ${line('one')}\n\n: ping\n\n`);
      setTimeout(() => res.write(`event: log\ndata: ${line('two')}\n\nevent: end\ndata: ${exec('ex_1', 'succeeded')}\n\n`), 20);
    });
    const got: LogEvent[] = [];
    for await (const ev of client.followLogs('ex_1')) got.push(ev);
    expect(got).toEqual([
      { type: 'log', line: JSON.parse(line('one')) },
      { type: 'log', line: JSON.parse(line('two')) },
      { type: 'end', execution: JSON.parse(exec('ex_1', 'succeeded')) },
    ]);
    expect(seen[0]!.url).toBe('/v1/executions/ex_1/logs?follow=1');
  });

  it('after a drop, follows again without repeating the lines already handed out', async () => {
    const client = await serve((_req, res, n) => {
      stream(res);
      res.write(`event: log\ndata: ${line('one')}\n\nevent: log\ndata: ${line('two')}\n\n`);
      if (n === 1) setTimeout(() => res.destroy(), 20);
      else res.end(`event: log\ndata: ${line('three')}\n\nevent: end\ndata: ${exec('ex_1', 'failed')}\n\n`);
    });
    const messages: string[] = [];
    let end: string | undefined;
    for await (const ev of client.followLogs('ex_1')) {
      if (ev.type === 'log') messages.push(ev.line.message);
      else end = ev.execution.status;
    }
    expect(messages).toEqual(['one', 'two', 'three']);
    expect(end).toBe('failed');
  });

  it('an unknown execution is its 404, at once', async () => {
    const client = await serve((_req, res) => {
      res
        .writeHead(404, { 'content-type': 'application/json' })
        .end(JSON.stringify({ error: { code: 'EXECUTION_NOT_FOUND', message: "execution 'ex_9' does not exist", details: {} } }));
    });
    await expect(
      (async () => {
        for await (const _ of client.followLogs('ex_9')) break;
      })(),
    ).rejects.toMatchObject({ status: 404, code: 'EXECUTION_NOT_FOUND' });
  });
});
