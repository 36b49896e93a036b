/**
 * The dashboard's HTTP client: every call carries the key in `authorization: Bearer` (never in a
 * URL), and every refusal comes back as an ApiError in the API's error shape (docs/API.md, "Errors").
 */
export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

export interface RequestOptions {
  body?: unknown;
  /** Sent as is with this content type instead of JSON (the capability probes). */
  rawBody?: { type: string; text: string };
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** Statuses at or over 400 that carry a record, not an error (a sync invoke's 502 and 504). */
  accept?: readonly number[];
}

export interface ApiReply<T> {
  status: number;
  body: T;
}

/** The error of a reply in the API's shape, or one made from the status when it is not. */
export function toApiError(status: number, body: unknown): ApiError {
  const e = (body as { error?: { code?: unknown; message?: unknown; details?: unknown } } | null)?.error;
  if (e && typeof e.code === 'string') {
    const details = e.details && typeof e.details === 'object' ? (e.details as Record<string, unknown>) : {};
    return new ApiError(status, e.code, typeof e.message === 'string' ? e.message : e.code, details);
  }
  return new ApiError(status, status === 0 ? 'NETWORK' : 'HTTP_' + String(status), status === 0 ? 'the gateway cannot be reached' : `HTTP ${status}`);
}

/** `path` with the query parameters that are set (empty strings and undefined are left out). */
export function withQuery(path: string, query: Record<string, string | number | boolean | undefined | null>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

export class Api {
  constructor(
    private readonly key: string,
    private readonly fetchImpl: FetchLike = (input, init) => fetch(input, init),
  ) {}

  /** The response itself (for streams); the key goes in the header. */
  async raw(method: string, path: string, opts: RequestOptions = {}): Promise<Response> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.key}`, ...opts.headers };
    let body: string | undefined;
    if (opts.rawBody) {
      headers['content-type'] = opts.rawBody.type;
      body = opts.rawBody.text;
    } else if (opts.body !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(opts.body);
    }
    try {
      return await this.fetchImpl(path, { method, headers, body, signal: opts.signal, cache: 'no-store' });
    } catch (err) {
      if ((err as Error)?.name === 'AbortError') throw err;
      throw toApiError(0, null);
    }
  }

  async request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<ApiReply<T>> {
    const res = await this.raw(method, path, opts);
    const text = await res.text();
    let body: unknown = null;
    if (text !== '') {
      try {
        body = JSON.parse(text);
      } catch {
        body = null;
      }
    }
    if (res.status >= 400 && !opts.accept?.includes(res.status)) throw toApiError(res.status, body);
    if (res.status >= 400 && (body as { error?: unknown } | null)?.error && !(body as { id?: unknown }).id) throw toApiError(res.status, body);
    return { status: res.status, body: body as T };
  }

  get<T>(path: string, signal?: AbortSignal): Promise<T> {
    return this.request<T>('GET', path, { signal }).then((r) => r.body);
  }
}
