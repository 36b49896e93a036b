import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../config.js';
import { poolNameOf, workerArgs } from './run-pool.js';
import { tagWorkerLine } from './worker-line.js';

describe('pool settings', () => {
  it('passes the worker flags through: scheduler list, token, TLS, capacity, sandbox', () => {
    const cfg = parseConfig(
      ['--scheduler', 'a:1,b:2', '--join-token-file', '/j', '--capacity', '3', '--tls-cert', 'c', '--tls-key', 'k', '--tls-ca', 'ca', '--insecure-sandbox'],
      {},
    );
    const args = workerArgs(cfg);
    expect(args[0]).toBe('worker');
    const flag = (f: string): string | undefined => args[args.indexOf(f) + 1];
    expect(flag('--scheduler')).toBe('a:1,b:2');
    expect(flag('--join-token-file')).toBe('/j');
    expect(flag('--capacity')).toBe('3');
    expect([flag('--tls-cert'), flag('--tls-key'), flag('--tls-ca')]).toEqual(['c', 'k', 'ca']);
    expect(args).toContain('--insecure-sandbox');
    expect(workerArgs(parseConfig([], {}))).not.toContain('--join-token-file');
  });

  it('names the pool by --pool-name, else by the host; refuses a name of the wrong form', () => {
    expect(poolNameOf(parseConfig(['--pool-name', 'edge-1'], {}))).toBe('edge-1');
    expect(poolNameOf(parseConfig([], {}))).toMatch(/^[a-z][a-z0-9-]{0,49}$|^pool$/);
    expect(() => poolNameOf(parseConfig(['--pool-name', 'Edge_1'], {}))).toThrow(ConfigError);
  });

  it("tags a worker's JSON log line with its name, and leaves other lines alone", () => {
    expect(JSON.parse(tagWorkerLine('{"level":30,"msg":"welcomed"}', 'edge-2'))).toEqual({ poolWorker: 'edge-2', level: 30, msg: 'welcomed' });
    expect(JSON.parse(tagWorkerLine('{}', 'edge-2'))).toEqual({ poolWorker: 'edge-2' });
    expect(tagWorkerLine('plain text', 'edge-2')).toBe('plain text');
  });
});
