/**
 * The scheduler process: opens the store, rebuilds its indexes, re-queues what was not finished,
 * loads (or makes) the control plane's tokens, and serves ControlService and WorkerService on one
 * gRPC port — every call behind the auth interceptor, optionally over mutual TLS.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { Server, ServerCredentials } from '@grpc/grpc-js';
import { ControlServiceService } from '../proto/gen/taskforge/v1/control.js';
import { WorkerServiceService } from '../proto/gen/taskforge/v1/worker.js';
import { PoolServiceService } from '../proto/gen/taskforge/v1/pool.js';
import { attachPools } from './pools/index.js';
import { createAuthInterceptor, servicePrefix } from './auth-interceptor.js';
import { loadCredentials, type CredentialKind, type Credentials } from './credentials.js';
import { checkCode } from '../common/code-check.js';
import { SERVER_OPTIONS } from '../common/grpc-options.js';
import { createControlService } from './control-service.js';
import type { Dispatcher } from './dispatch/dispatcher.js';
import type { ExecutionState } from './execution/state.js';
import type { FunctionRegistry } from './function-registry.js';
import { KeyRegistry } from './key-registry.js';
import { createSchedulerMetrics } from './metrics.js';
import { resolveSchedulerOptions, type SchedulerOptionsInput } from './options.js';
import type { PostgresStore } from './store/postgres/postgres-store.js';
import { createStoreAt } from './store/select-store.js';
import { createStateAt } from './store/select-state.js';
import { parseStoreUrl } from './store/store-url.js';
import { CronScheduler } from './triggers/cron.js';
import { TopicPublisher } from './triggers/topics.js';
import { createWorkerService } from './worker-service.js';
import { createSchedulerCore } from './wire.js';
import { DeliveryManager } from './delivery/manager.js';
import { DELIVERY_LIMITS } from './delivery/types.js';
import { createWebhookSender } from './delivery/webhook.js';
import type { WorkerRegistry } from './worker-registry.js';

export interface SchedulerHandle {
  port: number;
  address: string;
  /** Where the join and control tokens were written (an operator may have moved them since). */
  tokenFiles: Readonly<Record<CredentialKind, string>>;
  /** Stops accepting, ends worker streams, flushes the store. Idempotent. */
  close(): Promise<void>;
  /**
   * Resolves when the scheduler stopped by itself: its store's leader lease was lost (another
   * scheduler leads now), so it cut every connection and closed. Never resolves for the file store.
   */
  readonly deposed: Promise<Error>;
  /** For tests and tools: the live components. */
  readonly internals: {
    state: ExecutionState;
    registry: WorkerRegistry;
    dispatcher: Dispatcher;
    functions: FunctionRegistry;
    cron: CronScheduler;
    deliveries: DeliveryManager;
  };
}

export async function startScheduler(input: SchedulerOptionsInput = {}): Promise<SchedulerHandle> {
  const opts = resolveSchedulerOptions(input);
  const log = opts.logger;
  const location = parseStoreUrl(opts.storeUrl, opts.dataDir);
  const store =
    opts.store ??
    (await createStoreAt(location, { groupCommitMs: opts.groupCommitMs, logger: log, lease: { holder: leaseHolder(opts), ttlMs: opts.leaseTtlMs } }));
  const started = Date.now();
  // Keys, token digests, cron and delivery state: in --data-dir, or in the database with PostgreSQL.
  const kept = await createStateAt(location, opts.dataDir, log, 'lease' in store ? (store as PostgresStore).lease : null);
  const keys = new KeyRegistry(kept.keys, log);
  let loaded: Awaited<ReturnType<typeof store.open>>;
  let credentials: Credentials;
  try {
    // The store first: on PostgreSQL its open() waits for the leader lease, and the state below
    // must be read only then, so a standby that takes over sees every key made before.
    loaded = await store.open();
    // Exclusive: two first starts on one database make one admin key and one pair of tokens, on one host.
    credentials = await kept.exclusiveStart(async () => {
      await keys.open();
      return loadCredentials(opts.dataDir, { log, digests: kept.digests });
    });
  } catch (err) {
    await store.close().catch(() => undefined);
    await kept.close().catch(() => undefined);
    throw err;
  }

  const { state, functions, registry, dispatcher, executions, breakers, cache, workflows } = createSchedulerCore({
    store,
    log,
    checkCode,
    retryPolicy: { baseMs: opts.retryBaseMs, capMs: opts.retryCapMs },
    watchdogSlackMs: opts.watchdogSlackMs,
    adoptGraceMs: opts.adoptGraceMs,
    heartbeatIntervalMs: opts.heartbeatIntervalMs,
    missedHeartbeats: opts.missedHeartbeats,
    forgetLostAfterMs: opts.forgetLostAfterMs,
    maxQueue: opts.maxQueue,
    retentionMs: opts.retentionMs,
    eventLogCapacity: opts.eventLogCapacity,
    random: opts.random,
    onWorkerLost: (worker, reason) => log.warn({ workerId: worker.id, reason }, 'worker lost'),
    allowPrivateWebhooks: opts.allowPrivateWebhooks,
  });
  const deliveries = new DeliveryManager({
    store: kept.deliveries,
    log,
    version: (name, version) => functions.anyVersion(name, version),
    execution: (id) => state.index.get(id),
    invoke: (req) => executions.invoke(req),
    send: createWebhookSender({
      timeoutMs: opts.webhookTimeoutMs,
      maxResponseBytes: DELIVERY_LIMITS.maxResponseBytes,
      allowPrivate: opts.allowPrivateWebhooks,
    }),
    policy: { baseMs: opts.deliveryRetryBaseMs, capMs: opts.deliveryRetryCapMs, maxAttempts: opts.deliveryAttempts },
    concurrency: opts.deliveryConcurrency,
    perHostConcurrency: opts.deliveryPerHostConcurrency,
    random: opts.random,
  });
  // The one place an execution's end reaches its destination (finish effect, state.ts).
  state.onFinish((rec) => deliveries.onFinish(rec));
  // Before recovery, so what it finishes (an execution whose function is gone) is counted.
  const metrics = createSchedulerMetrics({
    state,
    registry,
    circuits: () => breakers.states(),
    cache: () => ({ entries: cache.size, bytes: cache.bytes }),
    deliveries: () => deliveries.stats,
  });
  functions.load(loaded.functions);
  state.index.load(loaded.executions);
  dispatcher.recover(loaded.executions);
  const pruned = await executions.prune();
  // After recovery and pruning: every terminal execution kept, so a delivery lost to a kill is made.
  const delivered = await deliveries.open(state.index.values());
  // After recovery: a run is reconciled against its steps' executions as they are now.
  await workflows.load(await store.loadWorkflows());
  const prunedRuns = await workflows.prune(opts.retentionMs);

  let accepting = true;
  const server = new Server({
    ...SERVER_OPTIONS,
    interceptors: [
      createAuthInterceptor({
        credentials,
        services: {
          [servicePrefix(WorkerServiceService.connect.path)]: 'join',
          [servicePrefix(PoolServiceService.connect.path)]: 'join',
          [servicePrefix(ControlServiceService.ping.path)]: 'control',
        },
        log,
      }),
    ],
  });
  const topics = new TopicPublisher(state, functions, { maxQueue: opts.maxQueue });
  // After recovery: a catch-up tick's idempotency check sees every execution loaded.
  const cron = new CronScheduler({ state, functions, file: kept.cron, log });
  await cron.start();
  const pools = attachPools({ server, state, workers: registry, metrics: metrics.registry, log, accepting: () => accepting });
  const control = createControlService({
    pools,
    functions,
    executions,
    state,
    registry,
    keys,
    log,
    metrics: () => metrics.text(),
    topics,
    cron,
    circuits: (fn) => breakers.info(fn),
    deliveries,
    workflows,
  });
  server.addService(ControlServiceService, control.service);
  server.addService(
    WorkerServiceService,
    createWorkerService({ registry, dispatcher, heartbeatIntervalMs: opts.heartbeatIntervalMs, log, accepting: () => accepting }),
  );
  const port = await new Promise<number>((resolve, reject) => {
    // checkClientCertificate: with TLS on, a client without a certificate signed by the CA is refused.
    const creds = opts.tls
      ? ServerCredentials.createSsl(opts.tls.ca, [{ cert_chain: opts.tls.cert, private_key: opts.tls.key }], true)
      : ServerCredentials.createInsecure();
    server.bindAsync(`${opts.host}:${opts.port}`, creds, (err, p) => (err ? reject(err) : resolve(p)));
  });
  log.info(
    {
      port,
      dataDir: opts.dataDir,
      tls: opts.tls !== undefined,
      functions: loaded.functions.length,
      executions: loaded.executions.length,
      quarantined: loaded.quarantined.length,
      sweptTempFiles: loaded.sweptTempFiles,
      pruned,
      deliveries: delivered.loaded,
      deliveriesResumed: delivered.created,
      prunedRuns,
      startupMs: Date.now() - started,
    },
    'scheduler listening',
  );

  const pruneTimer = setInterval(() => {
    executions
      .prune()
      .then(() => deliveries.prune((id) => state.index.get(id) !== undefined))
      .catch((err: unknown) => log.error({ err }, 'prune failed'));
    workflows.prune(opts.retentionMs).catch((err: unknown) => log.error({ err }, 'workflow run prune failed'));
  }, opts.pruneIntervalMs);
  pruneTimer.unref();

  let closing: Promise<void> | null = null;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      accepting = false;
      clearInterval(pruneTimer);
      // Long-lived streams never end by themselves: end them, then let unary calls finish.
      const steps: [string, () => Promise<void> | void][] = [
        ['cron', () => cron.close()],
        ['waiters', () => state.waiters.releaseAll()],
        ['registry', () => registry.close()],
        ['pools', () => pools.close()],
        ['streams', () => control.endStreams()],
        ['grpc', () => shutdownServer(server, opts.shutdownGraceMs)],
        ['workflows', () => workflows.close()],
        ['dispatcher', () => dispatcher.close()],
        ['deliveries', () => deliveries.close()],
        ['timers', () => state.close()],
        ['metrics', () => metrics.close()],
        ['store', () => store.close()],
        ['state', () => kept.close()],
      ];
      for (const [name, step] of steps) {
        try {
          await step();
        } catch (err) {
          log.error({ err, step: name }, 'close step failed');
        }
      }
      log.info('scheduler stopped');
    })();
    return closing;
  };

  // Deposed: no gRPC call may reach this scheduler again, from now — a worker still connected would
  // be given work the new leader also gives out. Cut every connection first, then close.
  const deposed = new Promise<Error>((resolve) => {
    store.onDeposed?.((err) => {
      accepting = false;
      server.forceShutdown();
      void close().then(() => resolve(err));
    });
  });

  return {
    port,
    address: `${opts.host}:${port}`,
    tokenFiles: credentials.files,
    close,
    deposed,
    internals: { state, registry, dispatcher, functions, cron, deliveries },
  };
}

/**
 * This scheduler's name in the leader lease: host name and listening address, so a scheduler
 * restarted on the same address takes its own lease back at once instead of waiting out its ttl.
 * On port 0 the address is not known yet, so the name is made unique.
 */
function leaseHolder(opts: { host: string; port: number }): string {
  return `${hostname()}/${opts.host}:${opts.port === 0 ? `0/${randomUUID()}` : opts.port}`;
}

function shutdownServer(server: Server, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    const force = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, graceMs);
    force.unref();
    server.tryShutdown(() => {
      clearTimeout(force);
      resolve();
    });
  });
}
