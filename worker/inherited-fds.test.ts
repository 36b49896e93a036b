/**
 * The worker closes what it inherited, and nothing else: not the certificate file OpenSSL is
 * reading on its own thread for NODE_EXTRA_CA_CERTS. A FIFO stands in for that file, so the
 * test holds OpenSSL in the middle of the load for as long as it likes: the child waits until
 * the FIFO is open in it, then runs the closer; the parent ends the file only after that.
 * Closed under OpenSSL, the load failed and OpenSSL's fclose later closed the event loop's epoll
 * descriptor that had reused the number, aborting the worker in uv__io_poll.
 */
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';

const dir = mkdtempSync(join(tmpdir(), 'tf-fds-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const CHILD = `
import { readdirSync, readlinkSync } from 'node:fs';
const fifo = process.env.NODE_EXTRA_CA_CERTS;
const { closeInheritedDescriptors } = await import(${JSON.stringify(new URL('./inherited-fds.ts', import.meta.url).pathname)});
const tls = (await import('node:tls')).default;
const fifoFd = () => readdirSync('/proc/self/fd').map(Number).find((fd) => { try { return readlinkSync('/proc/self/fd/' + fd) === fifo; } catch { return false; } });
let fd;
while ((fd = fifoFd()) === undefined) await new Promise((r) => setImmediate(r));
console.log('reading ' + fd);
const closed = closeInheritedDescriptors();
console.log(JSON.stringify({ fd, closed, extra: tls.getCACertificates('extra').length }));
`;

describe.runIf(process.platform === 'linux')('closing inherited descriptors', () => {
  it('waits for OpenSSL to finish reading NODE_EXTRA_CA_CERTS instead of closing the file under it', async () => {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        join(dir, 'ca.key'),
        '-out',
        join(dir, 'ca.crt'),
        '-subj',
        '/CN=tf-test',
        '-days',
        '1',
      ],
      { stdio: 'pipe' },
    );
    const pem = readFileSync(join(dir, 'ca.crt'));
    const fifo = join(dir, 'certs.pem');
    execFileSync('mkfifo', [fifo]);
    const child = spawn(process.execPath, ['--input-type=module', '-e', CHILD], {
      env: { ...process.env, NODE_EXTRA_CA_CERTS: fifo },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
    // Opens once OpenSSL has opened the FIFO for reading; the load then waits on our writes.
    const writer = await open(fifo, 'w');
    await writer.write(pem);
    const reading = await lines.next();
    expect(reading.value).toMatch(/^reading \d+$/);
    await writer.close();
    const result = JSON.parse((await lines.next()).value as string) as { fd: number; closed: number[]; extra: number };
    await new Promise((resolve) => child.once('exit', resolve));
    expect(result.closed).not.toContain(result.fd);
    expect(result.extra).toBe(1);
    expect(stderr).not.toContain('Ignoring extra certs');
  });
});
