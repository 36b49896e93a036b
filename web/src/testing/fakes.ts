/** Fakes for the dashboard's unit tests: a fetch that answers from a function, and a Storage. */
import type { FetchLike } from '../api.js';

export interface SeenRequest {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: string | undefined;
}

export function fakeFetch(answer: (req: SeenRequest) => Response | Promise<Response>): FetchLike & { seen: SeenRequest[] } {
  const seen: SeenRequest[] = [];
  const f = async (url: string, init: RequestInit = {}): Promise<Response> => {
    const req: SeenRequest = {
      url,
      method: init.method ?? 'GET',
      headers: { ...(init.headers as Record<string, string>) },
      body: typeof init.body === 'string' ? init.body : undefined,
    };
    seen.push(req);
    return answer(req);
  };
  return Object.assign(f, { seen });
}

export const jsonReply = (status: number, body: unknown): Response =>
  new Response(body === undefined ? null : JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

export const errorReply = (status: number, code: string, details: Record<string, unknown> = { reason: 'x' }): Response =>
  jsonReply(status, { error: { code, message: `${code} message`, details } });

/** A response whose body is these SSE chunks, then its end. */
export const sseReply = (chunks: string[]): Response =>
  new Response(
    new ReadableStream<Uint8Array>({
      start(c) {
        for (const chunk of chunks) c.enqueue(new TextEncoder().encode(chunk));
        c.close();
      },
    }),
    { status: 200, headers: { 'content-type': 'text/event-stream' } },
  );

export class MemoryStorage implements Pick<Storage, 'getItem' | 'setItem' | 'removeItem' | 'key' | 'length'> {
  readonly map = new Map<string, string>();
  failWrites = false;
  get length(): number {
    return this.map.size;
  }
  key(i: number): string | null {
    return [...this.map.keys()][i] ?? null;
  }
  getItem(k: string): string | null {
    return this.map.get(k) ?? null;
  }
  setItem(k: string, v: string): void {
    if (this.failWrites) throw new Error('QuotaExceededError');
    this.map.set(k, v);
  }
  removeItem(k: string): void {
    this.map.delete(k);
  }
}
