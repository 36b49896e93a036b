/**
 * One webhook POST, bounded: a whole-request timeout, an answer read up to a cap (then the
 * connection is cut), no redirects followed, and — unless private webhooks are allowed — every
 * address the name resolves to checked at connect time: the socket connects to the address that
 * was checked, so a name that changes its answer between a check and the connect (DNS
 * rebinding) cannot reach a private address. Never throws: every failure is an outcome.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import { bareHost, isPrivateAddress, privateHostReason } from '../../common/destination.js';
import type { AttemptOutcome } from './transition.js';

export interface WebhookRequest {
  url: string;
  body: string;
  headers: Record<string, string>;
}

export interface WebhookOptions {
  timeoutMs: number;
  maxResponseBytes: number;
  allowPrivate: boolean;
  now?: () => number;
}

export type WebhookSender = (req: WebhookRequest, signal: AbortSignal) => Promise<AttemptOutcome>;

class PrivateAddressError extends Error {
  readonly code = 'EPRIVATE';
}

/** A DNS lookup that refuses names resolving to private addresses (any one of them). */
export const publicOnlyLookup: LookupFunction = (hostname, options, callback) => {
  dnsLookup(hostname, { ...options, all: true }, (err, addresses: LookupAddress[]) => {
    if (err) return callback(err, '', 0);
    const bad = addresses.find((a) => isPrivateAddress(a.address));
    if (bad) return callback(new PrivateAddressError(`${hostname} resolves to ${bad.address}, a private or loopback address`), '', 0);
    if (options.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
    const first = addresses[0];
    if (!first) return callback(Object.assign(new Error(`${hostname}: no address`), { code: 'ENOTFOUND' }), '', 0);
    callback(null, first.address, first.family);
  });
};

export function createWebhookSender(opts: WebhookOptions): WebhookSender {
  const now = opts.now ?? Date.now;
  return (req, outer) =>
    new Promise<AttemptOutcome>((resolve) => {
      const started = now();
      const url = new URL(req.url);
      let settled = false;
      let timer: NodeJS.Timeout | undefined = undefined;
      const controller = new AbortController();
      const onOuterAbort = (): void => {
        controller.abort();
        fail('cancelled: the scheduler is closing');
      };
      const finish = (o: Omit<AttemptOutcome, 'durationMs'>): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        outer.removeEventListener('abort', onOuterAbort);
        resolve({ ...o, durationMs: now() - started });
      };
      const fail = (error: string): void => finish({ ok: false, statusCode: null, error, body: null, truncated: false });
      if (outer.aborted) return fail('cancelled: the scheduler is closing');
      if (!opts.allowPrivate) {
        const why = privateHostReason(url);
        if (why) return fail(`refused: ${why}`);
      }
      timer = setTimeout(() => {
        controller.abort();
        fail(`timed out after ${opts.timeoutMs} ms`);
      }, opts.timeoutMs);
      outer.addEventListener('abort', onOuterAbort);
      const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
      let r: ClientRequest;
      try {
        r = send(
          url,
          {
            method: 'POST',
            headers: { ...req.headers, 'content-length': String(Buffer.byteLength(req.body)) },
            signal: controller.signal,
            ...(!opts.allowPrivate && { lookup: publicOnlyLookup }),
            ...(url.protocol === 'https:' && { servername: bareHost(url) }),
          },
          (res: IncomingMessage) => {
            const chunks: Buffer[] = [];
            let bytes = 0;
            let truncated = false;
            const done = (): void => {
              const status = res.statusCode ?? 0;
              const body = Buffer.concat(chunks).toString('utf8');
              const ok = status >= 200 && status < 300;
              finish({ ok, statusCode: status, error: ok ? null : `answered ${status}`, body, truncated });
            };
            res.on('data', (chunk: Buffer) => {
              if (truncated) return;
              const room = opts.maxResponseBytes - bytes;
              if (chunk.length > room) {
                chunks.push(chunk.subarray(0, room));
                bytes += room;
                truncated = true;
                // Enough read: the status is known, the rest is not wanted.
                done();
                res.destroy();
                controller.abort();
                return;
              }
              chunks.push(chunk);
              bytes += chunk.length;
            });
            res.on('end', done);
            res.on('error', (err) => fail(`answer cut: ${err.message}`));
          },
        );
      } catch (err) {
        return fail(`request failed: ${(err as Error).message}`);
      }
      r.on('error', (err: NodeJS.ErrnoException) => {
        if (err instanceof PrivateAddressError || err.code === 'EPRIVATE') return fail(`refused: ${err.message}`);
        fail(`${err.code ?? 'error'}: ${err.message}`);
      });
      r.end(req.body);
    });
}
