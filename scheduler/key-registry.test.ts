import { createHash, createHmac } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseApiKey } from '../common/api-keys.js';
import { memoryLog } from '../test/helpers/memory-log.js';
import { SignatureV4 } from '@smithy/signature-v4';
import type { SignedRequest } from '../common/sigv4.js';
import { KeyRegistry } from './key-registry.js';
import { createFaultFs } from './store/testing/fault-fs.js';
import { ADMIN_KEY_FILE, KEYS_FILE, KeyFileError, MASTER_KEY_FILE, createKeyFile } from './store/key-file.js';
import { nodeStoreFs } from './store/index.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'taskforge-keys-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const mode = async (file: string): Promise<number> => (await stat(join(dir, file))).mode & 0o777;
const open = async (log = memoryLog()) => {
  const keys = new KeyRegistry(createKeyFile(dir), log.logger);
  return { keys, log, opened: await keys.open() };
};

describe('key registry: the admin key of a first start', () => {
  it('is made once, written alone on one line to admin.key (0600), logged by id and file without its secret, and works', async () => {
    const { keys, log, opened } = await open();
    expect(opened.createdAdminKey).toBe(true);
    const text = await readFile(join(dir, ADMIN_KEY_FILE), 'utf8');
    expect(text).toMatch(/^tfk_[A-Za-z0-9]{12}_[A-Za-z0-9]{40}\n$/);
    const key = text.trim();
    expect(await mode(ADMIN_KEY_FILE)).toBe(0o600);
    expect(await mode(KEYS_FILE)).toBe(0o600);
    const created = log.find((l) => l.msg === 'created the admin API key');
    expect(created).toHaveLength(1);
    expect(created[0]).toMatchObject({ keyId: parseApiKey(key)!.id, file: join(dir, ADMIN_KEY_FILE) });
    expect(JSON.stringify(log.find(() => true))).not.toContain(parseApiKey(key)!.secret);
    expect(keys.authenticate(key)).toEqual({ id: parseApiKey(key)!.id, name: 'admin', scopes: ['admin'], functions: null });
  });

  it('is not made again on a restart: admin.key and the key stay the same, nothing is logged', async () => {
    await open();
    const first = await readFile(join(dir, ADMIN_KEY_FILE), 'utf8');
    const again = await open();
    expect(again.opened.createdAdminKey).toBe(false);
    expect(await readFile(join(dir, ADMIN_KEY_FILE), 'utf8')).toBe(first);
    expect(again.log.find((l) => l.msg === 'created the admin API key')).toEqual([]);
    expect(again.keys.authenticate(first.trim())?.scopes).toEqual(['admin']);
    expect(again.keys.list()).toHaveLength(1);
  });

  it('a start that died between admin.key and keys.json makes a fresh admin key next time', async () => {
    const fs = createFaultFs(nodeStoreFs);
    fs.fail({ op: 'rename', code: 'EIO', match: (p) => p.includes(`.${KEYS_FILE}.`) });
    await expect(new KeyRegistry(createKeyFile(dir, fs), memoryLog().logger).open()).rejects.toMatchObject({ code: 'EIO' });
    const stale = await readFile(join(dir, ADMIN_KEY_FILE), 'utf8');
    const { keys, opened } = await open();
    expect(opened.createdAdminKey).toBe(true);
    const fresh = (await readFile(join(dir, ADMIN_KEY_FILE), 'utf8')).trim();
    expect(fresh).not.toBe(stale.trim());
    expect(keys.authenticate(stale.trim())).toBeNull();
    expect(keys.authenticate(fresh)).not.toBeNull();
    // No temp file of the failed write is left behind.
    expect((await readdir(dir)).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  it('a keys.json that cannot be trusted stops the start with a message naming it, and is left as it was', async () => {
    for (const text of [
      '{not json',
      '{"keys":{}}',
      '{"keys":[{"id":"short","name":"x","scopes":["admin"],"functions":null,"createdAt":"2024-01-01T00:00:00Z","secretSha256":"00"}]}',
    ]) {
      await writeFile(join(dir, KEYS_FILE), text);
      const err = await new KeyRegistry(createKeyFile(dir), memoryLog().logger).open().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(KeyFileError);
      expect((err as Error).message).toContain(join(dir, KEYS_FILE));
      expect(await readFile(join(dir, KEYS_FILE), 'utf8')).toBe(text);
    }
  });
});

describe('key registry: keys', () => {
  it('stores only a SHA-256 of each secret: the keys file holds no key and no secret', async () => {
    const { keys } = await open();
    const created = await keys.create({ name: 'ci', scopes: ['deploy'], functions: null });
    const admin = (await readFile(join(dir, ADMIN_KEY_FILE), 'utf8')).trim();
    const stored = await readFile(join(dir, KEYS_FILE), 'utf8');
    for (const key of [created.key, admin]) {
      const { id, secret } = parseApiKey(key)!;
      expect(stored).not.toContain(secret);
      expect(stored).not.toContain(key);
      expect(stored).toContain(id);
      expect(stored).toContain(createHash('sha256').update(secret).digest('hex'));
    }
  });

  it('create answers the record with its key once; list never shows a secret; both survive a restart', async () => {
    const { keys } = await open();
    const created = await keys.create({ name: 'deployer', scopes: ['deploy', 'read', 'deploy'], functions: ['a', 'b'] });
    expect(created).toMatchObject({ name: 'deployer', scopes: ['deploy', 'read'], functions: ['a', 'b'] });
    expect(parseApiKey(created.key)?.id).toBe(created.id);
    const listed = keys.list();
    expect(listed.map((k) => k.name)).toEqual(['admin', 'deployer']);
    expect(JSON.stringify(listed)).not.toContain(parseApiKey(created.key)!.secret);
    expect(listed.every((k) => !('key' in k) && !('secretSha256' in k))).toBe(true);
    const restarted = (await open()).keys;
    expect(restarted.authenticate(created.key)).toEqual({ id: created.id, name: 'deployer', scopes: ['deploy', 'read'], functions: ['a', 'b'] });
  });

  it('authenticate: anything but a current key is null, whatever part is wrong', async () => {
    const { keys } = await open();
    const { key, id } = await keys.create({ name: 'x', scopes: ['read'], functions: null });
    const secret = parseApiKey(key)!.secret;
    const flip = (s: string): string => (s[0] === 'a' ? 'b' : 'a') + s.slice(1);
    for (const bad of [
      '',
      'tfk_',
      `tfk_${id}_${flip(secret)}`,
      `tfk_${flip(id)}_${secret}`,
      `tfx_${id}_${secret}`,
      `tfk_${id}_${secret}x`,
      `tfk_${id}_${secret.slice(0, 31)}`,
      `tfk_${id}-${secret}`,
      ` ${key}`,
      'x'.repeat(10_000),
      `tfk_${id}_${'é'.repeat(40)}`,
    ]) {
      expect(keys.authenticate(bad), bad.slice(0, 60)).toBeNull();
    }
    expect(keys.authenticate(key)).not.toBeNull();
    await keys.delete(id);
    expect(keys.authenticate(key)).toBeNull();
  });

  it('delete: 404 NOT_FOUND for an unknown id, INVALID_NAME for a malformed one, durable before it takes effect', async () => {
    const { keys } = await open();
    await expect(keys.delete('AAAAAAAAAAAA')).rejects.toMatchObject({ code: 'NOT_FOUND', statusCode: 404 });
    await expect(keys.delete('../../etc')).rejects.toMatchObject({ code: 'INVALID_NAME' });
    const { id, key } = await keys.create({ name: 'x', scopes: ['read'], functions: null });
    await keys.delete(id);
    expect((await open()).keys.authenticate(key)).toBeNull();
  });

  it('concurrent creates and deletes are written one after another: none is lost', async () => {
    const { keys } = await open();
    const made = await Promise.all(Array.from({ length: 8 }, (_, i) => keys.create({ name: `k${i}`, scopes: ['invoke'], functions: null })));
    await Promise.all(made.slice(0, 3).map((k) => keys.delete(k.id)));
    const restarted = (await open()).keys;
    expect(
      restarted
        .list()
        .map((k) => k.name)
        .sort(),
    ).toEqual(['admin', 'k3', 'k4', 'k5', 'k6', 'k7']);
  });

  it('a create whose write fails is STORAGE_UNAVAILABLE and the key never works', async () => {
    await open();
    const fs = createFaultFs(nodeStoreFs);
    const keys = new KeyRegistry(createKeyFile(dir, fs), memoryLog().logger);
    await keys.open();
    fs.fail({ op: 'sync', code: 'ENOSPC' });
    await expect(keys.create({ name: 'x', scopes: ['read'], functions: null })).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE', statusCode: 503 });
    expect(keys.list().map((k) => k.name)).toEqual(['admin']);
    // The next change goes through.
    await expect(keys.create({ name: 'y', scopes: ['read'], functions: null })).resolves.toMatchObject({ name: 'y' });
  });

  it.each([
    [{ name: '', scopes: ['read'], functions: null }, 'VALIDATION_ERROR', 'name'],
    [{ name: 'a\nb', scopes: ['read'], functions: null }, 'VALIDATION_ERROR', 'name'],
    [{ name: 'x'.repeat(101), scopes: ['read'], functions: null }, 'VALIDATION_ERROR', 'name'],
    [{ name: 'x', scopes: [], functions: null }, 'VALIDATION_ERROR', 'scopes'],
    [{ name: 'x', scopes: ['root'], functions: null }, 'VALIDATION_ERROR', 'scopes'],
    [{ name: 'x', scopes: ['read'], functions: [] }, 'VALIDATION_ERROR', 'functions'],
    [{ name: 'x', scopes: ['read'], functions: ['../etc'] }, 'INVALID_NAME', undefined],
  ])('create refuses %j', async (k, code, field) => {
    const { keys } = await open();
    await expect(keys.create(k)).rejects.toMatchObject({ code, ...(field && { details: expect.objectContaining({ field }) }) });
    expect(keys.list()).toHaveLength(1);
  });
});

/** node:crypto as the signer's Hash (an HMAC when given a secret). */
class Sha256 {
  private readonly h;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.h = secret === undefined ? createHash('sha256') : createHmac('sha256', typeof secret === 'string' ? secret : Buffer.from(secret as ArrayBuffer));
  }
  update(data: Uint8Array): void {
    this.h.update(data);
  }
  digest(): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(this.h.digest()));
  }
}

describe('key registry: SigV4 signatures', () => {
  const at = Date.UTC(2026, 5, 1, 12, 0, 0);
  const body = '{"a":1}';
  const bodyHash = createHash('sha256').update(body).digest('hex');

  /** Signs like the AWS SDK does, and returns what the gateway would send. */
  async function signed(key: string, opts: { secret?: string; date?: number } = {}): Promise<SignedRequest> {
    const i = key.lastIndexOf('_');
    const signer = new SignatureV4({
      service: 'lambda',
      region: 'us-east-1',
      credentials: { accessKeyId: key.slice(0, i), secretAccessKey: opts.secret ?? key.slice(i + 1) },
      sha256: Sha256,
    });
    const out = await signer.sign(
      {
        method: 'POST',
        protocol: 'http:',
        hostname: '127.0.0.1',
        port: 8080,
        path: '/2015-03-31/functions/echo/invocations',
        query: { Qualifier: '1' },
        headers: { host: '127.0.0.1:8080', 'content-type': 'application/octet-stream' },
        body,
      },
      { signingDate: new Date(opts.date ?? at) },
    );
    const m = /Credential=([^/]+)\/([^,]+), SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$/.exec(String(out.headers.authorization))!;
    const names = m[3]!.split(';');
    return {
      accessKeyId: m[1]!,
      credentialScope: m[2]!,
      signedHeaders: m[3]!,
      signature: m[4]!,
      method: 'POST',
      path: '/2015-03-31/functions/echo/invocations',
      query: 'Qualifier=1',
      headers: Object.fromEntries(names.map((n) => [n, String(out.headers[n])])),
      amzDate: String(out.headers['x-amz-date']),
      payloadHash: bodyHash,
    };
  }

  const registry = async () => {
    const keys = new KeyRegistry(createKeyFile(dir), memoryLog().logger, () => at);
    await keys.open();
    const created = await keys.create({ name: 'signer', scopes: ['invoke'], functions: null });
    return { keys, key: created.key, id: created.id };
  };

  it('keeps keys.master 0600 and each secret sealed, never in clear, in keys.json', async () => {
    const { key } = await registry();
    expect(await mode(MASTER_KEY_FILE)).toBe(0o600);
    const text = await readFile(join(dir, KEYS_FILE), 'utf8');
    expect(text).not.toContain(parseApiKey(key)!.secret);
    expect(text).toMatch(/"secretSealed": "v1\./);
  });

  it("accepts the SDK signer's signature and answers the principal", async () => {
    const { keys, key, id } = await registry();
    expect(await keys.verifySignature(await signed(key))).toEqual({ principal: { id, name: 'signer', scopes: ['invoke'], functions: null } });
  });

  it('refuses a wrong secret, an unknown id, another body, a changed query or a missing signed header alike', async () => {
    const { keys, key } = await registry();
    const good = await signed(key);
    expect(await keys.verifySignature(await signed(key, { secret: 'B'.repeat(40) }))).toEqual({ refused: 'signature' });
    expect(await keys.verifySignature({ ...good, accessKeyId: 'tfk_AAAAAAAAAAAA' })).toEqual({ refused: 'signature' });
    expect(await keys.verifySignature({ ...good, payloadHash: createHash('sha256').update('{"a":2}').digest('hex') })).toEqual({ refused: 'signature' });
    expect(await keys.verifySignature({ ...good, query: 'Qualifier=2' })).toEqual({ refused: 'signature' });
    const { host: _host, ...noHost } = good.headers;
    expect(await keys.verifySignature({ ...good, headers: noHost })).toEqual({ refused: 'signature' });
  });

  it('refuses a date outside the 15-minute window, either way, and a malformed one', async () => {
    const { keys, key } = await registry();
    expect(await keys.verifySignature(await signed(key, { date: at - 16 * 60_000 }))).toEqual({ refused: 'expired' });
    expect(await keys.verifySignature(await signed(key, { date: at + 16 * 60_000 }))).toEqual({ refused: 'expired' });
    expect(await keys.verifySignature(await signed(key, { date: at - 14 * 60_000 }))).toHaveProperty('principal');
    expect(await keys.verifySignature({ ...(await signed(key)), amzDate: 'yesterday' })).toEqual({ refused: 'expired' });
  });

  it('a key made before sealed secrets cannot sign, and says so; it still works as Bearer', async () => {
    const { key, id } = await registry();
    const file = JSON.parse(await readFile(join(dir, KEYS_FILE), 'utf8')) as { keys: { id: string; secretSealed?: string }[] };
    for (const k of file.keys) if (k.id === id) delete k.secretSealed;
    await writeFile(join(dir, KEYS_FILE), JSON.stringify(file));
    const keys = new KeyRegistry(createKeyFile(dir), memoryLog().logger, () => at);
    await keys.open();
    expect(await keys.verifySignature(await signed(key))).toEqual({ refused: 'no_signing_secret' });
    expect(keys.authenticate(key)?.id).toBe(id);
  });

  it('a keys.master that is not a key stops the start with a message', async () => {
    await registry();
    await writeFile(join(dir, MASTER_KEY_FILE), 'garbage\n');
    await expect(new KeyRegistry(createKeyFile(dir), memoryLog().logger).open()).rejects.toThrow(KeyFileError);
  });
});
