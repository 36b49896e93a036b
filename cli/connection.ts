/**
 * Where the CLI's API calls go and with which key: `--url`, else TASKFORGE_URL, else
 * http://127.0.0.1:8080; `--key`, else TASKFORGE_API_KEY, else the admin key `make dev` leaves
 * in ./data/admin.key (read only when neither is given). No key at all is allowed: a gateway
 * started with --no-auth needs none, and any other answers 401, which the error line explains.
 */
import { readFileSync } from 'node:fs';
import { DEFAULT_URL, TaskForgeClient } from '../client/index.js';
import { usageError } from './output.js';

export const DEFAULT_KEY_FILE = './data/admin.key';

export interface ConnectionFlags {
  url?: string;
  key?: string;
}

export interface Connection {
  url: string;
  key: string | undefined;
  /** Where the key came from, for the hint on a 401. */
  keySource: string;
}

export function resolveConnection(flags: ConnectionFlags, env: NodeJS.ProcessEnv = process.env): Connection {
  const url = flags.url ?? (env.TASKFORGE_URL || DEFAULT_URL);
  try {
    const u = new URL(url);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('scheme');
  } catch {
    throw usageError(`--url must be an http(s) URL, got '${url}'`);
  }
  if (flags.key) return { url, key: flags.key, keySource: '--key' };
  if (env.TASKFORGE_API_KEY) return { url, key: env.TASKFORGE_API_KEY.trim(), keySource: 'TASKFORGE_API_KEY' };
  try {
    const key = readFileSync(DEFAULT_KEY_FILE, 'utf8').trim();
    if (key) return { url, key, keySource: DEFAULT_KEY_FILE };
  } catch {
    // no such file: no key
  }
  return { url, key: undefined, keySource: 'none' };
}

export const clientFor = (c: Connection): TaskForgeClient => new TaskForgeClient({ url: c.url, ...(c.key && { apiKey: c.key }) });
