/**
 * `taskforge pool`: N `taskforge worker` children on this host (supervisor.ts), linked to the
 * scheduler so `POST /v1/workers/scale` reaches it (link.ts), and with --autoscale sized from the
 * load the scheduler reports (autoscale.ts). The workers get this process's flags: --scheduler,
 * the join token, TLS, --capacity and the sandbox settings; each is named `<pool>-<n>`. Their log
 * lines go to this process's stdout as they are. It never runs an execution itself.
 */
import { hostname } from 'node:os';
import type { Logger } from '../../common/logger.js';
import { FUNCTION_NAME_RE } from '../../common/names.js';
import type { LoadReport, PoolState, ScaleResult } from '../../proto/gen/taskforge/v1/pool.js';
import { spawnChildComponent, isRunning } from '../child-component.js';
import { ConfigError, type Config } from '../config.js';
import { joinToken, tlsIdentity } from '../credentials.js';
import { AUTOSCALE_DEFAULTS, decide, initialMemory, validateAutoscaleOptions, type AutoscaleMemory } from './autoscale.js';
import { PoolLink } from './link.js';
import { writeWorkerLine } from './worker-line.js';
import { PoolSupervisor, type WorkerHandle } from './supervisor.js';

/** ms: a worker's SIGTERM drain is bounded by its own grace (35 s); ours is a little longer. */
const STOP_GRACE_MS = 40_000;

export interface PoolHandle {
  readonly name: string;
  readonly supervisor: PoolSupervisor;
  /** Resolves once the first workers have said they are up (or exited trying). */
  readonly started: Promise<void>;
  close(): Promise<void>;
}

/** The pool's name: --pool-name, else this host's name made into a valid one. */
export function poolNameOf(cfg: Config): string {
  if (cfg.poolName !== '') {
    if (!FUNCTION_NAME_RE.test(cfg.poolName)) throw new ConfigError(`--pool-name must match ${FUNCTION_NAME_RE.source}`, { option: '--pool-name' });
    return cfg.poolName;
  }
  const h = hostname()
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-')
    .replace(/^[^a-z]+/, '');
  return (h || 'pool').slice(0, 50);
}

/** The flags every worker of the pool is started with (its name comes per slot). */
export function workerArgs(cfg: Config): string[] {
  const args = ['worker', '--scheduler', cfg.scheduler, '--capacity', String(cfg.capacity), '--prewarm', String(cfg.prewarm)];
  args.push('--max-sandboxes', String(cfg.maxSandboxes), '--sandbox-idle-ms', String(cfg.sandboxIdleMs), '--log-level', cfg.logLevel);
  if (cfg.joinTokenFile) args.push('--join-token-file', cfg.joinTokenFile);
  if (cfg.tlsCert) args.push('--tls-cert', cfg.tlsCert, '--tls-key', cfg.tlsKey, '--tls-ca', cfg.tlsCa);
  if (cfg.insecureSandbox) args.push('--insecure-sandbox');
  if (cfg.noCompileCache) args.push('--no-compile-cache');
  if (cfg.bwrap) args.push('--bwrap', cfg.bwrap);
  return args;
}

export function startPool(cfg: Config, log: Logger, onLine: (line: string, label: string) => void = writeWorkerLine): PoolHandle {
  const name = poolNameOf(cfg);
  const min = cfg.minWorkers;
  const max = cfg.maxWorkers;
  const initial = Math.min(max, Math.max(min, cfg.workers));
  const auto = cfg.autoscale
    ? validateAutoscaleOptions({
        minWorkers: min,
        maxWorkers: max,
        workerCapacity: cfg.capacity,
        targetLoad: AUTOSCALE_DEFAULTS.targetLoad,
        upCooldownMs: cfg.scaleUpCooldownMs,
        downCooldownMs: cfg.scaleDownCooldownMs,
      })
    : null;
  // Read once, so a missing token stops the start with one line (credentials.ts says which).
  const token = joinToken(cfg);
  const base = workerArgs(cfg);
  const firstReady: Promise<void>[] = [];
  const spawn = (index: number): WorkerHandle => {
    const child = spawnChildComponent(`${name}-${index}`, [...base, '--name', `${name}-${index}`], { onLine });
    if (firstReady.length < initial) firstReady.push(child.ready.catch(() => undefined));
    log.info({ pool: name, worker: child.label, pid: child.proc.pid }, 'pool worker started');
    return {
      exited: child.exited,
      stop: () => {
        if (isRunning(child)) child.proc.kill('SIGTERM');
      },
      kill: () => {
        if (isRunning(child)) child.proc.kill('SIGKILL');
      },
    };
  };
  let link: PoolLink | null = null;
  const supervisor = new PoolSupervisor({
    spawn,
    restartBaseMs: 500,
    restartCapMs: 30_000,
    healthyAfterMs: 10_000,
    stopGraceMs: STOP_GRACE_MS,
    log,
    onChange: () => link?.sendState(),
  });
  const state = (): PoolState => ({
    current: supervisor.current,
    target: supervisor.target,
    min,
    max,
    autoscale: auto !== null,
    workerCapacity: cfg.capacity,
  });
  const onScale = (workers: number): Omit<ScaleResult, 'requestId'> => {
    if (auto) return { state: state(), errorCode: 'POOL_AUTOSCALED', errorMessage: `pool '${name}' runs its own autoscaler (--autoscale)` };
    if (workers < min || workers > max)
      return { state: state(), errorCode: 'VALIDATION_ERROR', errorMessage: `pool '${name}' runs between ${min} and ${max} workers, not ${workers}` };
    supervisor.setTarget(workers);
    return { state: state(), errorCode: '', errorMessage: '' };
  };
  let memory: AutoscaleMemory = initialMemory(Date.now());
  const onLoad = (load: LoadReport): void => {
    if (!auto) return;
    const d = decide(supervisor.target, { queueDepth: load.queueDepth, inFlight: load.inFlight }, memory, Date.now(), auto);
    memory = d.memory;
    if (d.target !== supervisor.target) {
      log.info({ pool: name, from: supervisor.target, to: d.target, reason: d.reason, queueDepth: load.queueDepth, inFlight: load.inFlight }, 'autoscale');
      supervisor.setTarget(d.target);
    }
  };
  link = new PoolLink({ scheduler: cfg.scheduler, joinToken: token, tls: tlsIdentity(cfg) ?? null, name, host: hostname(), state, onScale, onLoad, log });
  supervisor.setTarget(initial);
  link.start();
  log.info({ pool: name, workers: initial, min, max, autoscale: auto !== null, scheduler: cfg.scheduler }, 'pool started');
  let closing: Promise<void> | null = null;
  return {
    name,
    supervisor,
    started: Promise.all(firstReady).then(() => undefined),
    close() {
      closing ??= (async () => {
        link?.close();
        await supervisor.close();
        log.info({ pool: name }, 'pool stopped');
      })();
      return closing;
    },
  };
}
