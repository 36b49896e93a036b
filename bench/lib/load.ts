/**
 * HTTP load from autocannon's programmatic API, in this process. Latency is recorded from each
 * `response` event in fractional ms (autocannon's own histogram keeps whole ms, too coarse for a
 * sub-millisecond ceiling), and only answers with the expected status count as done: a sync
 * invoke answered 202 ("not finished yet") or 5xx is a failure here, not a 2xx success.
 */
import autocannon from 'autocannon';
import { performance } from 'node:perf_hooks';
import { authHeaders } from './http.js';
import { summarize, type Summary } from './stats.js';

export interface LoadOptions {
  url: string;
  path: string;
  method?: string;
  body?: string;
  connections: number;
  /** s; ignored when `amount` is set. */
  durationSeconds?: number;
  amount?: number;
  expectStatus: number;
  /** Called with every answer's body (makes autocannon read bodies). */
  onBody?: (status: number, body: string) => void;
  /** s a single request may take. */
  timeoutSeconds?: number;
  /** s after which an `amount` run is stopped even if not every request was sent. */
  maxSeconds?: number;
}

export interface LoadResult {
  connections: number;
  /** Answers with the expected status. */
  ok: number;
  /** Answers with another status. */
  unexpected: number;
  errors: number;
  timeouts: number;
  statusCounts: Record<string, number>;
  /** s from the start of the run to its end. */
  elapsedSeconds: number;
  /** ok per second: over the whole run, or until the last expected answer when `amount` is set. */
  rps: number;
  /** ms, of answers with the expected status. */
  latency: Summary;
  /** performance.now() of the first and last expected answer. */
  firstOkAt: number;
  lastOkAt: number;
  startedAt: number;
}

export function runLoad(opts: LoadOptions): Promise<LoadResult> {
  const latencies: number[] = [];
  const statusCounts: Record<string, number> = {};
  let firstOkAt = NaN;
  let lastOkAt = NaN;
  const startedAt = performance.now();
  return new Promise((resolve, reject) => {
    const req: autocannon.Request = {
      method: opts.method ?? 'POST',
      path: opts.path,
      headers: { 'content-type': 'application/json', ...authHeaders(opts.url) },
      ...(opts.body !== undefined ? { body: opts.body } : {}),
      ...(opts.onBody ? { onResponse: (status: number, body: string) => opts.onBody!(status, body) } : {}),
    };
    const instance = autocannon(
      {
        url: opts.url,
        connections: opts.connections,
        timeout: opts.timeoutSeconds ?? 30,
        requests: [req],
        ...(opts.amount ? { amount: opts.amount } : { duration: opts.durationSeconds ?? 10 }),
      },
      (err, result) => {
        clearTimeout(cap);
        if (err) return reject(err);
        const elapsedSeconds = (performance.now() - startedAt) / 1000;
        const ok = latencies.length;
        let total = 0;
        for (const n of Object.values(statusCounts)) total += n;
        resolve({
          connections: opts.connections,
          ok,
          unexpected: total - ok,
          errors: result.errors,
          timeouts: result.timeouts,
          statusCounts,
          elapsedSeconds,
          rps: opts.amount && ok ? ok / ((lastOkAt - startedAt) / 1000) : ok / elapsedSeconds,
          latency: summarize(latencies),
          firstOkAt,
          lastOkAt,
          startedAt,
        });
      },
    );
    const cap = opts.amount && opts.maxSeconds ? setTimeout(() => instance.stop(), opts.maxSeconds * 1000) : undefined;
    instance.on('response', (_client: unknown, statusCode: number, _bytes: number, responseTime: number) => {
      statusCounts[statusCode] = (statusCounts[statusCode] ?? 0) + 1;
      if (statusCode !== opts.expectStatus) return;
      const now = performance.now();
      if (Number.isNaN(firstOkAt)) firstOkAt = now;
      lastOkAt = now;
      latencies.push(responseTime);
    });
  });
}

/** One line for progress output. */
export function describeLoad(r: LoadResult): string {
  const bad = r.unexpected + r.errors + r.timeouts;
  return `${Math.round(r.rps)} req/s, p50 ${r.latency.p50.toFixed(2)} ms, p99 ${r.latency.p99.toFixed(2)} ms, ${r.ok} ok${bad ? `, ${bad} bad (${JSON.stringify(r.statusCounts)}, errors ${r.errors}, timeouts ${r.timeouts})` : ''}`;
}
