import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig, usage } from './config.js';

describe('cli config', () => {
  it('has defaults that make dev work with no configuration', () => {
    expect(parseConfig([], {})).toMatchObject({
      port: 8080, grpcPort: 50051, host: '127.0.0.1', dataDir: './data', workers: 2, scheduler: '127.0.0.1:50051',
      capacity: 4, prewarm: 2, maxSandboxes: 16, logLevel: 'info', logFormat: 'json',
    });
  });
  it('reads the credential settings from flags or their environment variables', () => {
    expect(parseConfig(['--join-token-file', '/j'], { TASKFORGE_CONTROL_TOKEN_FILE: '/c', TASKFORGE_TLS_CERT: 'c', TASKFORGE_TLS_KEY: 'k', TASKFORGE_TLS_CA: 'a' })).toMatchObject({
      joinTokenFile: '/j', controlTokenFile: '/c', tlsCert: 'c', tlsKey: 'k', tlsCa: 'a',
    });
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
    expect(() => parseConfig(argv as string[], {})).toThrowError(ConfigError);
    expect(() => parseConfig(argv as string[], {})).toThrowError(message as RegExp);
  });
  it('lists every flag with its environment variable in the usage text', () => {
    for (const flag of ['--port', '--grpc-port', '--data-dir', '--workers', '--scheduler', '--capacity', '--name', '--prewarm', '--max-sandboxes', '--join-token-file', '--control-token-file', '--tls-cert', '--tls-key', '--tls-ca', 'TASKFORGE_JOIN_TOKEN', 'TASKFORGE_CONTROL_TOKEN']) {
      expect(usage()).toContain(flag);
    }
  });
});
