/**
 * The scheduler address list workers and gateways are given (`--scheduler a:50051,b:50051`,
 * TASKFORGE_SCHEDULER): parsed and checked once, at start, into host:port strings in the order
 * given. Only one scheduler of a list is active at a time: standbys do not listen, so "connection
 * refused" at one address means "try the next one" (docs/CONFIGURATION.md "Several schedulers").
 *
 * It never resolves a name and never connects: which address is used, and when to move on, is
 * the business of the worker agent and the gateway's failover client.
 */
import { OptionsError } from './options-error.js';

/** More would be a mistake in the list, not a cluster: each one is a connection kept open. */
export const MAX_SCHEDULER_ADDRESSES = 16;

/** A host name, an IPv4 address or a bracketed IPv6 address, then a port 1…65535. */
const ADDRESS = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252}[A-Za-z0-9])?):(\d{1,5})$/;

/**
 * The addresses of `value`, split at commas, each checked; duplicates refused (they would make
 * "move to the next" a no-op). Throws an OptionsError naming `option` for anything else.
 */
export function parseSchedulerList(value: string, option = 'scheduler'): readonly string[] {
  if (typeof value !== 'string' || value.trim() === '') throw new OptionsError(option, `${option} must be host:port[,host:port...], got an empty value`);
  const parts = value.split(',').map((p) => p.trim());
  if (parts.length > MAX_SCHEDULER_ADDRESSES) throw new OptionsError(option, `${option} lists ${parts.length} addresses; at most ${MAX_SCHEDULER_ADDRESSES}`);
  const seen = new Set<string>();
  for (const [i, part] of parts.entries()) {
    const m = ADDRESS.exec(part);
    const port = m ? Number(m[1]) : 0;
    if (!m || port < 1 || port > 65_535) {
      // The entry is an address, never a secret: naming it is what makes the mistake findable.
      throw new OptionsError(
        option,
        `${option} entry ${i + 1} (${JSON.stringify(part)}) must be host:port with a port 1-65535; the list is host:port[,host:port...]`,
      );
    }
    const key = part.toLowerCase();
    if (seen.has(key)) throw new OptionsError(option, `${option} lists ${part} twice`);
    seen.add(key);
  }
  return Object.freeze(parts);
}
