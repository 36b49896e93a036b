/**
 * `taskforge scheduler|gateway|worker|pool|dev`: one component in this process (or, for dev, the
 * whole stack as child processes; for pool, its workers). Flags and their environment variables are config.ts's; this
 * file starts the component, prints one line for what stops it from starting (a port in use, a
 * bad setting, no sandbox), and closes it cleanly on SIGINT/SIGTERM.
 */
import { logVerbosity, setLogVerbosity } from '@grpc/grpc-js';
import pinoPretty from 'pino-pretty';
import { installHopTraceFileFromEnv } from '../common/hop-trace-file.js';
import { createLogger, type Logger } from '../common/logger.js';
import { ConfigError, parseConfig, usage, type Config } from './config.js';
import { controlToken, joinToken, tlsIdentity } from './credentials.js';
import { runDev } from './dev.js';
import { EXIT } from './exit-codes.js';

export const COMPONENTS = ['dev', 'scheduler', 'gateway', 'worker', 'pool'] as const;
export type ComponentName = (typeof COMPONENTS)[number];
export const isComponent = (s: string | undefined): s is ComponentName => (COMPONENTS as readonly string[]).includes(s ?? '');

type Closeable = { close(): Promise<void> };

async function startComponent(command: Exclude<ComponentName, 'dev'>, cfg: Config, log: Logger): Promise<Closeable & { closed?: Promise<number | void> }> {
  switch (command) {
    case 'scheduler': {
      const { startScheduler } = await import('../scheduler/server.js');
      const tls = tlsIdentity(cfg);
      // A failed bind is reported once, by portInUse below: grpc-js would also print its own line.
      setLogVerbosity(logVerbosity.NONE);
      try {
        const s = await startScheduler({
          host: cfg.host,
          port: cfg.grpcPort,
          dataDir: cfg.dataDir,
          storeUrl: cfg.store,
          leaseTtlMs: cfg.leaseTtlMs,
          logger: log,
          allowPrivateWebhooks: cfg.allowPrivateWebhooks,
          ...(tls ? { tls } : {}),
        });
        // Deposed (another scheduler took the lease): exit non-zero, so a supervisor starts it
        // again, and it waits as a standby.
        return { close: () => s.close(), closed: s.deposed.then(() => EXIT.error) };
      } finally {
        setLogVerbosity(logVerbosity.ERROR);
      }
    }
    case 'gateway': {
      const { startGateway } = await import('../gateway/main.js');
      const tls = tlsIdentity(cfg);
      const client = { controlToken: controlToken(cfg), ...(tls ? { tls } : {}) };
      const gw = await startGateway({
        host: cfg.host,
        port: cfg.port,
        scheduler: cfg.scheduler,
        logger: log,
        client,
        noAuth: cfg.noAuth,
        app: { rateLimit: cfg.rateLimit },
      });
      log.info({ url: `http://${cfg.host}:${gw.port}` }, 'gateway listening');
      return gw;
    }
    case 'pool': {
      const { startPool } = await import('./pool/run-pool.js');
      const pool = startPool(cfg, log);
      // Ready (for dev) once the first workers are: a stack is up when its workers are.
      await pool.started;
      return pool;
    }
    case 'worker': {
      // Before any sandbox is spawned: nothing this process inherited may reach one.
      const { closeInheritedDescriptors } = await import('../worker/inherited-fds.js');
      const closed = closeInheritedDescriptors();
      if (closed.length > 0) log.info({ fds: closed }, 'closed inherited descriptors');
      const { startWorker } = await import('../worker/main.js');
      const tls = tlsIdentity(cfg);
      const w = await startWorker({
        schedulerAddress: cfg.scheduler,
        joinToken: joinToken(cfg),
        ...(tls ? { tls } : {}),
        capacity: cfg.capacity,
        ...(cfg.name ? { name: cfg.name } : {}),
        logger: log,
        poolOptions: {
          prewarm: cfg.prewarm,
          maxProcesses: cfg.maxSandboxes,
          isolation: cfg.insecureSandbox ? 'insecure' : 'namespaces',
          compileCache: !cfg.noCompileCache,
          idleTtlMs: Math.max(1, cfg.sandboxIdleMs),
          ...(cfg.bwrap ? { bwrapPath: cfg.bwrap } : {}),
        },
      });
      log.info(
        { workerId: w.id, scheduler: cfg.scheduler, capacity: cfg.capacity, sandbox: cfg.insecureSandbox ? 'insecure' : 'namespaces' },
        'worker started',
      );
      if (cfg.insecureSandbox) log.warn("sandboxes run without the OS boundary (--insecure-sandbox): only Node's permission model confines function code");
      return w;
    }
  }
}

/**
 * `--log-format pretty`: pino-pretty as the logger's destination, in this process (sync, so a
 * line written just before exit is not lost). json: pino's own JSON lines on stdout.
 */
function loggerFor(command: string, cfg: Config): Logger {
  if (cfg.logFormat !== 'pretty') return createLogger({ component: command, level: cfg.logLevel });
  const destination = pinoPretty({ sync: true, colorize: process.stdout.isTTY, ignore: 'pid,hostname', translateTime: 'HH:MM:ss.l', singleLine: true });
  return createLogger({ component: command, level: cfg.logLevel, destination });
}

/** The port a failed listen was for, when the failure is "address in use". */
export function portInUse(err: unknown, command: string, cfg: Config): string | null {
  const text = `${(err as NodeJS.ErrnoException)?.code ?? ''} ${(err as Error)?.message ?? ''}`;
  if (!/EADDRINUSE|address already in use/i.test(text)) return null;
  const [port, flag] = command === 'scheduler' ? [cfg.grpcPort, '--grpc-port'] : [cfg.port, '--port'];
  return `port ${port} is in use: another process listens on ${cfg.host}:${port} (stop it, or choose another with ${flag})`;
}

/** Runs a component until it is stopped; the exit code is set on process.exitCode. */
export async function runComponentCommand(command: ComponentName, argv: string[]): Promise<void> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${usage(command)}\n`);
    return;
  }
  let cfg: Config;
  try {
    cfg = parseConfig(argv);
  } catch (err) {
    const showUsage = !(err instanceof ConfigError) || err.showUsage;
    process.stderr.write(`taskforge: ${(err as Error).message}\n${showUsage ? `\n${usage(command)}\n` : ''}`);
    process.exitCode = EXIT.usage;
    return;
  }
  if (command === 'dev') {
    process.exitCode = await runDev(cfg);
    return;
  }
  // Hop marks go to TASKFORGE_TRACE_FILE when it is set (bench/tools/hops.ts); else nothing listens.
  installHopTraceFileFromEnv();
  const log = loggerFor(command, cfg);
  let component: Closeable & { closed?: Promise<number | void> };
  try {
    component = await startComponent(command, cfg, log);
  } catch (err) {
    const inUse = portInUse(err, command, cfg);
    if (inUse) {
      process.stderr.write(`taskforge: ${inUse}\n`);
      process.exitCode = EXIT.usage;
      return;
    }
    if (err instanceof ConfigError) {
      process.stderr.write(`taskforge: ${err.message}\n\n${usage(command)}\n`);
      process.exitCode = EXIT.usage;
      return;
    }
    if (err instanceof Error && err.name === 'IsolationUnavailableError') {
      process.stderr.write(
        `taskforge: the worker cannot sandbox functions: ${err.message}\n(start it with --insecure-sandbox to run them with Node's permission model only)\n`,
      );
      process.exitCode = EXIT.usage;
      return;
    }
    log.fatal({ err }, `${command} failed to start`);
    process.exitCode = EXIT.error;
    return;
  }
  // Started by `taskforge dev`: tell it we are up (whatever the log level).
  process.send?.({ ready: command });
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) {
      log.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    log.info({ signal }, 'shutting down');
    component.close().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  // Started by `taskforge dev`: stop when dev goes away, however it went.
  if (process.send) process.on('disconnect', () => stop('parent-exit'));
  // A worker told to drain by the scheduler exits once it has; a deposed scheduler, with its code.
  void component.closed?.then((code) => {
    if (!stopping) process.exit(code ?? 0);
  });
}
