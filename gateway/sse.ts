/**
 * Server-sent events on a Fastify reply: the response is taken over (hijacked) and written as
 * `text/event-stream`. A `: ping` comment every `pingMs` keeps proxies and clients from timing an
 * idle stream out. A client that stops reading is not buffered for without end: past
 * `maxBufferedBytes` of unsent output its stream is closed (it reconnects with Last-Event-ID).
 */
import type { FastifyReply } from 'fastify';

export interface SseOptions {
  /** ms between ping comments. */
  pingMs: number;
  /** Unsent bytes a slow client may hold up before its stream is closed. */
  maxBufferedBytes: number;
}

export const SSE_DEFAULTS: Readonly<SseOptions> = Object.freeze({
  pingMs: 15_000,
  maxBufferedBytes: 4 * 1024 * 1024,
});

export interface SseStream {
  /** Writes one event; `data` is already JSON text (one line). */
  send(event: string, data: string, id?: number): void;
  /** Ends the stream. Idempotent. */
  close(): void;
  /** Runs once when the stream ends, whoever ended it. */
  onClose(fn: () => void): void;
  readonly closed: boolean;
}

export function openSse(reply: FastifyReply, opts: SseOptions = SSE_DEFAULTS): SseStream {
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    // Proxies such as nginx would otherwise hold events back in their buffers.
    'x-accel-buffering': 'no',
  });
  // A first comment, so the client sees the stream open before the first event.
  res.write(': open\n\n');
  const closers: (() => void)[] = [];
  let closed = false;
  const ping = setInterval(() => write(': ping\n\n'), opts.pingMs);
  const close = (): void => {
    if (closed) return;
    closed = true;
    clearInterval(ping);
    if (!res.writableEnded) res.end();
    for (const fn of closers.splice(0)) fn();
  };
  const write = (text: string): void => {
    if (closed) return;
    res.write(text);
    if (res.writableLength > opts.maxBufferedBytes) close();
  };
  res.on('close', close);
  res.on('error', close);
  return {
    send(event, data, id) {
      write(`${id === undefined ? '' : `id: ${id}\n`}event: ${event}\ndata: ${data}\n\n`);
    },
    close,
    onClose(fn) {
      if (closed) fn();
      else closers.push(fn);
    },
    get closed() {
      return closed;
    },
  };
}
