/**
 * A server-sent event stream read with fetch, for integration tests: events in order, the end of
 * the stream noticed, and a wait for a condition on the events so far.
 */
import { SseParser, type SseEvent } from '../../client/sse.js';

export class SseReader {
  readonly events: SseEvent[] = [];
  private readonly parser = new SseParser();
  private waiters: (() => void)[] = [];
  private readonly abort = new AbortController();
  ended = false;
  status = 0;
  contentType = '';
  text = '';

  /** Opens `base + path` with `key`; a response that is not a stream is read whole into `text`. */
  static async open(base: string, path: string, key: string, headers: Record<string, string> = {}): Promise<SseReader> {
    const r = new SseReader();
    const res = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${key}`, ...headers }, signal: r.abort.signal });
    r.status = res.status;
    r.contentType = res.headers.get('content-type') ?? '';
    if (!res.body || !r.contentType.startsWith('text/event-stream')) {
      r.text = await res.text();
      r.ended = true;
      return r;
    }
    void r.pump(res.body);
    return r;
  }

  /** Comment lines so far (`: open`, `: ping`). */
  get comments(): number {
    return this.parser.comments;
  }

  private async pump(body: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    try {
      for await (const chunk of body) {
        this.events.push(...this.parser.push(decoder.decode(chunk, { stream: true })));
        this.wake();
      }
    } catch {
      // aborted by close(), or the connection dropped: either way the stream is over
    }
    this.ended = true;
    this.wake();
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Resolves when `test` holds (checked on every chunk and at the end), or fails after `ms`. */
  async until(test: () => boolean, what: string, ms = 10_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!test()) {
      if (this.ended) throw new Error(`stream ended before ${what}; got ${JSON.stringify(this.events)}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no ${what} within ${ms} ms; got ${JSON.stringify(this.events)}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Resolves once the server has ended the stream, or fails after `ms`. */
  async closedByServer(ms = 10_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!this.ended) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`the stream was still open after ${ms} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  executions(): { id: string; status: string; function: string; input?: unknown; attempt: number }[] {
    return this.events
      .filter((e) => e.event === 'execution')
      .map((e) => JSON.parse(e.data) as { id: string; status: string; function: string; attempt: number });
  }

  close(): void {
    this.abort.abort();
  }
}
