/**
 * "Hosts" made of Linux network namespaces, for tests that need processes on different machines
 * talking over a real network path: each host is a namespace with one `eth0` (a veth pair) whose
 * other end is a port of a bridge in a namespace of its own (the switch). The test process itself
 * is one more host: a veth from the root namespace to the bridge (the only thing this adds to the
 * root namespace), so it can reach a gateway the way a client would.
 *
 * Every name carries a random run id, and the /24 is one of 10.213.0.0/16 that nothing on this
 * machine routes or holds, so a leftover of a killed run never collides with the next. Needs root
 * and iproute2 (`make netns-deps`). close() must always run: it ends whatever still runs inside the
 * namespaces (only processes the test started can be there) and deletes them.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** iproute2's ip, found where Debian puts it even when sbin is not on PATH; else by PATH. */
export const IP = ['/usr/sbin/ip', '/sbin/ip', '/usr/bin/ip', '/bin/ip'].find((p) => existsSync(p)) ?? 'ip';

/**
 * Why these tests cannot run here, or null when they can. Only a machine that cannot have network
 * namespaces skips: as root a missing ip fails the test (make netns-deps installs it).
 */
export function netnsUnavailable(): string | null {
  if (process.platform !== 'linux') return 'network namespaces are Linux only';
  if (process.getuid?.() !== 0) return 'network namespaces need root (ip netns add); CI runs the tests as root';
  return null;
}

/** `ip <args>`; a failure says which command failed and what ip printed. */
export async function ip(...args: string[]): Promise<string> {
  try {
    return (await run(IP, args)).stdout;
  } catch (err) {
    const e = err as { code?: unknown; stderr?: string; message: string };
    if (e.code === 'ENOENT') throw new Error('ip (iproute2) is missing: run make netns-deps', { cause: err });
    throw new Error(`ip ${args.join(' ')} failed: ${(e.stderr ?? e.message).trim()}`, { cause: err });
  }
}

export interface Host {
  /** The namespace: pass it as spawnComponent's `netns`. */
  ns: string;
  address: string;
  /** Pulls the host's cable out of the switch: its bridge port goes down, the host's eth0 loses carrier and packets vanish. */
  cut(): Promise<void>;
  /** Plugs it back in. */
  restore(): Promise<void>;
}

export interface Lab {
  /** This run's id, the start of every namespace and link name the lab makes. */
  id: string;
  /** The first three octets of the lab's /24, e.g. `10.213.57`. */
  subnet: string;
  /** The test process's own address on the lab network. */
  clientAddress: string;
  /** A new host at `<subnet>.<octet>` (1..250). */
  addHost(role: string, octet: number): Promise<Host>;
  /** Ends what still runs in the lab's namespaces and deletes them; safe to call twice, and after a failed start. */
  close(): Promise<void>;
}

const toInt = (a: string): number => a.split('.').reduce((n, o) => n * 256 + Number(o), 0) >>> 0;

/** True when `cidr` (a.b.c.d/len, or a bare address) overlaps the /24 at `base`. */
export function overlaps24(cidr: string, base: number): boolean {
  const [addr, lenText] = cidr.split('/');
  const len = lenText === undefined ? 32 : Number(lenText);
  const span = Math.min(len, 24);
  const mask = span === 0 ? 0 : (0xffffffff << (32 - span)) >>> 0;
  return (toInt(addr!) & mask) >>> 0 === (base & mask) >>> 0;
}

/** A /24 of 10.213.0.0/16 that no address or route of the root namespace touches. */
async function freeSubnet(): Promise<string> {
  const routes = JSON.parse(await ip('-j', '-4', 'route', 'show', 'table', 'all')) as { dst: string }[];
  const addrs = JSON.parse(await ip('-j', '-4', 'addr')) as { addr_info: { local: string; prefixlen: number }[] }[];
  const taken = [
    ...routes.map((r) => r.dst).filter((d) => d !== 'default' && /^\d/.test(d)),
    ...addrs.flatMap((a) => a.addr_info.map((i) => `${i.local}/${i.prefixlen}`)),
  ];
  const start = randomBytes(1)[0]!;
  for (let i = 0; i < 256; i++) {
    const third = (start + i) % 256;
    const base = toInt(`10.213.${third}.0`);
    if (!taken.some((c) => overlaps24(c, base))) return `10.213.${third}`;
  }
  throw new Error('every /24 of 10.213.0.0/16 is in use on this machine');
}

/** A bridge namespace and the test's own veth into it; hosts are added with addHost. */
export async function createLab(): Promise<Lab> {
  const id = `tf${randomBytes(3).toString('hex')}`;
  const bridgeNs = `${id}-switch`;
  const clientLink = `${id}c`;
  const namespaces: string[] = [];
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    for (const ns of namespaces.reverse()) {
      const pids = (await ip('netns', 'pids', ns).catch(() => '')).split('\n').filter(Boolean).map(Number);
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      await ip('netns', 'del', ns).catch(() => undefined);
    }
    // Deleting the bridge namespace took the peer, and with it this end; this is for a half-made lab.
    await ip('link', 'del', clientLink).catch(() => undefined);
  };
  try {
    const subnet = await freeSubnet();
    await ip('netns', 'add', bridgeNs);
    namespaces.push(bridgeNs);
    await ip('-n', bridgeNs, 'link', 'add', 'br0', 'type', 'bridge');
    await ip('-n', bridgeNs, 'link', 'set', 'br0', 'up');
    const clientAddress = `${subnet}.254`;
    await ip('link', 'add', clientLink, 'type', 'veth', 'peer', 'name', 'client', 'netns', bridgeNs);
    await ip('-n', bridgeNs, 'link', 'set', 'client', 'master', 'br0', 'up');
    await ip('addr', 'add', `${clientAddress}/24`, 'dev', clientLink);
    await ip('link', 'set', clientLink, 'up');
    const addHost = async (role: string, octet: number): Promise<Host> => {
      if (!Number.isInteger(octet) || octet < 1 || octet > 250) throw new Error(`host octet must be 1..250, got ${octet}`);
      const ns = `${id}-${role}`;
      const port = `h${octet}`;
      await ip('netns', 'add', ns);
      namespaces.push(ns);
      await ip('-n', ns, 'link', 'set', 'lo', 'up');
      await ip('-n', bridgeNs, 'link', 'add', port, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
      await ip('-n', bridgeNs, 'link', 'set', port, 'master', 'br0', 'up');
      const address = `${subnet}.${octet}`;
      await ip('-n', ns, 'addr', 'add', `${address}/24`, 'dev', 'eth0');
      await ip('-n', ns, 'link', 'set', 'eth0', 'up');
      return {
        ns,
        address,
        cut: async () => void (await ip('-n', bridgeNs, 'link', 'set', port, 'down')),
        restore: async () => void (await ip('-n', bridgeNs, 'link', 'set', port, 'up')),
      };
    };
    return { id, subnet, clientAddress, addHost, close };
  } catch (err) {
    await close();
    throw err;
  }
}
