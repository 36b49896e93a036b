/**
 * What a function must not reach from its runtime process: the file system (read or write),
 * child processes, worker threads, and the worker's environment.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createSandboxPool } from './pool.js';
import { defaultRuntimePath } from './pool-options.js';
import type { RunOutcome, SandboxFunction, SandboxPool } from './types.js';

let seq = 0;
let pool: SandboxPool;
let dir: string;

function fn(code: string, over: Partial<SandboxFunction> = {}): SandboxFunction {
  seq += 1;
  const codeSha256 = createHash('sha256').update(code).digest('hex');
  return { name: `iso${seq}`, version: 1, handler: 'default', timeoutMs: 10_000, memoryMb: 128, env: {}, codeSha256, code, ...over };
}

async function run(f: SandboxFunction, input: unknown = null): Promise<unknown> {
  seq += 1;
  const outcome: RunOutcome = await pool.run({
    executionId: `ex_${seq}`,
    fn: f,
    inputJson: JSON.stringify(input),
    attempt: 1,
    deadlineMs: Date.now() + f.timeoutMs,
  });
  if (!outcome.ok) throw new Error(`run failed: ${outcome.error.code} ${outcome.error.message}`);
  return JSON.parse(outcome.outputJson);
}

/** A handler that tries `attempt` and returns the error code it got, or 'allowed'. */
const probe = (imports: string, attempt: string): string => `${imports}
export default async (event) => {
  try { ${attempt}; return 'allowed'; } catch (err) { return err.code ?? String(err); }
};`;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tf-sandbox-'));
  pool = createSandboxPool({ prewarm: 1 });
  await pool.start();
});

afterAll(async () => {
  await pool.close();
  rmSync(dir, { recursive: true, force: true });
});

afterEach(() => {
  delete process.env.TF_SECRET;
});

describe('permission model', () => {
  it('denies writing a file, and the file does not exist afterwards', async () => {
    // The runtime's own directory: the one host directory the sandbox can see (read-only).
    const target = join(dirname(defaultRuntimePath()), 'written.txt');
    const f = fn(probe("import fs from 'node:fs';", "fs.writeFileSync(event.path, 'pwned')"));
    // EROFS where the installation lives under /tmp (writable to the permission model, but a
    // read-only bind); ERR_ACCESS_DENIED everywhere else.
    expect(['ERR_ACCESS_DENIED', 'EROFS']).toContain(await run(f, { path: target }));
    expect(existsSync(target)).toBe(false);
  });

  it("never writes into the host's directories, /tmp included", async () => {
    const target = join(dir, 'written.txt');
    const f = fn(probe("import fs from 'node:fs';", "fs.writeFileSync(event.path, 'pwned')"));
    // ENOENT: the sandbox's /tmp is its own tmpfs, where the host's directory does not exist.
    expect(['ERR_ACCESS_DENIED', 'ENOENT']).toContain(await run(f, { path: target }));
    expect(existsSync(target)).toBe(false);
  });

  it('denies reading a file outside the runtime', async () => {
    const secret = join(dir, 'secret.txt');
    writeFileSync(secret, 'top secret');
    const f = fn(probe("import { readFileSync } from 'node:fs';", 'readFileSync(event.path, "utf8")'));
    // Under the host's /tmp: ENOENT, since the sandbox's /tmp is its own tmpfs.
    expect(['ERR_ACCESS_DENIED', 'ENOENT']).toContain(await run(f, { path: secret }));
    expect(await run(f, { path: '/etc/hostname' })).toBe('ERR_ACCESS_DENIED');
  });

  it('denies reading through CommonJS require as well', async () => {
    const f = fn("exports.handler = () => { try { require('fs').readFileSync('/etc/hostname'); return 'allowed'; } catch (err) { return err.code; } };", {
      handler: 'handler',
    });
    expect(await run(f)).toBe('ERR_ACCESS_DENIED');
  });

  it('denies starting a child process', async () => {
    const f = fn(probe("import { execSync } from 'node:child_process';", "execSync('echo hi')"));
    expect(await run(f)).toBe('ERR_ACCESS_DENIED');
  });

  it('denies starting a worker thread', async () => {
    const f = fn(probe("import { Worker } from 'node:worker_threads';", "new Worker('1', { eval: true })"));
    expect(await run(f)).toBe('ERR_ACCESS_DENIED');
  });
});

describe('environment', () => {
  it("shows the function only its own env and Lambda's keys derived from it, nothing of the worker's", async () => {
    process.env.TF_SECRET = 'worker-only';
    const f = fn('export default () => ({ ...process.env });', { env: { GREETING: 'hello', MODE: 'test' }, memoryMb: 256 });
    expect(await run(f)).toEqual({
      GREETING: 'hello',
      MODE: 'test',
      AWS_LAMBDA_FUNCTION_NAME: f.name,
      AWS_LAMBDA_FUNCTION_VERSION: '1',
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '256',
      TZ: 'UTC',
      HOME: '/tmp',
      LANG: 'C.UTF-8',
    });
  });

  it("lets the function's own keys win over Lambda's, and applies TZ", async () => {
    const f = fn(
      'export default () => ({ tz: process.env.TZ, lang: process.env.LANG, name: process.env.AWS_LAMBDA_FUNCTION_NAME, hour: new Date(0).getHours() });',
      {
        env: { TZ: 'Asia/Tokyo', AWS_LAMBDA_FUNCTION_NAME: 'mine' },
      },
    );
    expect(await run(f)).toEqual({ tz: 'Asia/Tokyo', lang: 'C.UTF-8', name: 'mine', hour: 9 });
    const utc = fn('export default () => new Date(0).getHours();');
    expect(await run(utc)).toBe(0);
  });

  it('sets the env before the top level of the module runs', async () => {
    const f = fn('const greeting = process.env.GREETING;\nexport default () => greeting;', { env: { GREETING: 'early' } });
    expect(await run(f)).toBe('early');
  });
});
