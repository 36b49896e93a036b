import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from './config.js';
import { controlToken, joinToken } from './credentials.js';

const TOKEN = `tfj_${'a'.repeat(43)}`;
const OTHER = `tfj_${'b'.repeat(43)}`;

describe('cli credentials', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'taskforge-cli-creds-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('a token file wins over the token in the environment', async () => {
    const file = join(dir, 'join.token');
    await writeFile(file, `${TOKEN}\n`);
    expect(joinToken(parseConfig(['--join-token-file', file], {}), { TASKFORGE_JOIN_TOKEN: OTHER })).toBe(TOKEN);
    expect(joinToken(parseConfig([], {}), { TASKFORGE_JOIN_TOKEN: OTHER })).toBe(OTHER);
    expect(controlToken(parseConfig([], { TASKFORGE_CONTROL_TOKEN_FILE: file }), {})).toBe(TOKEN);
  });

  it('refuses a missing token, an unreadable file or a file without a token, and never shows one', async () => {
    const bad = join(dir, 'bad.token');
    await writeFile(bad, 'short secret\n');
    expect(() => joinToken(parseConfig([], {}), {})).toThrowError(/a join token is required: --join-token-file .* or TASKFORGE_JOIN_TOKEN/);
    expect(() => controlToken(parseConfig([], {}), {})).toThrowError(ConfigError);
    expect(() => joinToken(parseConfig(['--join-token-file', join(dir, 'nope')], {}), {})).toThrowError(/cannot read token file .*ENOENT/);
    expect(() => joinToken(parseConfig(['--join-token-file', bad], {}), {})).toThrowError(/does not hold a token/);
    expect(() => joinToken(parseConfig(['--join-token-file', bad], {}), {})).not.toThrowError(/short secret/);
    expect(() => joinToken(parseConfig([], {}), { TASKFORGE_JOIN_TOKEN: 'short secret' })).not.toThrowError(/short secret/);
  });

  const cli = join(import.meta.dirname, '..', 'dist', 'cli', 'main.js');
  it.skipIf(!existsSync(cli))('`taskforge worker` without a join token exits 2 with a clear message', () => {
    const env = { ...process.env };
    delete env.TASKFORGE_JOIN_TOKEN;
    delete env.TASKFORGE_JOIN_TOKEN_FILE;
    const r = spawnSync(process.execPath, [cli, 'worker', '--scheduler', '127.0.0.1:1'], { env, encoding: 'utf8', timeout: 20_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/taskforge: a join token is required/);
  });
});
