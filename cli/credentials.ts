/**
 * Turns the credential settings into what the components take: the worker's join token, the
 * gateway's control token, and the mTLS identity of any process. A token file (flag or its
 * *_FILE variable) wins over the token itself in TASKFORGE_JOIN_TOKEN / TASKFORGE_CONTROL_TOKEN.
 * A gateway or worker without a token is refused at start: the scheduler would refuse it anyway,
 * and saying so here is clearer than a retry loop. No token ever appears in a message.
 */
import { isToken, readTlsFiles, readTokenFile, type TlsIdentity } from '../common/grpc-auth.js';
import { ConfigError, type Config } from './config.js';

export const TOKEN_ENV = Object.freeze({ join: 'TASKFORGE_JOIN_TOKEN', control: 'TASKFORGE_CONTROL_TOKEN' });

function token(kind: 'join' | 'control', file: string, env: NodeJS.ProcessEnv): string {
  const flag = kind === 'join' ? '--join-token-file' : '--control-token-file';
  if (file) {
    try {
      return readTokenFile(file);
    } catch (err) {
      throw new ConfigError(`${flag}: ${(err as Error).message}`);
    }
  }
  const value = env[TOKEN_ENV[kind]]?.trim();
  if (value) {
    if (!isToken(value)) throw new ConfigError(`${TOKEN_ENV[kind]} does not hold a token (32-512 printable characters, no spaces)`);
    return value;
  }
  throw new ConfigError(
    `a ${kind} token is required: ${flag} <scheduler data dir>/${kind}.token or ${TOKEN_ENV[kind]} (the scheduler writes it at its first start)`,
  );
}

export const joinToken = (cfg: Config, env: NodeJS.ProcessEnv = process.env): string => token('join', cfg.joinTokenFile, env);
export const controlToken = (cfg: Config, env: NodeJS.ProcessEnv = process.env): string => token('control', cfg.controlTokenFile, env);

/** The mTLS identity, or undefined when TLS is off (parseConfig has checked that all three or none are set). */
export function tlsIdentity(cfg: Config): TlsIdentity | undefined {
  if (!cfg.tlsCert) return undefined;
  try {
    return readTlsFiles({ cert: cfg.tlsCert, key: cfg.tlsKey, ca: cfg.tlsCa });
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
}
