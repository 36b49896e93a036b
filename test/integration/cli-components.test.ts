/**
 * The component commands' own behaviour that the CLI adds: --log-format pretty, and a port in
 * use reported as one line with exit 2.
 */
import { createServer, type Server } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EXIT } from '../../cli/exit-codes.js';
import { runCli } from '../helpers/cli.js';
import { spawnComponent, type ComponentProcess } from '../helpers/processes.js';

let dir: string | undefined;
let proc: ComponentProcess | undefined;
let holder: Server | undefined;
afterEach(async () => {
  await proc?.kill('SIGKILL');
  holder?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
  proc = holder = dir = undefined;
});

describe('component commands', () => {
  it('--log-format pretty prints pino-pretty lines, not JSON', async () => {
    dir = await mkdtemp(join(tmpdir(), 'taskforge-pretty-'));
    proc = spawnComponent(['scheduler', '--grpc-port', '0', '--data-dir', dir, '--log-format', 'pretty']);
    const line = await proc.waitForLine(/scheduler listening/, 20_000);
    expect(line).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: scheduler listening \{.*"port":\d+/);
    expect(line.startsWith('{')).toBe(false);
  });

  it('a port in use is one line, exit 2, no stack', async () => {
    holder = createServer();
    await new Promise<void>((r) => holder!.listen(0, '127.0.0.1', r));
    const port = (holder.address() as { port: number }).port;
    dir = await mkdtemp(join(tmpdir(), 'taskforge-inuse-'));
    const r = await runCli(['scheduler', '--grpc-port', String(port), '--data-dir', dir, '--log-level', 'warn']);
    expect(r.code).toBe(EXIT.usage);
    expect(r.stderr).toBe(`taskforge: port ${port} is in use: another process listens on 127.0.0.1:${port} (stop it, or choose another with --grpc-port)\n`);
    expect(r.stdout).toBe('');
  });
});
