import { describe, expect, it } from 'vitest';
import { OptionsError } from '../common/options-error.js';
import { ConfigError, parseConfig, usage } from './config.js';

describe('cli config', () => {
  it('has defaults that make dev work with no configuration', () => {
    expect(parseConfig([], {})).toMatchObject({
      port: 8080,
      grpcPort: 50051,
      host: '127.0.0.1',
      dataDir: './data',
      workers: 2,
      scheduler: '127.0.0.1:50051',
      capacity: 4,
      prewarm: 2,
      maxSandboxes: 16,
      logLevel: 'info',
      logFormat: 'json',
      rateLimit: 2000,
      noAuth: false,
    });
  });
  it('reads the credential settings from flags or their environment variables', () => {
    expect(
      parseConfig(['--join-token-file', '/j'], { TASKFORGE_CONTROL_TOKEN_FILE: '/c', TASKFORGE_TLS_CERT: 'c', TASKFORGE_TLS_KEY: 'k', TASKFORGE_TLS_CA: 'a' }),
    ).toMatchObject({
      joinTokenFile: '/j',
      controlTokenFile: '/c',
      tlsCert: 'c',
      tlsKey: 'k',
      tlsCa: 'a',
    });
  });
  it('reads the pool settings; refuses bounds that contradict each other', () => {
    expect(parseConfig(['--autoscale', '--min-workers', '2', '--max-workers', '5', '--scale-down-cooldown-ms', '1000'], {})).toMatchObject({
      autoscale: true,
      minWorkers: 2,
      maxWorkers: 5,
      scaleUpCooldownMs: 15000,
      scaleDownCooldownMs: 1000,
      poolName: '',
    });
    expect(() => parseConfig(['--max-workers', '0'], {})).toThrowError(expect.objectContaining({ option: '--max-workers' }));
    expect(() => parseConfig(['--min-workers', '3', '--max-workers', '2'], {})).toThrowError(
      /--max-workers \(2\) must be at least 1 and at least --min-workers \(3\)/,
    );
    expect(() => parseConfig([], { TASKFORGE_AUTOSCALE: 'maybe' })).toThrowError(expect.objectContaining({ option: '--autoscale' }));
  });
  it('reads --store or TASKFORGE_STORE, empty (files in --data-dir) by default', () => {
    expect(parseConfig([], {}).store).toBe('');
    expect(parseConfig(['--store', 'postgres://tf@127.0.0.1:5432/tf'], {}).store).toBe('postgres://tf@127.0.0.1:5432/tf');
    expect(parseConfig([], { TASKFORGE_STORE: 'file:/srv/records' }).store).toBe('file:/srv/records');
    expect(() => parseConfig(['--store', 'mongodb://h/db'], {})).toThrowError(/--store has an unknown scheme 'mongodb:'.*\(TASKFORGE_STORE\)/);
    expect(() => parseConfig([], { TASKFORGE_STORE: 'postgres://h' })).toThrowError(expect.objectContaining({ option: '--store', showUsage: false }));
  });
  it('reads --scheduler or TASKFORGE_SCHEDULER as one address or a list, and refuses a malformed list at parse', () => {
    expect(parseConfig(['--scheduler', 'a:50051,b:50051'], {}).scheduler).toBe('a:50051,b:50051');
    expect(parseConfig([], { TASKFORGE_SCHEDULER: '10.0.0.1:50051,10.0.0.2:50051' }).scheduler).toBe('10.0.0.1:50051,10.0.0.2:50051');
    expect(() => parseConfig(['--scheduler', 'a:50051,,b:50051'], {})).toThrowError(/--scheduler entry 2 \(""\) must be host:port.*\(TASKFORGE_SCHEDULER\)/);
    expect(() => parseConfig([], { TASKFORGE_SCHEDULER: 'a:50051,b' })).toThrowError(expect.objectContaining({ option: '--scheduler', showUsage: false }));
    expect(() => parseConfig(['--scheduler', 'a:1,a:1'], {})).toThrowError(/lists a:1 twice/);
    expect(() => parseConfig(['--scheduler', 'a:0'], {})).toThrowError(/port 1-65535/);
  });
  it('reads a flag before its environment variable', () => {
    expect(parseConfig(['--port', '9000'], { TASKFORGE_PORT: '7000', TASKFORGE_WORKERS: '3' })).toMatchObject({ port: 9000, workers: 3 });
  });
  it.each([
    [['--port', 'abc'], /--port .* non-negative integer/],
    [['--bogus', '1'], /bogus/],
    [['--capacity', '0'], /--capacity must be at least 1/],
    [['--capacity', '20'], /--max-sandboxes \(16\) must be at least --capacity \(20\)/],
    [['--log-format', 'xml'], /--log-format/],
    [['--tls-cert', 'c.pem'], /--tls-cert, --tls-key and --tls-ca go together/],
    [['--tls-cert', 'c.pem', '--tls-key', 'k.pem'], /give all three or none/],
  ])('rejects %j with a clear message', (argv, message) => {
    expect(() => parseConfig(argv, {})).toThrowError(ConfigError);
    expect(() => parseConfig(argv, {})).toThrowError(message);
    expect(() => parseConfig(argv, {})).toThrowError(OptionsError);
    expect(() => parseConfig(argv, {})).toThrowError(expect.objectContaining({ code: 'ERR_TASKFORGE_OPTION' }));
  });
  it('names the flag at fault in the error', () => {
    const optionOf = (argv: string[], env: NodeJS.ProcessEnv = {}): string => {
      try {
        parseConfig(argv, env);
      } catch (err) {
        return (err as ConfigError).option;
      }
      throw new Error('accepted');
    };
    expect(optionOf(['--port', 'abc'])).toBe('--port');
    expect(optionOf(['--capacity', '20'])).toBe('--max-sandboxes');
    expect(optionOf([], { TASKFORGE_NO_AUTH: 'maybe' })).toBe('--no-auth');
    expect(optionOf(['--no-auth', '--host', '0.0.0.0'])).toBe('--no-auth');
    expect(optionOf(['--bogus', '1'])).toBe('argv');
  });
  it('--rate-limit and --no-auth, by flag or environment', () => {
    expect(parseConfig(['--rate-limit', '5', '--no-auth'], {})).toMatchObject({ rateLimit: 5, noAuth: true });
    expect(parseConfig([], { TASKFORGE_RATE_LIMIT: '0', TASKFORGE_NO_AUTH: '1' })).toMatchObject({ rateLimit: 0, noAuth: true });
    expect(parseConfig([], { TASKFORGE_NO_AUTH: 'false' })).toMatchObject({ noAuth: false });
    expect(parseConfig(['--no-auth', '--host', '::1'], {})).toMatchObject({ noAuth: true, host: '::1' });
    expect(() => parseConfig([], { TASKFORGE_NO_AUTH: 'maybe' })).toThrowError(/TASKFORGE_NO_AUTH/);
  });
  it('refuses --no-auth unless the host is loopback only, in one line without the usage text', () => {
    for (const argv of [
      ['--no-auth', '--host', '0.0.0.0'],
      ['--host', '192.168.1.2', '--no-auth'],
      ['--no-auth', '--host', 'localhost'],
    ]) {
      const err = (() => {
        try {
          parseConfig(argv, {});
        } catch (e) {
          return e as ConfigError;
        }
        throw new Error('accepted');
      })();
      expect(err).toBeInstanceOf(ConfigError);
      expect(err.message).toMatch(/--no-auth is refused: .* not loopback only/);
      expect(err.message).not.toContain('\n');
      expect(err.showUsage).toBe(false);
    }
    expect(() => parseConfig(['--no-auth', '--host', '0.0.0.0'], { TASKFORGE_NO_AUTH: '0' })).toThrowError(ConfigError);
    expect(() => parseConfig(['--host', '0.0.0.0'], { TASKFORGE_NO_AUTH: '1' })).toThrowError(/--no-auth is refused/);
  });
  it('lists every flag with its environment variable in the usage text', () => {
    for (const flag of [
      '--port',
      '--grpc-port',
      '--data-dir',
      '--workers',
      '--scheduler',
      '--capacity',
      '--name',
      '--prewarm',
      '--max-sandboxes',
      '--join-token-file',
      '--control-token-file',
      '--tls-cert',
      '--tls-key',
      '--tls-ca',
      'TASKFORGE_JOIN_TOKEN',
      'TASKFORGE_CONTROL_TOKEN',
      '--rate-limit',
      '--no-auth',
      '--insecure-sandbox',
      '--bwrap',
    ]) {
      expect(usage()).toContain(flag);
    }
  });
});
