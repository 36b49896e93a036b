/**
 * Server-sent event streams read with fetch (EventSource cannot send the key in a header, and the
 * key never goes in a URL), parsed by the client package's SseParser. A stream that drops is
 * opened again with `last-event-id`, so the scheduler replays what was missed (or says `reset`).
 */
import { SseParser, readSse, type SseEvent } from '../../client/sse.js';
import { toApiError, type Api, type ApiError } from './api.js';

export interface FollowHandlers {
  onEvent(ev: SseEvent): void;
  /** The stream is open (again). */
  onOpen?(): void;
  /** A refusal (4xx): the stream is not opened again. */
  onError?(err: ApiError): void;
}

export interface FollowOptions {
  /** Open the stream again when it ends (a live view), or stop (a log that ends with `end`). */
  reconnect: boolean;
  /** ms between attempts. */
  retryMs?: number;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

const defaultSleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(t);
        resolve();
      },
      { once: true },
    );
  });

/** Reads `path` until `signal` aborts (or, without reconnect, until the stream ends). */
export async function follow(api: Api, path: string, handlers: FollowHandlers, signal: AbortSignal, opts: FollowOptions): Promise<void> {
  const parser = new SseParser();
  const sleep = opts.sleep ?? defaultSleep;
  while (!signal.aborted) {
    try {
      const headers: Record<string, string> = { accept: 'text/event-stream' };
      if (parser.lastEventId !== null) headers['last-event-id'] = parser.lastEventId;
      const res = await api.raw('GET', path, { headers, signal });
      if (signal.aborted) return;
      if (!res.ok || !res.body) {
        const body: unknown = await res.json().catch(() => null);
        const err = toApiError(res.status, body);
        if (res.status >= 400 && res.status < 500 && res.status !== 429) {
          handlers.onError?.(err);
          return;
        }
        throw err;
      }
      handlers.onOpen?.();
      for await (const ev of readSse(res.body, parser)) {
        if (signal.aborted) return;
        handlers.onEvent(ev);
      }
    } catch {
      // A dropped connection, a gateway restarting, a 5xx: try again (below), unless told to stop.
      if (signal.aborted) return;
    }
    if (!opts.reconnect) return;
    await sleep(opts.retryMs ?? 1000, signal);
  }
}
