/**
 * `taskforge <command>`: runs one component in this process (scheduler, gateway, worker), or
 * the whole stack as child processes (dev). SIGINT/SIGTERM close the component cleanly.
 */
import { installHopTraceFileFromEnv } from '../common/hop-trace-file.js';
import { createLogger, type Logger } from '../common/logger.js';
import { ConfigError, parseConfig, usage, type Config } from './config.js';
import { controlToken, joinToken, tlsIdentity } from './credentials.js';
import { runDev } from './dev.js';

type Closeable = { close(): Promise<void> };

async function runComponent(command: string, cfg: Config, log: Logger): Promise<Closeable & { closed?: Promise<void> }> {
  switch (command) {
    case 'scheduler': {
      const { startScheduler } = await import('../scheduler/server.js');
      const tls = tlsIdentity(cfg);
      return startScheduler({ host: cfg.host, port: cfg.grpcPort, dataDir: cfg.dataDir, logger: log, ...(tls ? { tls } : {}) });
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
    default:
      throw new ConfigError(`unknown command '${command}'`);
  }
}

async function main(): Promise<void> {
  const [command, ...rest] = process.argv.slice(2);
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(`${usage()}\n`);
    process.exitCode = command ? 0 : 1;
    return;
  }
  let cfg: Config;
  try {
    cfg = parseConfig(rest);
  } catch (err) {
    const showUsage = !(err instanceof ConfigError) || err.showUsage;
    process.stderr.write(`taskforge: ${(err as Error).message}\n${showUsage ? `\n${usage()}\n` : ''}`);
    process.exitCode = 2;
    return;
  }
  if (command === 'dev') {
    process.exitCode = await runDev(cfg);
    return;
  }
  // Hop marks go to TASKFORGE_TRACE_FILE when it is set (bench/tools/hops.ts); else nothing listens.
  installHopTraceFileFromEnv();
  const log = createLogger({ component: command, level: cfg.logLevel });
  let component: Closeable & { closed?: Promise<void> };
  try {
    component = await runComponent(command, cfg, log);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`taskforge: ${err.message}\n\n${usage()}\n`);
      process.exitCode = 2;
      return;
    }
    if (err instanceof Error && err.name === 'IsolationUnavailableError') {
      process.stderr.write(
        `taskforge: the worker cannot sandbox functions: ${err.message}\n(start it with --insecure-sandbox to run them with Node's permission model only)\n`,
      );
      process.exitCode = 2;
      return;
    }
    log.fatal({ err }, `${command} failed to start`);
    process.exitCode = 1;
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
  // A worker told to drain by the scheduler exits once it has.
  void component.closed?.then(() => {
    if (!stopping) process.exit(0);
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`taskforge: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
