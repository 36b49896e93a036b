import { describe, expect, it } from 'vitest';
import type { SseEvent } from '../../client/sse.js';
import { Api, type ApiError } from './api.js';
import { follow } from './live.js';
import { errorReply, fakeFetch, sseReply } from './testing/fakes.js';

const KEY = `tfk_AbCdEf123456_${'s'.repeat(40)}`;
const noSleep = async (): Promise<void> => undefined;

describe('follow', () => {
  it('reads events with the key in a header, and reopens a dropped stream with last-event-id', async () => {
    const ac = new AbortController();
    const events: SseEvent[] = [];
    let opens = 0;
    const f = fakeFetch(() => {
      if (f.seen.length === 1) return sseReply([': open\n\n', 'id: 7\nevent: execution\ndata: {"id":"ex_1"}\n\n']);
      if (f.seen.length === 2) return errorReply(503, 'SCHEDULER_UNAVAILABLE');
      ac.abort();
      return sseReply(['id: 8\nevent: execution\ndata: {"id":"ex_2"}\n\n']);
    });
    await follow(new Api(KEY, f), '/v1/events', { onEvent: (e) => events.push(e), onOpen: () => opens++ }, ac.signal, { reconnect: true, sleep: noSleep });
    expect(events.map((e) => [e.id, e.data])).toEqual([['7', '{"id":"ex_1"}']]);
    expect(opens).toBe(1);
    expect(f.seen.map((s) => s.headers['last-event-id'])).toEqual([undefined, '7', '7']);
    for (const s of f.seen) {
      expect(s.url).toBe('/v1/events');
      expect(s.headers.authorization).toBe(`Bearer ${KEY}`);
      expect(s.headers.accept).toBe('text/event-stream');
    }
  });

  it('stops at the end of a stream it is not to reopen (a log that ended)', async () => {
    const f = fakeFetch(() => sseReply(['event: log\ndata: {"message":"hi"}\n\n', 'event: end\ndata: {}\n\n']));
    const seen: string[] = [];
    await follow(new Api(KEY, f), '/v1/executions/ex_1/logs?follow=1', { onEvent: (e) => seen.push(e.event) }, new AbortController().signal, {
      reconnect: false,
    });
    expect(seen).toEqual(['log', 'end']);
    expect(f.seen).toHaveLength(1);
  });

  it('reports a refusal and does not try again', async () => {
    const f = fakeFetch(() => errorReply(403, 'FORBIDDEN', { reason: 'function', field: 'query.function' }));
    const errors: ApiError[] = [];
    await follow(new Api(KEY, f), '/v1/events?function=b', { onEvent: () => undefined, onError: (e) => errors.push(e) }, new AbortController().signal, {
      reconnect: true,
      sleep: noSleep,
    });
    expect(errors.map((e) => e.code)).toEqual(['FORBIDDEN']);
    expect(f.seen).toHaveLength(1);
  });

  it('tries again after a network failure or a rate limit, and ends when aborted', async () => {
    const ac = new AbortController();
    const f = fakeFetch(() => {
      if (f.seen.length === 1) return Promise.reject(new TypeError('Failed to fetch'));
      if (f.seen.length === 2) return errorReply(429, 'RATE_LIMITED');
      ac.abort();
      return Promise.reject(new DOMException('aborted', 'AbortError'));
    });
    const slept: number[] = [];
    await follow(new Api(KEY, f), '/v1/events', { onEvent: () => undefined }, ac.signal, {
      reconnect: true,
      retryMs: 250,
      sleep: async (ms) => {
        slept.push(ms);
      },
    });
    expect(f.seen).toHaveLength(3);
    expect(slept).toEqual([250, 250]);
  });

  it('delivers nothing once aborted mid-stream', async () => {
    const ac = new AbortController();
    const seen: string[] = [];
    const f = fakeFetch(() => sseReply(['event: a\ndata: 1\n\nevent: b\ndata: 2\n\n']));
    await follow(
      new Api(KEY, f),
      '/x',
      {
        onEvent: (e) => {
          seen.push(e.event);
          ac.abort();
        },
      },
      ac.signal,
      { reconnect: true, sleep: noSleep },
    );
    expect(seen).toEqual(['a']);
  });
});
