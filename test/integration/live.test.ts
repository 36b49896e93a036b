/**
 * Live views on a real stack (docs/API-PLATFORM.md "Live views"): GET /v1/events as server-sent events —
 * state changes in order with increasing ids, filters, a key limited to some functions,
 * Last-Event-ID resume and reset, pings — and GET /v1/executions/{id}/logs?follow=1, lines with
 * their attempt while the run goes on, then `event: end`. Also the log cap's head and tail and a
 * cancelled execution's timings.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SseReader as SseStream } from '../helpers/sse-reader.js';
import { fn, startStack, type Stack } from '../helpers/stack.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ workers: 1, capacity: 4, gateway: { sse: { pingMs: 100, maxBufferedBytes: 4 * 1024 * 1024 } } });
  await stack.request('PUT', '/v1/functions/echo', fn('export default async (e) => e'));
  await stack.request('PUT', '/v1/functions/other', fn('export default async (e) => e'));
  await stack.request(
    'PUT',
    '/v1/functions/chatty',
    fn(
      'export default async ({ n, ms }) => { for (let i = 0; i < n; i++) { console.log(`line ${i}`); await new Promise((r) => setTimeout(r, ms)); } return n; }',
      { timeoutMs: 20_000 },
    ),
  );
});
afterAll(async () => {
  await stack?.close();
});

/** GET `path` on the stack's gateway as a server-sent event stream. */
const SseReader = { open: (path: string, key: string, headers: Record<string, string> = {}) => SseStream.open(stack.url, path, key, headers) };

describe('GET /v1/events', () => {
  it('streams each state change in order with increasing ids, without input or output', async () => {
    const s = await SseReader.open('/v1/events?function=echo', stack.adminKey);
    expect(s.status).toBe(200);
    expect(s.contentType).toMatch(/^text\/event-stream/);
    const r = await stack.request('POST', '/v1/functions/echo/invoke?mode=sync', { secret: 'input' });
    const id = r.body.id as string;
    await s.until(() => s.executions().some((e) => e.id === id && e.status === 'succeeded'), 'succeeded');
    const mine = s.events.filter((e) => e.event === 'execution' && (JSON.parse(e.data) as { id: string }).id === id);
    expect(mine.map((e) => (JSON.parse(e.data) as { status: string }).status)).toEqual(['queued', 'running', 'succeeded']);
    const ids = mine.map((e) => Number(e.id));
    expect(ids.every((n, i) => Number.isSafeInteger(n) && (i === 0 || n > ids[i - 1]!))).toBe(true);
    for (const e of mine) {
      const rec = JSON.parse(e.data) as Record<string, unknown>;
      expect(rec).not.toHaveProperty('input');
      expect(rec).not.toHaveProperty('output');
      expect(rec).not.toHaveProperty('lease');
    }
    s.close();
  });

  it('with ?function= carries only that function, and ?execution= only that execution', async () => {
    const byFn = await SseReader.open('/v1/events?function=echo', stack.adminKey);
    const first = (await stack.request('POST', '/v1/functions/other/invoke?mode=sync', {})).body.id as string;
    const second = (await stack.request('POST', '/v1/functions/echo/invoke?mode=sync', {})).body.id as string;
    const byEx = await SseReader.open(`/v1/events?execution=${second}`, stack.adminKey);
    await byFn.until(() => byFn.executions().some((e) => e.id === second && e.status === 'succeeded'), 'echo succeeded');
    expect(byFn.executions().some((e) => e.id === first)).toBe(false);
    expect(byFn.executions().every((e) => e.function === 'echo')).toBe(true);
    // The execution already ended: nothing more comes for it, and nothing else does either.
    const third = (await stack.request('POST', '/v1/functions/echo/invoke?mode=sync', {})).body.id as string;
    await byFn.until(() => byFn.executions().some((e) => e.id === third && e.status === 'succeeded'), 'third succeeded');
    expect(byEx.executions()).toEqual([]);
    byFn.close();
    byEx.close();
  });

  it('resumes after Last-Event-ID with what happened meanwhile, and says reset when that is gone', async () => {
    const s = await SseReader.open('/v1/events?function=echo', stack.adminKey);
    const a = (await stack.request('POST', '/v1/functions/echo/invoke?mode=sync', {})).body.id as string;
    await s.until(() => s.executions().some((e) => e.id === a && e.status === 'succeeded'), 'a succeeded');
    const last = s.events[s.events.length - 1]!.id!;
    s.close();
    // Disconnected while b runs.
    const b = (await stack.request('POST', '/v1/functions/echo/invoke?mode=sync', {})).body.id as string;
    const again = await SseReader.open('/v1/events?function=echo', stack.adminKey, { 'last-event-id': last });
    await again.until(() => again.executions().some((e) => e.id === b && e.status === 'succeeded'), 'b replayed');
    expect(again.executions().map((e) => `${e.id === b ? 'b' : e.id}:${e.status}`)).toEqual(['b:queued', 'b:running', 'b:succeeded']);
    again.close();

    const old = await SseReader.open('/v1/events', stack.adminKey, { 'last-event-id': '1' });
    await old.until(() => old.events.length > 0, 'reset');
    expect(old.events[0]).toMatchObject({ event: 'reset' });
    old.close();
  });

  it('sends a ping comment while nothing happens', async () => {
    const s = await SseReader.open('/v1/events?function=nothing-runs-here', stack.adminKey);
    await s.until(() => s.comments >= 2, 'two comments (open, ping)');
    expect(s.events).toEqual([]);
    s.close();
  });

  it('a key limited to one function sees only its executions, 403 for another function, 404 for its execution', async () => {
    const created = await stack.request('POST', '/v1/keys', { name: 'echo-reader', scopes: ['read'], functions: ['echo'] });
    expect(created.status).toBe(201);
    const key = created.body.key as string;
    const forbidden = await SseReader.open('/v1/events?function=other', key);
    expect(forbidden.status).toBe(403);
    const otherId = (await stack.request('POST', '/v1/functions/other/invoke?mode=sync', {})).body.id as string;
    const hidden = await SseReader.open(`/v1/events?execution=${otherId}`, key);
    expect(hidden.status).toBe(404);
    expect(JSON.parse(hidden.text)).toMatchObject({ error: { code: 'EXECUTION_NOT_FOUND' } });

    const s = await SseReader.open('/v1/events', key);
    await stack.request('POST', '/v1/functions/other/invoke?mode=sync', {});
    const mine = (await stack.request('POST', '/v1/functions/echo/invoke?mode=sync', {})).body.id as string;
    await s.until(() => s.executions().some((e) => e.id === mine && e.status === 'succeeded'), 'echo succeeded');
    expect(s.executions().every((e) => e.function === 'echo')).toBe(true);
    s.close();
  });

  it('refuses a bad filter and an unknown query field before opening a stream', async () => {
    const bad = await stack.request('GET', '/v1/events?function=Not%20A%20Name');
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('INVALID_NAME');
    const unknown = await stack.request('GET', '/v1/events?bogus=1');
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.code).toBe('VALIDATION_ERROR');
    const noKey = await stack.requestAs(null, 'GET', '/v1/events');
    expect(noKey.status).toBe(401);
  });
});

describe('GET /v1/executions/{id}/logs?follow=1', () => {
  it('streams lines with their attempt while the run goes on, then the final execution', async () => {
    const id = (await stack.request('POST', '/v1/functions/chatty/invoke', { n: 5, ms: 150 })).body.executionId as string;
    const s = await SseReader.open(`/v1/executions/${id}/logs?follow=1`, stack.adminKey);
    await s.until(() => s.events.some((e) => e.event === 'log'), 'a first line');
    // The first line is here while the execution still runs.
    expect((await stack.request('GET', `/v1/executions/${id}`)).body.status).toBe('running');
    await s.until(() => s.ended, 'the end of the stream');
    const lines = s.events.filter((e) => e.event === 'log').map((e) => JSON.parse(e.data) as { message: string; attempt: number; stream: string });
    expect(lines.map((l) => l.message)).toEqual(['line 0', 'line 1', 'line 2', 'line 3', 'line 4']);
    expect(lines.every((l) => l.attempt === 1 && l.stream === 'stdout')).toBe(true);
    const end = s.events[s.events.length - 1]!;
    expect(end.event).toBe('end');
    expect(JSON.parse(end.data)).toMatchObject({ id, status: 'succeeded', output: 5 });
  });

  it('for a finished execution: every line, then the end at once', async () => {
    const r = await stack.request('POST', '/v1/functions/chatty/invoke?mode=sync', { n: 3, ms: 1 });
    const s = await SseReader.open(`/v1/executions/${r.body.id as string}/logs?follow=1`, stack.adminKey);
    await s.until(() => s.ended, 'the end');
    expect(s.events.map((e) => e.event)).toEqual(['log', 'log', 'log', 'end']);
  });

  it('an unknown execution is 404 in the error shape, not a stream', async () => {
    const s = await SseReader.open('/v1/executions/ex_00000000000000000000/logs?follow=1', stack.adminKey);
    expect(s.status).toBe(404);
    expect(JSON.parse(s.text)).toMatchObject({ error: { code: 'EXECUTION_NOT_FOUND' } });
    const bad = await stack.request('GET', '/v1/executions/ex_00000000000000000000/logs?follow=maybe');
    expect(bad.status).toBe(400);
  });
});

describe('what the logs and records keep', () => {
  it('keeps the first and the last lines of a long output, so the final error survives', async () => {
    await stack.request(
      'PUT',
      '/v1/functions/loud',
      fn("export default () => { for (let i = 0; i < 3000; i++) console.log('line ' + i); console.error('final: boom'); throw new Error('boom'); }", {
        maxRetries: 0,
      }),
    );
    const r = await stack.request('POST', '/v1/functions/loud/invoke?mode=sync', {});
    expect(r.body.status).toBe('failed');
    const logs = (await stack.request('GET', `/v1/executions/${r.body.id as string}/logs`)).body as {
      lines: { message: string; attempt: number }[];
      truncated: boolean;
      dropped: number;
    };
    expect(logs.truncated).toBe(true);
    expect(logs.lines).toHaveLength(1000);
    expect(logs.lines[0]!.message).toBe('line 0');
    expect(logs.lines[499]!.message).toBe('line 499');
    expect(logs.lines[999]).toMatchObject({ message: 'final: boom', attempt: 1 });
    expect(logs.dropped).toBe(3001 - 1000);
  });

  it('a cancelled execution keeps its timings', async () => {
    await stack.request(
      'PUT',
      '/v1/functions/spin',
      fn('export default async () => { await new Promise((r) => setTimeout(r, 30_000)); }', { timeoutMs: 60_000 }),
    );
    const id = (await stack.request('POST', '/v1/functions/spin/invoke', {})).body.executionId as string;
    const s = await SseReader.open(`/v1/events?execution=${id}`, stack.adminKey);
    if ((await stack.request('GET', `/v1/executions/${id}`)).body.status !== 'running')
      await s.until(() => s.executions().some((e) => e.status === 'running'), 'running');
    s.close();
    const c = await stack.request('POST', `/v1/executions/${id}/cancel`);
    expect(c.body.status).toBe('cancelled');
    expect(c.body.timings).toMatchObject({ queuedMs: expect.any(Number), initMs: 0, runMs: expect.any(Number) });
    expect(c.body.durationMs).toBe(c.body.timings.runMs);
  });
});
