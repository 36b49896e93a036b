/**
 * The dashboard's static files (web/, built by Vite into dist/web/) at `/`, from the gateway
 * itself: no other server, no other host.
 *
 * It answers only requests that matched no API route, and only GET and HEAD: every API route
 * (`/v1/*`, `/healthz`, `/metrics`, `/2015-03-31/*`, `/openapi.json`, `/docs`) is untouched, and so
 * is the route table (no route is added, so 405s and /openapi.json stay as they were). Of those:
 * - `/` and `/index.html`: the page;
 * - a file the build wrote (`/assets/index-3f2a.js`): that file, cached for a year (its name
 *   changes with its content);
 * - a client route of the page (`/functions/hello`, asked for by a browser: `accept` names
 *   `text/html`, no file extension, not under an API prefix): the page, which routes itself.
 * Anything else goes on to the API's own answer (401, or 404 NOT_FOUND in the error shape).
 *
 * Every answer carries a strict Content-Security-Policy: scripts, styles and connections from this
 * origin only, nothing inline. When the dashboard is not built, `/` says so instead of failing.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

export const WEB_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** Paths that belong to the API whatever a client accepts: never answered with the page. */
export const API_PREFIXES: readonly string[] = ['/v1', '/2015-03-31', '/docs', '/openapi.json', '/metrics', '/healthz', '/readyz'];

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.json': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
};

/** bytes: files above this are not served from memory (a build writes nothing near it). */
const MAX_FILE_BYTES = 8 * 1024 * 1024;

export const NOT_BUILT_MESSAGE = 'The TaskForge dashboard is not built: run `make build` (it writes dist/web/). The API is served as usual under /v1.';

/** dist/web/ beside the running gateway: `dist/gateway/web.js` → `dist/web`, `gateway/web.ts` → `dist/web`. */
export function defaultWebDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const root = dirname(here);
  return basename(root) === 'dist' ? join(root, 'web') : join(root, 'dist', 'web');
}

interface WebFile {
  body: Buffer;
  type: string;
  immutable: boolean;
}

/** Every file of the built dir, by URL path; null when there is no built page. Read once. */
export function loadWebFiles(dir: string): Map<string, WebFile> | null {
  const files = new Map<string, WebFile>();
  const walk = (d: string): void => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const full = join(d, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile() && statSync(full).size <= MAX_FILE_BYTES) {
        const url = '/' + relative(dir, full).split(sep).join('/');
        files.set(url, {
          body: readFileSync(full),
          type: TYPES[extname(entry.name)] ?? 'application/octet-stream',
          immutable: url.startsWith('/assets/'),
        });
      }
    }
  };
  try {
    walk(dir);
  } catch {
    return null;
  }
  return files.has('/index.html') ? files : null;
}

/** When and how big index.html is: a rebuild changes it; null when there is none. */
function buildStamp(dir: string): string | null {
  try {
    const s = statSync(join(dir, 'index.html'));
    return `${s.mtimeMs}:${s.size}`;
  } catch {
    return null;
  }
}

const isApiPath = (path: string): boolean => API_PREFIXES.some((p) => path === p || path.startsWith(p + '/'));

/** Whether an unmatched GET of `path` is one of the page's own routes, asked for by a browser. */
export function isClientRoute(path: string, accept: string | undefined): boolean {
  if (isApiPath(path) || extname(path) !== '') return false;
  return typeof accept === 'string' && accept.toLowerCase().includes('text/html');
}

export interface WebOptions {
  /** The built dir; default dist/web/ (defaultWebDir). */
  dir?: string;
}

function securityHeaders(reply: FastifyReply): FastifyReply {
  return reply.headers({
    'content-security-policy': WEB_CSP,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'cross-origin-opener-policy': 'same-origin',
    'x-frame-options': 'DENY',
  });
}

/**
 * Installs the dashboard on `app`: one onRequest hook, to be added before the auth hook (the page
 * is open, like `/docs`; what it shows needs a key, which it sends on each API call).
 */
export function installWeb(app: FastifyInstance, opts: WebOptions = {}): void {
  const dir = opts.dir ?? defaultWebDir();
  let files: Map<string, WebFile> | null = null;
  let stamp: string | null = null;
  // Read when first asked for, and again when index.html changed (a new `make build` while the
  // gateway runs: its index names new asset files). Only unmatched GETs pay the one stat.
  const current = (): Map<string, WebFile> | null => {
    const now = buildStamp(dir);
    if (now === null) {
      files = null;
      stamp = null;
    } else if (files === null || now !== stamp) {
      files = loadWebFiles(dir);
      stamp = files ? now : null;
    }
    return files;
  };

  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    if (!request.is404 || (request.method !== 'GET' && request.method !== 'HEAD')) return;
    const path = request.url.split('?')[0]!;
    const isPage = path === '/' || path === '/index.html';
    const built = current();
    if (!built) {
      if (!isPage) return;
      await securityHeaders(reply).code(404).type('text/plain; charset=utf-8').header('cache-control', 'no-store').send(NOT_BUILT_MESSAGE);
      return reply;
    }
    const file = isPage ? built.get('/index.html') : (built.get(path) ?? (isClientRoute(path, request.headers.accept) ? built.get('/index.html') : undefined));
    if (!file) return;
    await securityHeaders(reply)
      .code(200)
      .type(file.type)
      .header('cache-control', file.immutable ? 'public, max-age=31536000, immutable' : 'no-cache')
      .send(file.body);
    return reply;
  });
}
