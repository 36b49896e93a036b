/**
 * Whether an address to listen on is loopback only: an IPv4 literal in 127.0.0.0/8 or `::1`.
 * Used to allow running without API keys (`--no-auth`) only where no other machine can connect.
 * Names (`localhost`) are not accepted: what they resolve to is up to the machine's resolver.
 */
import { isIPv4 } from 'node:net';

export function isLoopbackHost(host: string): boolean {
  if (isIPv4(host)) return host.startsWith('127.');
  return host === '::1' || host === '[::1]';
}

/** The one-line refusal of --no-auth on a host that is not loopback only. */
export const noAuthRefusal = (host: string): string =>
  `--no-auth is refused: the gateway would listen on '${host}', which is not loopback only (use --host 127.0.0.1 or ::1, or keep auth on)`;
