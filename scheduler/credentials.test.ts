import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFaultFs } from './store/testing/fault-fs.js';
import { nodeStoreFs } from './store/index.js';
import { CredentialsError, loadCredentials, newToken } from './credentials.js';

describe('scheduler credentials', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'taskforge-creds-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('makes 256-bit tokens, a different one each time', () => {
    const a = newToken('join');
    expect(a).toMatch(/^tfj_[A-Za-z0-9_-]{43}$/);
    expect(newToken('control')).toMatch(/^tfc_[A-Za-z0-9_-]{43}$/);
    expect(new Set(Array.from({ length: 100 }, () => newToken('join'))).size).toBe(100);
  });

  it('verifies each token for its own service only', async () => {
    const creds = await loadCredentials(dir);
    expect(creds.created).toEqual(['join', 'control']);
    const join_ = (await readFile(creds.files.join, 'utf8')).trim();
    const control = (await readFile(creds.files.control, 'utf8')).trim();
    expect(creds.verify('join', join_)).toBe(true);
    expect(creds.verify('control', control)).toBe(true);
    expect(creds.verify('join', control)).toBe(false);
    expect(creds.verify('control', join_)).toBe(false);
    expect(creds.verify('join', join_ + 'x')).toBe(false);
    expect(creds.verify('join', '')).toBe(false);
  });

  it('writes the token files atomically (temp file + rename), created 0600', async () => {
    const fs = createFaultFs(nodeStoreFs);
    await loadCredentials(dir, { fs });
    expect(fs.count('rename', (p) => p.endsWith('.tmp'))).toBe(3);
    expect(fs.calls.filter((c) => c.op === 'open' && c.path.includes('join.token')).length).toBeGreaterThan(0);
  });

  it('takes an operator’s own token file when there is no digest for it yet', async () => {
    const own = 'my-own-join-token-of-forty-characters-xx';
    await writeFile(join(dir, 'join.token'), `${own}\n`, { mode: 0o600 });
    const creds = await loadCredentials(dir);
    expect(creds.created).toEqual(['control']);
    expect(creds.verify('join', own)).toBe(true);
  });

  it('refuses a token file that holds no token, or a digests file it cannot read', async () => {
    await writeFile(join(dir, 'join.token'), 'too short\n');
    await expect(loadCredentials(dir)).rejects.toThrow(CredentialsError);
    await rm(join(dir, 'join.token'));
    await writeFile(join(dir, 'credentials.json'), '{"format":1,"algorithm":"sha256","join":"zz"}');
    await expect(loadCredentials(dir)).rejects.toThrow(/"join" is not a SHA-256 digest/);
  });
});
