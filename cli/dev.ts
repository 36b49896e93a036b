/**
 * `taskforge dev`: the whole stack on loopback as separate processes — scheduler, gateway and
 * a pool of N workers (`taskforge pool`, so `taskforge workers scale` works here too) — with their JSON logs merged into one readable stream. Ctrl-C stops every child
 * (each drains and exits); a child that does not exit within the grace period is killed.
 * Credentials are wired here: once the scheduler is ready, its data dir holds join.token and
 * control.token, and the workers and the gateway are pointed at those files (and at the same
 * --tls-* files when given). Auth is on as everywhere: the scheduler makes the admin key on its
 * first start in `<data-dir>/admin.key`, and dev says where it is once the stack is up.
 */
import { access } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { prettyFactory } from 'pino-pretty';
import { isRunning, spawnChildComponent, type ChildComponent } from './child-component.js';
import type { Config } from './config.js';
import { POOL_WORKER_FIELD } from './pool/worker-line.js';

const STOP_GRACE_MS = 35_000;

/**
 * The info lines dev shows: where things listen, where the admin key is, workers joining and
 * leaving, shutdown. Everything else at info (store loaded, tokens, each retry) and every line
 * about one execution is shown only with --log-level debug; warnings and errors always are.
 */
export const DEV_INFO_LINES: ReadonlySet<string> = new Set([
  'created the admin API key',
  'scheduler listening',
  'gateway listening',
  'worker connected',
  'worker draining',
  'worker lost',
  'pool target changed',
  'shutting down',
]);

const WARN = 40;

/** Whether dev prints a child's log line at this dev's log level. */
export function devShows(line: { level?: unknown; msg?: unknown; executionId?: unknown }, verbose: boolean): boolean {
  if (verbose || (typeof line.level === 'number' && line.level >= WARN)) return true;
  return typeof line.msg === 'string' && DEV_INFO_LINES.has(line.msg) && line.executionId === undefined;
}

export async function runDev(cfg: Config): Promise<number> {
  const pretty = prettyFactory({ colorize: process.stdout.isTTY, ignore: 'pid,hostname,component', translateTime: 'HH:MM:ss.l', singleLine: true });
  const verbose = cfg.logLevel === 'debug' || cfg.logLevel === 'trace';
  const children: ChildComponent[] = [];
  const scheduler = `127.0.0.1:${cfg.grpcPort}`;
  const tls = cfg.tlsCert ? ['--tls-cert', cfg.tlsCert, '--tls-key', cfg.tlsKey, '--tls-ca', cfg.tlsCa] : [];
  const common = ['--log-level', cfg.logLevel, '--host', cfg.host, ...tls];
  const dataDir = resolve(cfg.dataDir);

  const onLine =
    (label: string) =>
    (line: string): void => {
      let text = line;
      let from = label;
      if (line.startsWith('{')) {
        try {
          const parsed = JSON.parse(line) as Record<string, unknown>;
          if (!devShows(parsed, verbose)) return;
          // A pool's worker line says which worker it is (pool/worker-line.ts).
          if (typeof parsed[POOL_WORKER_FIELD] === 'string') from = parsed[POOL_WORKER_FIELD];
          delete parsed[POOL_WORKER_FIELD];
          text = pretty(parsed).trimEnd();
        } catch {
          // not JSON after all: print as is
        }
      }
      process.stdout.write(`${from.padEnd(10)} ${text}\n`);
    };
  const start = async (label: string, args: string[]): Promise<ChildComponent> => {
    const child = spawnChildComponent(label, [...args, ...common], { onLine: onLine(label) });
    children.push(child);
    await child.ready;
    return child;
  };

  const stopAll = async (): Promise<void> => {
    const timer = setTimeout(() => {
      for (const c of children) if (c.proc.exitCode === null) c.proc.kill('SIGKILL');
    }, STOP_GRACE_MS);
    // In stages: workers drain while the scheduler still takes their results, then the gateway,
    // then the scheduler.
    const stages = [children.filter((c) => c.label === 'pool'), children.filter((c) => c.label === 'gateway'), children.filter((c) => c.label === 'scheduler')];
    for (const stage of stages) {
      for (const c of stage) if (isRunning(c)) c.proc.kill('SIGTERM');
      await Promise.all(stage.map((c) => c.exited));
    }
    clearTimeout(timer);
  };

  let stopping = false;
  const onSignal = (): void => {
    if (stopping) {
      for (const c of children) c.proc.kill('SIGKILL');
      return;
    }
    stopping = true;
    process.stdout.write('dev        stopping (Ctrl-C again to kill)\n');
    void stopAll();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  try {
    // A dev machine's receivers are local: webhooks to loopback and private addresses are allowed.
    await start('scheduler', ['scheduler', '--grpc-port', String(cfg.grpcPort), '--data-dir', dataDir, '--allow-private-webhooks']);
    // The scheduler has written its tokens by the time it is ready.
    const joinTokenFile = join(dataDir, 'join.token');
    const controlTokenFile = join(dataDir, 'control.token');
    // Workers named worker-1…N, as before the pool; scalable up to 16 (or N) with `taskforge workers scale`.
    await start('pool', [
      'pool',
      '--pool-name',
      'worker',
      '--workers',
      String(cfg.workers),
      '--max-workers',
      String(Math.max(cfg.workers, 16)),
      '--scheduler',
      scheduler,
      '--join-token-file',
      joinTokenFile,
      '--capacity',
      String(cfg.capacity),
      '--prewarm',
      String(cfg.prewarm),
      '--max-sandboxes',
      String(cfg.maxSandboxes),
    ]);
    const gatewayAuth = cfg.noAuth ? ['--no-auth'] : [];
    await start('gateway', [
      'gateway',
      '--port',
      String(cfg.port),
      '--scheduler',
      scheduler,
      '--control-token-file',
      controlTokenFile,
      '--rate-limit',
      String(cfg.rateLimit),
      ...gatewayAuth,
    ]);
    process.stdout.write(`dev        TaskForge is up: http://${cfg.host}:${cfg.port}  (data in ${cfg.dataDir}; Ctrl-C stops)\n`);
    process.stdout.write(`dev        ${await keyHint(cfg)}\n`);
  } catch (err) {
    process.stderr.write(`dev        ${(err as Error).message}\n`);
    stopping = true;
    await stopAll();
    // A child that could not start says why (a port in use: 2); dev exits the same way.
    return (err as { exitCode?: number }).exitCode || 1;
  }
  // Any child dying on its own takes the stack down, so a broken dev stack is never half up.
  const first = await Promise.race(children.map((c) => c.exited.then((code) => ({ c, code }))));
  if (!stopping) {
    process.stdout.write(`dev        ${first.c.label} exited (code ${first.code}); stopping the rest\n`);
    stopping = true;
    await stopAll();
    return first.code || 1;
  }
  await Promise.all(children.map((c) => c.exited));
  return 0;
}

/** Where the admin key is (the scheduler wrote it at its first start), or that auth is off. */
async function keyHint(cfg: Config): Promise<string> {
  if (cfg.noAuth) return 'API keys are off (--no-auth): every request on this loopback address acts as an admin';
  const file = join(cfg.dataDir, 'admin.key');
  try {
    await access(file);
  } catch {
    return `no admin API key at ${file}: the scheduler should have written it; see docs/SECURITY.md`;
  }
  const cliFinds = resolve(file) === resolve('data', 'admin.key');
  return `admin API key: ${file}  (${cliFinds ? 'the CLI reads it from there' : `for the CLI: export TASKFORGE_API_KEY=$(cat ${file})`}; try: bin/taskforge workers)`;
}
