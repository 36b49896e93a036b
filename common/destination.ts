/**
 * Destinations (FunctionSpec onSuccess / onFailure, docs/DESTINATIONS.md): their form, and the
 * address rules of webhook URLs. The form is checked wherever a spec is (gateway and scheduler);
 * the address rule is the scheduler's, at registration for what the URL itself says (an IP
 * literal, `localhost`) and again at every delivery for the addresses its name resolves to.
 */
import { BlockList, isIP } from 'node:net';
import { TaskForgeError } from './errors.js';
import { FUNCTION_NAME_RE } from './names.js';
import type { Destination } from './records.js';

export const MAX_WEBHOOK_URL_CHARS = 2048;

function invalid(field: string, why: string, reason: string): TaskForgeError {
  return new TaskForgeError('VALIDATION_ERROR', `${field}: ${why}`, { field, reason });
}

/**
 * `{ function }` or `{ url }` (exactly one), or null/undefined for none. `self`: the function
 * the spec is for; a function destination naming it is refused (it would run itself forever).
 */
export function normalizeDestination(field: string, raw: unknown, self?: string): Destination | null {
  if (raw === undefined || raw === null) return null;
  if (typeof raw !== 'object' || Array.isArray(raw)) throw invalid(field, 'must be { "function": name } or { "url": "https://…" }', 'type');
  const keys = Object.keys(raw);
  const r = raw as Record<string, unknown>;
  for (const k of keys) if (k !== 'function' && k !== 'url') throw invalid(`${field}.${k}`, 'unknown field', 'unknown_field');
  if (keys.length !== 1) throw invalid(field, 'needs exactly one of function or url', 'one_of');
  if ('function' in r) {
    if (typeof r.function !== 'string' || !FUNCTION_NAME_RE.test(r.function)) {
      throw invalid(`${field}.function`, `must match ${FUNCTION_NAME_RE.source}`, 'pattern');
    }
    if (self !== undefined && r.function === self) throw invalid(`${field}.function`, 'a function cannot be its own destination', 'self');
    return { function: r.function };
  }
  return { url: checkWebhookUrl(`${field}.url`, r.url).href };
}

/** Parses a webhook URL and checks its form: http(s), no credentials, at most 2048 characters. */
export function checkWebhookUrl(field: string, raw: unknown): URL {
  if (typeof raw !== 'string') throw invalid(field, 'must be a string', 'type');
  if (raw.length > MAX_WEBHOOK_URL_CHARS) throw invalid(field, `at most ${MAX_WEBHOOK_URL_CHARS} characters`, 'length');
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw invalid(field, 'not a valid URL', 'format');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw invalid(field, `scheme must be http or https, not ${url.protocol}`, 'scheme');
  if (url.username !== '' || url.password !== '') throw invalid(field, 'must not carry credentials (the signature authenticates the sender)', 'credentials');
  if (url.href.length > MAX_WEBHOOK_URL_CHARS) throw invalid(field, `at most ${MAX_WEBHOOK_URL_CHARS} characters`, 'length');
  return url;
}

/** Loopback, private, link-local, shared, multicast and reserved ranges: never a webhook's address. */
const PRIVATE = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const)
  PRIVATE.addSubnet(net, prefix, 'ipv4');
for (const [net, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['64:ff9b::', 96],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const)
  PRIVATE.addSubnet(net, prefix, 'ipv6');

/** True for an address no webhook may reach unless private webhooks are allowed. */
export function isPrivateAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return PRIVATE.check(address, 'ipv4');
  if (family !== 6) return true;
  const lower = address.toLowerCase();
  // An IPv4 address written as IPv6 (::ffff:127.0.0.1) is that IPv4 address.
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
  if (mapped) return PRIVATE.check(mapped[1]!, 'ipv4');
  if (lower.startsWith('::ffff:')) return true;
  return PRIVATE.check(lower, 'ipv6');
}

/** The host of a URL without IPv6 brackets. */
export const bareHost = (url: URL): string => (url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname);

/**
 * What the URL alone says about its address: an IP literal in a private range, or a `localhost`
 * name. Returns the reason or null; names that resolve to a private address are caught at delivery.
 */
export function privateHostReason(url: URL): string | null {
  const host = bareHost(url).toLowerCase();
  if (isIP(host) !== 0) return isPrivateAddress(host) ? `address ${host} is private or loopback` : null;
  if (host === 'localhost' || host.endsWith('.localhost')) return `${host} is loopback`;
  return null;
}

/** Registration check of a url destination's host (skipped when private webhooks are allowed). */
export function assertPublicWebhook(field: string, d: Destination | null | undefined, allowPrivate: boolean): void {
  if (!d || !('url' in d) || allowPrivate) return;
  const why = privateHostReason(new URL(d.url));
  if (why) {
    throw new TaskForgeError(
      'VALIDATION_ERROR',
      `${field}.url: ${why}; webhooks go to public addresses (the scheduler's --allow-private-webhooks lifts this)`,
      {
        field: `${field}.url`,
        reason: 'private_address',
      },
    );
  }
}
