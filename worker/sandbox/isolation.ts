/**
 * The OS boundary around a runtime process: how a sandbox is spawned.
 *
 * `namespaces` (Linux with bubblewrap): `prlimit` sets the rlimits, `bwrap` gives the process its
 * own PID, network, mount, IPC, UTS and cgroup namespaces, a read-only view of only the node binary,
 * the shared libraries and the runtime's own directory, a fresh /proc and minimal /dev, and a
 * private size-capped tmpfs at /tmp; then `setpriv` drops to an unprivileged uid/gid with no
 * capabilities (bounding set included) and no_new_privs before node starts. Run by an unprivileged
 * worker, bwrap makes a user namespace instead and maps the sandbox to uid 65534 there.
 * `insecure`: node is spawned directly; only Node's permission model stands between the function
 * and the worker's machine. The pool uses it only when the worker was told `--insecure-sandbox`.
 *
 * It decides nothing about limits per run (the pool does) and never runs function code itself.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, realpathSync } from 'node:fs';
import { dirname } from 'node:path';
import { SANDBOX_CODE_DIR } from './code-dir.js';
import type { SandboxLevel } from './types.js';

/** The uid/gid a sandboxed function runs as: `nobody`, which owns nothing on the host. */
export const SANDBOX_UID = 65534;
/** The sandbox's working directory: empty and read-only. */
export const SANDBOX_CWD = '/sandbox';

export interface IsolationLimits {
  /** Bytes of the private /tmp (a tmpfs: it counts toward memory, hence a cap). */
  tmpBytes: number;
  /** RLIMIT_NOFILE. */
  openFiles: number;
  /**
   * RLIMIT_NPROC: counted per uid on the host, and every sandbox runs as the same uid, so this
   * bounds all sandboxes' threads together (node uses about a dozen). Child processes are denied
   * by the permission model anyway; this is the second layer.
   */
  processes: number;
  /** RLIMIT_FSIZE, bytes. */
  fileBytes: number;
}

export const ISOLATION_DEFAULTS: IsolationLimits = Object.freeze({
  tmpBytes: 64 * 1024 * 1024,
  openFiles: 256,
  processes: 4096,
  fileBytes: 64 * 1024 * 1024,
});

export interface SpawnPlan {
  command: string;
  args: string[];
}

export interface Isolation {
  readonly level: SandboxLevel;
  /**
   * The command line that starts node with `nodeArgs` inside the boundary, with the host directory
   * `codeDir` (when given) readable, read-only, at `visibleCodeDir(codeDir)`.
   */
  plan(nodeArgs: string[], codeDir?: string): SpawnPlan;
  /** How a process inside the boundary names its host code directory. */
  visibleCodeDir(codeDir: string): string;
}

export class IsolationUnavailableError extends Error {
  override readonly name = 'IsolationUnavailableError';
}

const TOOLS = {
  bwrap: ['/usr/bin/bwrap', '/bin/bwrap'],
  setpriv: ['/usr/bin/setpriv', '/bin/setpriv'],
  prlimit: ['/usr/bin/prlimit', '/bin/prlimit'],
} as const;

function findTool(name: keyof typeof TOOLS): string | null {
  return TOOLS[name].find((p) => existsSync(p)) ?? null;
}

export const insecureIsolation: Isolation = Object.freeze({
  level: 'insecure' as const,
  plan: (nodeArgs: string[]): SpawnPlan => ({ command: process.execPath, args: nodeArgs }),
  visibleCodeDir: (codeDir: string) => codeDir,
});

/** Read-only binds of `paths` at the same place, with their parent directories traversable. */
function readOnlyBinds(paths: string[]): string[] {
  // bwrap creates missing parents mode 0700, which the sandbox's uid could not traverse.
  const parents = new Set<string>();
  for (const p of paths) for (let d = dirname(p); d !== '/' && d !== '/tmp' && !parents.has(d); d = dirname(d)) parents.add(d);
  const dirs = [...parents].sort((a, b) => a.length - b.length).flatMap((d) => ['--perms', '0755', '--dir', d]);
  return [...dirs, ...paths.flatMap((p) => ['--ro-bind', p, p])];
}

/** The dynamic libraries node needs, on merged-/usr and split layouts alike: binds and symlinks. */
function libraryMounts(): { binds: string[]; links: string[] } {
  const binds = ['/usr/lib', '/usr/lib64'].filter((dir) => existsSync(dir));
  const links: string[] = [];
  for (const dir of ['/lib', '/lib64']) {
    if (!existsSync(dir)) continue;
    if (lstatSync(dir).isSymbolicLink()) links.push('--symlink', realpathSync(dir), dir);
    else binds.push(dir);
  }
  return { binds, links };
}

export interface NamespaceIsolationOptions {
  /** Directory the runtime script lives in; bound read-only at the same path. */
  runtimeDir: string;
  /** bubblewrap's path; default the first of /usr/bin/bwrap, /bin/bwrap that exists. */
  bwrapPath?: string;
  limits?: Partial<IsolationLimits>;
  /** Node binary; default the worker's own. */
  nodePath?: string;
}

/** Builds the bubblewrap boundary, or throws IsolationUnavailableError saying what is missing. */
export function namespaceIsolation(opts: NamespaceIsolationOptions): Isolation {
  if (process.platform !== 'linux') throw new IsolationUnavailableError(`the OS sandbox needs Linux namespaces (this is ${process.platform})`);
  const bwrap = opts.bwrapPath ?? findTool('bwrap');
  const prlimit = findTool('prlimit');
  const setpriv = findTool('setpriv');
  if (!bwrap || !existsSync(bwrap))
    throw new IsolationUnavailableError(`bubblewrap (bwrap) is not installed${bwrap ? ` at ${bwrap}` : ''}: apt-get install bubblewrap`);
  if (!prlimit) throw new IsolationUnavailableError('prlimit (util-linux) is not installed');
  const root = process.getuid?.() === 0;
  if (root && !setpriv) throw new IsolationUnavailableError('setpriv (util-linux) is not installed');
  const limits = { ...ISOLATION_DEFAULTS, ...opts.limits };
  const node = realpathSync(opts.nodePath ?? process.execPath);
  const runtimeDir = realpathSync(opts.runtimeDir);
  const libs = libraryMounts();

  const prefix = [
    `--nofile=${limits.openFiles}`,
    `--nproc=${limits.processes}`,
    `--fsize=${limits.fileBytes}`,
    '--core=0',
    '--',
    bwrap,
    '--unshare-pid',
    '--unshare-net',
    '--unshare-ipc',
    '--unshare-uts',
    '--unshare-cgroup-try',
    ...(root ? [] : ['--unshare-user', '--uid', String(SANDBOX_UID), '--gid', String(SANDBOX_UID)]),
    '--die-with-parent',
    // No controlling terminal to push keystrokes into (TIOCSTI).
    '--new-session',
    '--hostname',
    'sandbox',
    // The tmpfs first: an installation under /tmp (a checkout there) is bound on top of it, not hidden by it.
    '--size',
    String(limits.tmpBytes),
    '--perms',
    '1777',
    '--tmpfs',
    '/tmp',
    '--proc',
    '/proc',
    '--dev',
    '/dev',
    ...readOnlyBinds([...libs.binds, node, ...(root ? [setpriv!] : []), runtimeDir]),
    ...libs.links,
    // cwd an empty read-only directory outside /tmp: nothing (trace files, reports, heap
    // snapshots) lands anywhere, and the permission model refuses before the mount does.
    '--perms',
    '0555',
    '--dir',
    SANDBOX_CWD,
    '--chdir',
    SANDBOX_CWD,
    '--',
  ];
  const drop = root
    ? [setpriv!, `--reuid=${SANDBOX_UID}`, `--regid=${SANDBOX_UID}`, '--clear-groups', '--no-new-privs', '--inh-caps=-all', '--bounding-set=-all', '--']
    : [];
  const isolation: Isolation = Object.freeze({
    level: 'namespaces' as const,
    plan: (nodeArgs: string[], codeDir?: string): SpawnPlan => ({
      command: prlimit,
      // The last `--` of the prefix ends bwrap's options: the code bind goes before it.
      args: [...prefix.slice(0, -1), ...(codeDir ? ['--ro-bind', codeDir, SANDBOX_CODE_DIR] : []), '--', ...drop, node, ...nodeArgs],
    }),
    visibleCodeDir: () => SANDBOX_CODE_DIR,
  });
  probe(isolation);
  return isolation;
}

/** Runs node inside the boundary once, so a worker that cannot build it knows at start, not per run. */
function probe(isolation: Isolation): void {
  const { command, args } = isolation.plan(['-e', 'process.stdout.write(String(process.getuid()))']);
  const r = spawnSync(command, args, { env: {}, encoding: 'utf8', timeout: 10_000 });
  if (r.status !== 0 || r.stdout !== String(SANDBOX_UID)) {
    const why = (r.stderr || r.error?.message || `exit ${r.status}`).trim().split('\n').slice(-2).join(' ');
    throw new IsolationUnavailableError(`bubblewrap could not start a sandbox here: ${why}`);
  }
}

export type IsolationMode = 'namespaces' | 'insecure';

/**
 * The boundary for a pool: the OS sandbox, or the permission model alone when `insecure` is
 * asked for. Never falls back silently: without `insecure`, an unavailable layer is an error.
 */
export function resolveIsolation(mode: IsolationMode, runtimePath: string, more: { limits?: Partial<IsolationLimits>; bwrapPath?: string } = {}): Isolation {
  if (mode === 'insecure') return insecureIsolation;
  return namespaceIsolation({ runtimeDir: dirname(runtimePath), ...more });
}
