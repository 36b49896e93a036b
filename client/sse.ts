/**
 * A parser for `text/event-stream` (the WHATWG HTML "server-sent events" format): bytes in,
 * events out. Lines end in CRLF, LF or CR; `field: value` (one space after the colon dropped);
 * `data` lines join with LF; `id` is remembered across events (for `Last-Event-ID`); lines that
 * start with `:` are comments (the server's `: ping`) and dispatch nothing. A blank line ends an
 * event. Unlike a browser, an event with a type but no data is still delivered: `event: reset`
 * must reach the caller however the server writes it.
 */

export interface SseEvent {
  /** `message` when the server named no type. */
  event: string;
  data: string;
  /** The last id the stream set, as `Last-Event-ID` would send it; null before any. */
  id: string | null;
  /** Reconnection time the server asked for, in ms, if this event carried one. */
  retry?: number;
}

export class SseParser {
  private buffer = '';
  private data: string[] = [];
  private type = '';
  private sawField = false;
  private retry: number | undefined;
  private pendingCR = false;
  /** The stream's last event id, kept across events. */
  lastEventId: string | null = null;
  /** Comment lines seen (the server's `: ping`s): a sign of life that dispatches no event. */
  comments = 0;

  /** Feeds text; returns the events it completed. */
  push(text: string): SseEvent[] {
    let chunk = text;
    // A CR at the end of the last chunk may be the first half of a CRLF.
    if (this.pendingCR && chunk.startsWith('\n')) chunk = chunk.slice(1);
    this.pendingCR = false;
    this.buffer += chunk;
    const out: SseEvent[] = [];
    for (;;) {
      const m = /\r\n|\r|\n/.exec(this.buffer);
      if (!m) break;
      if (m[0] === '\r' && m.index === this.buffer.length - 1) this.pendingCR = true;
      const line = this.buffer.slice(0, m.index);
      this.buffer = this.buffer.slice(m.index + m[0].length);
      const ev = this.line(line);
      if (ev) out.push(ev);
    }
    return out;
  }

  private line(line: string): SseEvent | null {
    if (line === '') return this.dispatch();
    if (line.startsWith(':')) {
      this.comments += 1;
      return null;
    }
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    switch (field) {
      case 'data':
        this.data.push(value);
        this.sawField = true;
        break;
      case 'event':
        this.type = value;
        this.sawField = true;
        break;
      case 'id':
        if (!value.includes('\0')) this.lastEventId = value;
        break;
      case 'retry':
        if (/^\d+$/.test(value)) this.retry = Number(value);
        break;
      default:
      // unknown fields are ignored, as the format says
    }
    return null;
  }

  private dispatch(): SseEvent | null {
    const ev: SseEvent | null = this.sawField ? { event: this.type || 'message', data: this.data.join('\n'), id: this.lastEventId } : null;
    if (ev && this.retry !== undefined) ev.retry = this.retry;
    this.data = [];
    this.type = '';
    this.sawField = false;
    this.retry = undefined;
    return ev;
  }
}

/** The events of a response body, in order; ends when the body does (an event cut off mid-way is dropped). */
export async function* readSse(body: ReadableStream<Uint8Array>, parser = new SseParser()): AsyncGenerator<SseEvent> {
  const decoder = new TextDecoder();
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      yield* parser.push(decoder.decode(value, { stream: true }));
    }
    yield* parser.push(decoder.decode());
  } finally {
    // Cancelling tells the server we are gone; it may already be closed.
    await reader.cancel().catch(() => undefined);
  }
}
