/**
 * A real PostgreSQL server for tests: Debian's binaries (make postgres-deps installs them), a new
 * cluster made by initdb in a temp dir, listening on a free port of 127.0.0.1 and on a unix socket
 * in that dir. PostgreSQL refuses to run as root, so when the tests run as root the cluster belongs
 * to the system user `taskforge-pg` (created if missing) and initdb and postgres run as it.
 *
 * fsync is off: nothing here survives the machine, and a crash of the machine is not what these
 * tests are about; a COMMIT still waits for its WAL write as usual.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chown, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from './processes.js';

const PG_ROOT = '/usr/lib/postgresql';
const PG_USER = 'taskforge-pg';

export interface PostgresServer {
  port: number;
  /** `postgres://postgres@127.0.0.1:<port>/<database>`. */
  url(database?: string): string;
  /** Creates a database with a fresh name and returns its URL. */
  createDatabase(prefix?: string): Promise<string>;
  /** One query on `database` (default postgres) through a short-lived connection. */
  query<T = Record<string, unknown>>(sql: string, params?: unknown[], database?: string): Promise<T[]>;
  /** Fast shutdown (SIGINT: clients are disconnected); the cluster stays for start(). */
  stop(): Promise<void>;
  /** Starts the stopped cluster again on the same port. */
  start(): Promise<void>;
  /** Stops the server and removes its directory. */
  close(): Promise<void>;
}

/** The bin dir of the newest PostgreSQL installed, or null. */
export function findPostgresBin(): string | null {
  if (!existsSync(PG_ROOT)) return null;
  const versions = readdirSync(PG_ROOT)
    .filter((v) => existsSync(join(PG_ROOT, v, 'bin', 'initdb')) && existsSync(join(PG_ROOT, v, 'bin', 'postgres')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] === undefined ? null : join(PG_ROOT, versions[0], 'bin');
}

/** The uid and gid to run PostgreSQL as, or null when this process is not root (it runs as us). */
function unprivilegedUser(): { uid: number; gid: number } | null {
  if (process.getuid?.() !== 0) return null;
  const id = (flag: string): number => Number(execFileSync('id', [flag, PG_USER], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
  try {
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    execFileSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', PG_USER], { stdio: 'ignore' });
    return { uid: id('-u'), gid: id('-g') };
  }
}

const asUser = (user: { uid: number; gid: number } | null, cmd: string, args: string[]): [string, string[]] =>
  user ? ['setpriv', [`--reuid=${user.uid}`, `--regid=${user.gid}`, '--init-groups', cmd, ...args]] : [cmd, args];

export async function startPostgres(): Promise<PostgresServer> {
  const bin = findPostgresBin();
  if (!bin) throw new Error(`PostgreSQL is missing (no ${PG_ROOT}/*/bin/initdb): run make postgres-deps`);
  const user = unprivilegedUser();
  const dir = await mkdtemp(join(tmpdir(), 'taskforge-pg-'));
  if (user) await chown(dir, user.uid, user.gid);
  const dataDir = join(dir, 'data');
  const [initCmd, initArgs] = asUser(user, join(bin, 'initdb'), ['-D', dataDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync', '--locale=C']);
  execFileSync(initCmd, initArgs, { stdio: 'pipe', cwd: dir });
  const port = await freePort();
  let proc: ChildProcess | null = null;
  let counter = 0;

  const start = async (): Promise<void> => {
    const [cmd, args] = asUser(user, join(bin, 'postgres'), [
      '-D',
      dataDir,
      '-p',
      String(port),
      '-k',
      dir,
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'fsync=off',
      '-c',
      'max_connections=200',
    ]);
    const child = spawn(cmd, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    proc = child;
    let output = '';
    await new Promise<void>((resolve, reject) => {
      const onData = (d: Buffer): void => {
        output += d.toString();
        if (output.includes('database system is ready to accept connections')) resolve();
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.once('exit', (code) => reject(new Error(`postgres exited (${code}) before accepting connections:\n${output.slice(-4000)}`)));
    });
  };

  const stop = async (): Promise<void> => {
    const child = proc;
    proc = null;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGINT');
    await exited;
  };

  const url = (database = 'postgres'): string => `postgres://postgres@127.0.0.1:${port}/${database}`;
  const query = async <T>(sql: string, params: unknown[] = [], database = 'postgres'): Promise<T[]> => {
    const client = new pg.Client({ connectionString: url(database) });
    await client.connect();
    try {
      return (await client.query(sql, params)).rows as T[];
    } finally {
      await client.end();
    }
  };

  try {
    await start();
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    port,
    url,
    query,
    async createDatabase(prefix = 'store') {
      const name = `${prefix}_${process.pid}_${++counter}`;
      await query(`CREATE DATABASE ${name}`);
      return url(name);
    },
    stop,
    start,
    async close() {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
