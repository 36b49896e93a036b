/**
 * Optional mutual TLS on the control plane (API.md Part 2: `--tls-cert --tls-key --tls-ca` on every
 * process). A throwaway CA and certificates are made with openssl for this run. Against a real
 * scheduler serving TLS with client-certificate checking: a plaintext client, a TLS client with no
 * certificate and one with a certificate from another CA never get in; a certificate signed by the
 * CA gets in only with the join token too. Then the real processes, wired by their flags, run an
 * invoke end to end over mTLS.
 */
import { execFileSync } from 'node:child_process';
import * as grpc from '@grpc/grpc-js';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readTlsFiles, readTokenFile, sslTransport, type ClientTransport, type TlsFiles, type TlsIdentity } from '../../common/grpc-auth.js';
import { silentLogger } from '../../common/logger.js';
import { startGateway, type RunningGateway } from '../../gateway/main.js';
import { startBareScheduler, type BareScheduler } from '../helpers/bare-scheduler.js';
import { FakeWorker, hello } from '../helpers/fake-worker.js';
import { spawnComponent, tokenFiles, type ComponentProcess } from '../helpers/processes.js';
import { readAdminKey } from '../helpers/stack.js';

let pki: string;
let files: { server: TlsFiles; client: TlsFiles; rogue: TlsFiles };
let server: TlsIdentity;
let client: TlsIdentity;
let rogue: TlsIdentity;

function openssl(...args: string[]): void {
  execFileSync('openssl', args, { cwd: pki, stdio: 'pipe' });
}

/** A CA, and a certificate for `name` signed by it (usable as both TLS server and client). */
async function issue(ca: string, name: string): Promise<void> {
  openssl(
    'req',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.csr`,
    '-subj',
    `/CN=${name}`,
  );
  await writeFile(join(pki, `${name}.ext`), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n');
  openssl(
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    `${ca}.crt`,
    '-CAkey',
    `${ca}.key`,
    '-CAcreateserial',
    '-out',
    `${name}.crt`,
    '-days',
    '1',
    '-extfile',
    `${name}.ext`,
  );
}

beforeAll(async () => {
  pki = await mkdtemp(join(tmpdir(), 'taskforge-pki-'));
  for (const ca of ['ca', 'rogue-ca']) {
    openssl(
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      `${ca}.key`,
      '-out',
      `${ca}.crt`,
      '-days',
      '1',
      '-subj',
      `/CN=${ca}`,
    );
  }
  await issue('ca', 'scheduler');
  await issue('ca', 'member');
  await issue('rogue-ca', 'rogue');
  const f = (name: string, ca: string): TlsFiles => ({ cert: join(pki, `${name}.crt`), key: join(pki, `${name}.key`), ca: join(pki, `${ca}.crt`) });
  files = { server: f('scheduler', 'ca'), client: f('member', 'ca'), rogue: f('rogue', 'ca') };
  server = readTlsFiles(files.server);
  client = readTlsFiles(files.client);
  rogue = readTlsFiles(files.rogue);
}, 30_000);

afterAll(async () => {
  if (pki) await rm(pki, { recursive: true, force: true });
});

let s: BareScheduler | undefined;
const closers: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
  await s?.close();
  s = undefined;
});

function connect(transport: ClientTransport, token: string | undefined): FakeWorker {
  const w = s!.worker({ credentials: transport.credentials, channelOptions: transport.options, token });
  closers.push(() => w.close());
  w.sendHello(hello('w_tls'));
  return w;
}

describe('mTLS between workers and the scheduler', () => {
  it.each([
    ['a plaintext client', (): ClientTransport => ({ credentials: grpc.credentials.createInsecure(), options: {} })],
    ['a TLS client without a certificate', (address: string) => sslTransport(address, server.ca)],
    ['a client whose certificate another CA signed', (address: string) => sslTransport(address, server.ca, rogue.key, rogue.cert)],
  ])('%s never gets in, even with the join token', async (_what, transport) => {
    s = await startBareScheduler({ tls: server });
    const w = connect(transport(s.address), s.joinToken);
    const st = await w.status;
    expect(st.code).toBe(grpc.status.UNAVAILABLE);
    // Refused by the scheduler's TLS, not failed on our side (e.g. an IP in the ServerName).
    expect(st.details).not.toMatch(/ServerName/);
    expect(w.received).toEqual([]);
    expect(await s.control.listWorkers()).toEqual([]);
  });

  it('a certificate signed by the CA gets in with the join token, and not without it', async () => {
    s = await startBareScheduler({ tls: server });
    const anonymous = connect(sslTransport(s.address, client.ca, client.key, client.cert), undefined);
    expect((await anonymous.status).code).toBe(grpc.status.UNAUTHENTICATED);
    const member = connect(sslTransport(s.address, client.ca, client.key, client.cert), s.joinToken);
    expect((await member.waitFor('welcome')).workerId).toBe('w_tls');
    expect((await s.control.listWorkers()).map((w) => w.id)).toEqual(['w_tls']);
  });
});

describe('mTLS on every hop, wired by flags', () => {
  const procs: ComponentProcess[] = [];
  let gateway: RunningGateway | undefined;
  let dataDir: string | undefined;
  afterEach(async () => {
    for (const p of procs.splice(0).reverse()) await p.kill();
    await gateway?.close();
    gateway = undefined;
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
    dataDir = undefined;
  });

  it('scheduler, worker and gateway started with --tls-* run an invoke', { timeout: 60_000 }, async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'taskforge-mtls-'));
    const tlsFlags = (f: TlsFiles): string[] => ['--tls-cert', f.cert, '--tls-key', f.key, '--tls-ca', f.ca];
    const scheduler = spawnComponent(['scheduler', '--grpc-port', '0', '--data-dir', dataDir, '--log-level', 'info', ...tlsFlags(files.server)]);
    procs.push(scheduler);
    const listening = JSON.parse(await scheduler.waitForLine(/"msg":"scheduler listening"/, 20_000)) as { port: number; tls: boolean };
    expect(listening.tls).toBe(true);
    const address = `127.0.0.1:${listening.port}`;
    const worker = spawnComponent([
      'worker',
      '--scheduler',
      address,
      '--join-token-file',
      tokenFiles(dataDir).join,
      '--capacity',
      '1',
      '--name',
      'tls-w',
      '--log-level',
      'info',
      ...tlsFlags(files.client),
    ]);
    procs.push(worker);
    await worker.waitForLine(/"msg":"welcomed"/, 20_000);

    gateway = await startGateway({
      port: 0,
      scheduler: address,
      logger: silentLogger,
      client: { controlToken: readTokenFile(tokenFiles(dataDir).control), tls: client },
    });
    const base = `http://127.0.0.1:${gateway.port}`;
    const headers = { 'content-type': 'application/json', authorization: `Bearer ${await readAdminKey(dataDir)}` };
    const put = await fetch(`${base}/v1/functions/echo`, {
      method: 'PUT',
      headers,
      body: JSON.stringify({ code: 'export default async (e) => ({ over: e.over })' }),
    });
    expect(put.status).toBe(201);
    const run = await fetch(`${base}/v1/functions/echo/invoke?mode=sync`, { method: 'POST', headers, body: '{"over":"mtls"}' });
    expect(run.status).toBe(200);
    expect(await run.json()).toMatchObject({ status: 'succeeded', output: { over: 'mtls' } });
  });
});
