/**
 * The live views of docs/API-PLATFORM.md as async iterators: `events()` (GET /v1/events) and
 * `followLogs()` (GET /v1/executions/{id}/logs?follow=1), both `text/event-stream`.
 *
 * A connection that drops (no answer, a reset, the body ending, a 503) is opened again after a
 * capped, jittered wait; events() sends `Last-Event-ID` so nothing is missed or repeated, and the
 * server's `event: reset` (what was missed is no longer held) is handed to the caller, never
 * hidden. An answer in the API's error shape (401, 403, 404, …) ends the iteration with that
 * error: waiting would not change it. Breaking out of the loop or aborting the signal closes the
 * connection; neither is an error.
 */
import type { Static } from '@sinclair/typebox';
import type { EventsQuery } from '../gateway/schemas.js';
import { TaskForgeApiError } from './errors.js';
import { backoffMs, isRetryableStatus, sleep, type ResolvedRetryOptions } from './retry.js';
import { readSse, SseParser } from './sse.js';
import type { ExecutionRecord, ExecutionSummary, LiveEvent, LogEvent, LogLine } from './types.js';

export interface StreamRequest {
  retry: ResolvedRetryOptions;
  open(path: string, query: Record<string, string | undefined>, lastEventId: string | null, signal: AbortSignal): Promise<ReadableStream<Uint8Array>>;
}

/** `?function=` and `?execution=` of GET /v1/events: only changes of that function's executions, or of that execution. */
export interface EventsOptions extends Static<typeof EventsQuery> {
  /** Resume after this id (as a previous stream's last `id`). */
  lastEventId?: string;
  signal?: AbortSignal;
}

const parseData = (data: string): unknown => {
  if (data === '') return null;
  try {
    return JSON.parse(data);
  } catch {
    throw new TaskForgeApiError(200, 'BAD_RESPONSE', `an event's data is not JSON: ${data.slice(0, 80)}`);
  }
};

/**
 * Keeps a stream open across drops; `handle` turns an SSE event into an item, or ends the stream.
 * The wait before a reconnect grows with consecutive failures only: any event resets it. A body
 * that simply ends counts as a drop (the server closed it: a restart, a proxy's idle timeout).
 */
async function* resilient<T>(
  req: StreamRequest,
  path: string,
  query: Record<string, string | undefined>,
  signal: AbortSignal | undefined,
  resume: { startId: string | null; sendLastEventId: boolean; onOpen?: () => void },
  handle: (ev: { event: string; data: string; id: string | null }) => { item?: T; done?: boolean },
): AsyncGenerator<T> {
  const ac = new AbortController();
  const onAbort = (): void => ac.abort(signal?.reason);
  signal?.addEventListener('abort', onAbort, { once: true });
  if (signal?.aborted) ac.abort(signal.reason);
  const parser = new SseParser();
  parser.lastEventId = resume.startId;
  let failures = 0;
  try {
    while (!ac.signal.aborted) {
      let error: TaskForgeApiError | null = null;
      try {
        const body = await req.open(path, query, resume.sendLastEventId ? parser.lastEventId : null, ac.signal);
        resume.onOpen?.();
        for await (const ev of readSse(body, parser)) {
          failures = 0;
          const { item, done } = handle(ev);
          if (item !== undefined) yield item;
          if (done) return;
        }
      } catch (err) {
        if (ac.signal.aborted) return;
        if (!(err instanceof TaskForgeApiError)) {
          // The body broke off mid-way (a reset connection): that is a drop like any other.
          error = new TaskForgeApiError(0, 'NETWORK_ERROR', `stream interrupted: ${(err as Error).message}`, { cause: err });
        } else if (!isRetryableStatus(err.status) || err.code === 'BAD_RESPONSE') {
          throw err;
        } else {
          error = err;
        }
      }
      failures++;
      if (failures > Math.max(req.retry.retries, 1) && error) throw error;
      try {
        await sleep(backoffMs(failures, req.retry, error?.retryAfterMs ?? null), ac.signal);
      } catch {
        return;
      }
    }
  } finally {
    signal?.removeEventListener('abort', onAbort);
    ac.abort();
  }
}

export function liveEvents(req: StreamRequest, opts: EventsOptions = {}): AsyncGenerator<LiveEvent> {
  const query = { function: opts.function, execution: opts.execution };
  return resilient<LiveEvent>(req, '/v1/events', query, opts.signal, { startId: opts.lastEventId ?? null, sendLastEventId: true }, (ev) => {
    if (ev.event === 'execution') return { item: { type: 'execution', id: ev.id, execution: parseData(ev.data) as ExecutionSummary } };
    if (ev.event === 'reset') return { item: { type: 'reset', id: ev.id, data: parseData(ev.data) } };
    return {};
  });
}

/**
 * A reconnect starts the follow from the first line again (the contract gives it no resume id);
 * lines already handed out are skipped by count, since the server sends the lines so far in
 * order, then the new ones.
 */
export function followLogs(req: StreamRequest, id: string, signal?: AbortSignal): AsyncGenerator<LogEvent> {
  let seen = 0;
  let skip = 0;
  const resume = { startId: null, sendLastEventId: false, onOpen: () => (skip = seen) };
  return resilient<LogEvent>(req, `/v1/executions/${encodeURIComponent(id)}/logs`, { follow: '1' }, signal, resume, (ev) => {
    if (ev.event === 'log') {
      if (skip > 0) {
        skip--;
        return {};
      }
      seen++;
      return { item: { type: 'log', line: parseData(ev.data) as LogLine } };
    }
    if (ev.event === 'end') return { item: { type: 'end', execution: parseData(ev.data) as ExecutionRecord }, done: true };
    return {};
  });
}
