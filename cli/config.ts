/**
 * Command-line settings: every flag also has an environment variable, and every default makes
 * `taskforge dev` work with no configuration. The table is the source docs/CONFIGURATION.md lists.
 */
import { parseArgs } from 'node:util';
import { isLoopbackHost, noAuthRefusal } from '../common/loopback.js';
import { OptionsError } from '../common/options-error.js';
import { parseSchedulerList } from '../common/scheduler-list.js';
import { parseStoreUrl } from '../scheduler/store/store-url.js';

export interface Setting {
  flag: string;
  env: string;
  default: string;
  help: string;
  /** bool: a flag without a value; its variable is on when `1` or `true`. */
  kind: 'string' | 'int' | 'bool';
}

export const SETTINGS = {
  port: { flag: 'port', env: 'TASKFORGE_PORT', default: '8080', help: 'gateway HTTP port', kind: 'int' },
  grpcPort: { flag: 'grpc-port', env: 'TASKFORGE_GRPC_PORT', default: '50051', help: 'scheduler gRPC port', kind: 'int' },
  host: { flag: 'host', env: 'TASKFORGE_HOST', default: '127.0.0.1', help: 'address the gateway and scheduler listen on', kind: 'string' },
  dataDir: { flag: 'data-dir', env: 'TASKFORGE_DATA_DIR', default: './data', help: 'scheduler data directory', kind: 'string' },
  store: {
    flag: 'store',
    env: 'TASKFORGE_STORE',
    default: '',
    help: 'scheduler: where records are kept, file:<dir> or postgres://user@host:port/db (default: files in --data-dir)',
    kind: 'string',
  },
  leaseTtlMs: {
    flag: 'lease-ttl-ms',
    env: 'TASKFORGE_LEASE_TTL_MS',
    default: '3000',
    help: 'scheduler on PostgreSQL: how long the leader lease lasts unrenewed, ms (a standby takes over within about this)',
    kind: 'int',
  },
  workers: { flag: 'workers', env: 'TASKFORGE_WORKERS', default: '2', help: 'workers started by dev, or by pool at its start', kind: 'int' },
  poolName: {
    flag: 'pool-name',
    env: 'TASKFORGE_POOL_NAME',
    default: '',
    help: "pool: its name, and its workers' <name>-<n> (default <hostname>)",
    kind: 'string',
  },
  minWorkers: { flag: 'min-workers', env: 'TASKFORGE_MIN_WORKERS', default: '0', help: 'pool: fewest workers it may be scaled to', kind: 'int' },
  maxWorkers: { flag: 'max-workers', env: 'TASKFORGE_MAX_WORKERS', default: '16', help: 'pool: most workers it may be scaled to', kind: 'int' },
  autoscale: {
    flag: 'autoscale',
    env: 'TASKFORGE_AUTOSCALE',
    default: 'false',
    help: 'pool: set the worker count from the queue depth and load the scheduler reports (within --min/--max-workers)',
    kind: 'bool',
  },
  scaleUpCooldownMs: {
    flag: 'scale-up-cooldown-ms',
    env: 'TASKFORGE_SCALE_UP_COOLDOWN_MS',
    default: '15000',
    help: 'pool --autoscale: ms after a change before it scales up again',
    kind: 'int',
  },
  scaleDownCooldownMs: {
    flag: 'scale-down-cooldown-ms',
    env: 'TASKFORGE_SCALE_DOWN_COOLDOWN_MS',
    default: '120000',
    help: 'pool --autoscale: ms the load must stay low (and since the last change) before it scales down',
    kind: 'int',
  },
  scheduler: {
    flag: 'scheduler',
    env: 'TASKFORGE_SCHEDULER',
    default: '127.0.0.1:50051',
    help: 'gateway and worker: scheduler address host:port, or a list host:port,host:port... (the one that accepts connections is used)',
    kind: 'string',
  },
  capacity: { flag: 'capacity', env: 'TASKFORGE_CAPACITY', default: '4', help: 'concurrent executions per worker', kind: 'int' },
  prewarm: { flag: 'prewarm', env: 'TASKFORGE_PREWARM', default: '2', help: 'generic runtime processes a worker keeps started ahead (0 = off)', kind: 'int' },
  maxSandboxes: {
    flag: 'max-sandboxes',
    env: 'TASKFORGE_MAX_SANDBOXES',
    default: '16',
    help: 'runtime processes a worker keeps at most (warm + busy + prewarmed); at least --capacity',
    kind: 'int',
  },
  sandboxIdleMs: {
    flag: 'sandbox-idle-ms',
    env: 'TASKFORGE_SANDBOX_IDLE_MS',
    default: '300000',
    help: 'worker: a warm runtime process idle this long is ended, ms',
    kind: 'int',
  },
  name: { flag: 'name', env: 'TASKFORGE_NAME', default: '', help: 'worker name (default <hostname>-<pid>)', kind: 'string' },
  joinTokenFile: {
    flag: 'join-token-file',
    env: 'TASKFORGE_JOIN_TOKEN_FILE',
    default: '',
    help: "worker: file holding the scheduler's join token (<data-dir>/join.token); or the token itself in TASKFORGE_JOIN_TOKEN",
    kind: 'string',
  },
  controlTokenFile: {
    flag: 'control-token-file',
    env: 'TASKFORGE_CONTROL_TOKEN_FILE',
    default: '',
    help: "gateway: file holding the scheduler's control token (<data-dir>/control.token); or the token itself in TASKFORGE_CONTROL_TOKEN",
    kind: 'string',
  },
  tlsCert: {
    flag: 'tls-cert',
    env: 'TASKFORGE_TLS_CERT',
    default: '',
    help: "mTLS: this process's certificate (PEM); with --tls-key and --tls-ca, on every process",
    kind: 'string',
  },
  tlsKey: { flag: 'tls-key', env: 'TASKFORGE_TLS_KEY', default: '', help: "mTLS: this process's private key (PEM)", kind: 'string' },
  tlsCa: { flag: 'tls-ca', env: 'TASKFORGE_TLS_CA', default: '', help: 'mTLS: the CA (PEM) that signs every process’s certificate', kind: 'string' },
  logLevel: { flag: 'log-level', env: 'TASKFORGE_LOG_LEVEL', default: 'info', help: 'pino level: trace, debug, info, warn, error', kind: 'string' },
  logFormat: { flag: 'log-format', env: 'TASKFORGE_LOG_FORMAT', default: 'json', help: 'json or pretty', kind: 'string' },
  bwrap: { flag: 'bwrap', env: 'TASKFORGE_BWRAP', default: '', help: 'worker: path of bubblewrap (default /usr/bin/bwrap)', kind: 'string' },
  insecureSandbox: {
    flag: 'insecure-sandbox',
    env: 'TASKFORGE_INSECURE_SANDBOX',
    default: 'false',
    help: "worker: run sandboxes without the OS boundary (Node's permission model only) where bubblewrap cannot run",
    kind: 'bool',
  },
  noCompileCache: {
    flag: 'no-compile-cache',
    env: 'TASKFORGE_NO_COMPILE_CACHE',
    default: 'false',
    help: "worker: compile every function at every cold start instead of keeping V8's compiled code per version",
    kind: 'bool',
  },
  allowPrivateWebhooks: {
    flag: 'allow-private-webhooks',
    env: 'TASKFORGE_ALLOW_PRIVATE_WEBHOOKS',
    default: 'false',
    help: 'scheduler: webhook destinations may reach private and loopback addresses (dev sets it)',
    kind: 'bool',
  },
  rateLimit: { flag: 'rate-limit', env: 'TASKFORGE_RATE_LIMIT', default: '2000', help: 'gateway: requests per second per API key (0 = no limit)', kind: 'int' },
  noAuth: {
    flag: 'no-auth',
    env: 'TASKFORGE_NO_AUTH',
    default: 'false',
    help: 'gateway: serve without API keys; refused unless --host is loopback (127.0.0.0/8, ::1)',
    kind: 'bool',
  },
} as const satisfies Record<string, Setting>;

export type SettingName = keyof typeof SETTINGS;
export type Config = {
  [K in SettingName]: (typeof SETTINGS)[K]['kind'] extends 'int' ? number : (typeof SETTINGS)[K]['kind'] extends 'bool' ? boolean : string;
};

/**
 * A command line or environment the CLI cannot run with: an OptionsError (code
 * ERR_TASKFORGE_OPTION) whose `option` is the flag at fault, or `argv` when the command line
 * itself does not parse.
 */
export class ConfigError extends OptionsError {
  override name = 'ConfigError';
  /** false: the message says it all; the usage text would bury it. */
  readonly showUsage: boolean;
  constructor(message: string, opts: { option?: string; showUsage?: boolean } = {}) {
    super(opts.option ?? 'argv', message);
    this.showUsage = opts.showUsage ?? true;
  }
}

const BOOL_TEXT: Record<string, boolean> = { '1': true, true: true, '0': false, false: false, '': false };

export function parseConfig(argv: string[], env: NodeJS.ProcessEnv = process.env): Config {
  const options = Object.fromEntries(
    (Object.values(SETTINGS) as Setting[]).map((s) => [s.flag, { type: s.kind === 'bool' ? ('boolean' as const) : ('string' as const) }]),
  );
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({ args: argv, options, allowPositionals: false, strict: true }) as { values: Record<string, string | boolean | undefined> });
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
  const out: Record<string, string | number | boolean> = {};
  for (const [key, s] of Object.entries(SETTINGS) as [SettingName, Setting][]) {
    const flag = values[s.flag];
    if (s.kind === 'bool') {
      const text = (env[s.env] ?? s.default).toLowerCase();
      if (flag === undefined && !(text in BOOL_TEXT))
        throw new ConfigError(`${s.env} must be 1, true, 0 or false, got '${env[s.env]}'`, { option: `--${s.flag}` });
      out[key] = flag === true || (flag === undefined && BOOL_TEXT[text] === true);
      continue;
    }
    const raw = (flag as string | undefined) ?? env[s.env] ?? s.default;
    if (s.kind === 'int') {
      const n = Number(raw);
      if (!Number.isInteger(n) || n < 0)
        throw new ConfigError(`--${s.flag} (${s.env}) must be a non-negative integer, got '${raw}'`, { option: `--${s.flag}` });
      out[key] = n;
    } else {
      out[key] = raw;
    }
  }
  if (!['json', 'pretty'].includes(out.logFormat as string)) throw new ConfigError(`--log-format must be json or pretty`, { option: '--log-format' });
  try {
    parseStoreUrl(out.store as string, out.dataDir as string, '--store');
  } catch (err) {
    throw new ConfigError(`${(err as Error).message} (${SETTINGS.store.env})`, { option: '--store', showUsage: false });
  }
  if ((out.leaseTtlMs as number) < 100) throw new ConfigError('--lease-ttl-ms must be at least 100', { option: '--lease-ttl-ms' });
  try {
    parseSchedulerList(out.scheduler as string, '--scheduler');
  } catch (err) {
    throw new ConfigError(`${(err as Error).message} (${SETTINGS.scheduler.env})`, { option: '--scheduler', showUsage: false });
  }
  if ((out.maxWorkers as number) < 1 || (out.minWorkers as number) > (out.maxWorkers as number))
    throw new ConfigError(`--max-workers (${out.maxWorkers}) must be at least 1 and at least --min-workers (${out.minWorkers})`, { option: '--max-workers' });
  if ((out.capacity as number) < 1) throw new ConfigError('--capacity must be at least 1', { option: '--capacity' });
  // A slot without a runtime process to run in would be a lie to the scheduler.
  if ((out.maxSandboxes as number) < (out.capacity as number)) {
    throw new ConfigError(`--max-sandboxes (${out.maxSandboxes}) must be at least --capacity (${out.capacity})`, { option: '--max-sandboxes' });
  }
  const tls = [out.tlsCert, out.tlsKey, out.tlsCa].filter((v) => v !== '').length;
  if (tls !== 0 && tls !== 3) throw new ConfigError('--tls-cert, --tls-key and --tls-ca go together: give all three or none', { option: '--tls-cert' });
  // Without keys anyone who can connect is an admin: only this machine may connect, then.
  if (out.noAuth === true && !isLoopbackHost(out.host as string))
    throw new ConfigError(noAuthRefusal(out.host as string), { option: '--no-auth', showUsage: false });
  return out as Config;
}

export const COMPONENT_HELP = {
  dev: 'scheduler + gateway + N workers as separate processes, one log stream',
  scheduler: 'the scheduler (gRPC, stores data in --data-dir)',
  gateway: 'the HTTP gateway, talking to --scheduler',
  worker: 'a worker agent, joining --scheduler',
  pool: 'N workers on this host as child processes, restarted when they die, scaled through the API or --autoscale',
} as const;

/** The usage of the components; of one of them when `command` is given (same flags: each ignores those of the others). */
export function usage(command?: keyof typeof COMPONENT_HELP): string {
  const rows = (Object.values(SETTINGS) as Setting[]).map(
    (s) => `  --${s.flag.padEnd(18)} ${s.env.padEnd(29)} ${s.help} (default: ${s.kind === 'bool' ? 'off' : s.default || 'none'})`,
  );
  const head = command
    ? [`usage: taskforge ${command} [flags]`, '', `  ${COMPONENT_HELP[command]}`]
    : ['usage: taskforge <dev|scheduler|gateway|worker|pool> [flags]', '', ...Object.entries(COMPONENT_HELP).map(([c, h]) => `  ${c.padEnd(10)} ${h}`)];
  return [
    ...head,
    '',
    'flags (each also read from its environment variable):',
    ...rows,
    '',
    'environment only: TASKFORGE_JOIN_TOKEN (worker), TASKFORGE_CONTROL_TOKEN (gateway) hold a token itself;',
    'a token file given by flag or *_TOKEN_FILE wins over them.',
  ].join('\n');
}
