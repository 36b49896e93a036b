/**
 * Closes the descriptors this process inherited without close-on-exec, so that nothing its
 * parent left open (a shell's redirection, a supervisor's socket) is passed on to the sandboxes
 * it spawns. Everything Node and libuv open themselves is close-on-exec; an inherited descriptor
 * that survived exec cannot be, so the flag tells them apart. The IPC channel to a parent
 * (`taskforge dev`) is kept. Linux only (/proc); elsewhere it does nothing.
 *
 * One thing in the process opens files without close-on-exec: OpenSSL, loading the certificates
 * NODE_EXTRA_CA_CERTS names, on a thread of its own that importing `node:tls` starts. Closed
 * under it, the load fails ("Ignoring extra certs … bad end line") and OpenSSL's later fclose
 * closes whatever reused the number — the event loop's epoll descriptor, which aborted the worker
 * in uv__io_poll. So the load is waited for first: asking for those certificates joins it.
 */
import { closeSync, readdirSync, readFileSync } from 'node:fs';
import tls from 'node:tls';

const O_CLOEXEC = 0o2000000;

/** Returns the descriptors it closed. */
export function closeInheritedDescriptors(): number[] {
  if (process.platform !== 'linux') return [];
  if (process.env.NODE_EXTRA_CA_CERTS) tls.getCACertificates('extra');
  const keep = new Set<number>([0, 1, 2]);
  const channelFd = (process.channel as { fd?: number } | undefined)?.fd;
  if (typeof channelFd === 'number') keep.add(channelFd);
  let fds: number[];
  try {
    fds = readdirSync('/proc/self/fd')
      .map(Number)
      .filter((fd) => Number.isInteger(fd) && !keep.has(fd));
  } catch {
    return [];
  }
  const closed: number[] = [];
  for (const fd of fds) {
    let flags: number;
    try {
      const m = /^flags:\s+([0-7]+)$/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'));
      if (!m) continue;
      flags = parseInt(m[1]!, 8);
    } catch {
      continue; // the descriptor readdir itself used, already gone
    }
    if (flags & O_CLOEXEC) continue;
    try {
      closeSync(fd);
      closed.push(fd);
    } catch {
      // already closed
    }
  }
  return closed;
}
