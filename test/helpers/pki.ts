/**
 * A throwaway certificate authority for mTLS tests, made with openssl in a temp dir: a CA, and
 * certificates it signs that are good as both TLS server and client, with the IP addresses and
 * names a test gives them as subjectAltName. Never for anything but a test run.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { TlsFiles } from '../../common/grpc-auth.js';

const run = promisify(execFile);

export interface TestPki {
  dir: string;
  /** A key and certificate for `name`, signed by the CA, valid for `ips` (and localhost). */
  issue(name: string, ips: string[]): Promise<TlsFiles>;
  close(): Promise<void>;
}

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

export async function createPki(): Promise<TestPki> {
  const dir = await mkdtemp(join(tmpdir(), 'taskforge-pki-'));
  const openssl = async (...args: string[]): Promise<void> => void (await run('openssl', args, { cwd: dir }));
  await openssl('req', '-x509', ...EC_KEY, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '1', '-subj', '/CN=taskforge-test-ca');
  return {
    dir,
    async issue(name, ips) {
      await openssl('req', ...EC_KEY, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
      const san = [...ips.map((a) => `IP:${a}`), 'DNS:localhost'].join(',');
      await writeFile(join(dir, `${name}.ext`), `subjectAltName=${san}\nextendedKeyUsage=serverAuth,clientAuth\n`);
      await openssl(
        'x509',
        '-req',
        '-in',
        `${name}.csr`,
        '-CA',
        'ca.crt',
        '-CAkey',
        'ca.key',
        '-CAcreateserial',
        '-out',
        `${name}.crt`,
        '-days',
        '1',
        '-extfile',
        `${name}.ext`,
      );
      return { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`), ca: join(dir, 'ca.crt') };
    },
    close: () => rm(dir, { recursive: true, force: true }),
  };
}
