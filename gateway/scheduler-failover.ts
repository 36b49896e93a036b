/**
 * The gateway's ControlClient over a list of schedulers (`--scheduler a:50051,b:50051`): calls go
 * to one of them, the active one as far as this gateway knows; when a call fails because that
 * scheduler went away (the connection was refused, reset or dropped: a standby does not listen,
 * a scheduler that lost its lease closes its server), the next address becomes the one used.
 *
 * Before a call is sent, the connection of the scheduler in use is made (or found up); one that is
 * refused is passed over for the next address, for any call, since nothing reached it. A call that
 * failed after it was sent is tried once more, on the next address, only when doing it twice
 * cannot do it twice: reads, and invokes, batches and workflow runs carrying an idempotency key
 * (the scheduler answers a repeated key with the first execution). Every other write answers 503
 * SCHEDULER_UNAVAILABLE (`reason: scheduler_lost`), since the scheduler may have accepted it
 * before it went; the HTTP client decides whether to send it again. Watch and log streams are
 * not resumed here: they end, the route ends the SSE response, and the client's reconnect (with
 * Last-Event-ID) reaches the next scheduler (docs/CONFIGURATION.md "Several schedulers").
 *
 * It must never retry a call that failed for any other reason (a refusal, a deadline: the
 * scheduler is slow, not gone), and never hold per-request state across calls. With one address
 * the per-address client is used as it is, so a single scheduler behaves exactly as before lists.
 */
import { status as GrpcStatus } from '@grpc/grpc-js';
import { TaskForgeError } from '../common/errors.js';
import type { Logger } from '../common/logger.js';
import type { ControlClient, FollowHandlers, WatchHandlers } from './control-client.js';

/** A refused, reset or dropped connection; a reset stream arrives as CANCELLED. */
const GONE: ReadonlySet<number> = new Set([GrpcStatus.UNAVAILABLE, GrpcStatus.CANCELLED]);

/**
 * True when `err` says the scheduler went away: SCHEDULER_UNAVAILABLE whose first gRPC status in
 * its cause chain is UNAVAILABLE or CANCELLED (a reset stream), or which has none (the session
 * stream ended). A refused token, a passed deadline or an error the scheduler sent are not.
 */
export function isSchedulerGone(err: unknown): boolean {
  if (!(err instanceof TaskForgeError) || err.code !== 'SCHEDULER_UNAVAILABLE') return false;
  if (err.details.reason === 'shutting_down') return false;
  let e: unknown = err.cause;
  for (let depth = 0; e !== null && typeof e === 'object' && depth < 8; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'number') return GONE.has(code);
    e = (e as { cause?: unknown }).cause;
  }
  return true;
}

const lost = (cause: unknown): TaskForgeError =>
  new TaskForgeError(
    'SCHEDULER_UNAVAILABLE',
    'the scheduler went away while handling the request; it may have been done: send it again with an Idempotency-Key to be sure it runs once',
    { reason: 'scheduler_lost' },
    { cause },
  );

/** ms a call waits for a connection to the scheduler in use before it moves on to the next. */
export const FAILOVER_CONNECT_TIMEOUT_MS = 3000;

export function createFailoverControlClient(
  addresses: readonly string[],
  make: (address: string) => ControlClient,
  logger?: Logger,
  connectTimeoutMs: number = FAILOVER_CONNECT_TIMEOUT_MS,
): ControlClient {
  if (addresses.length === 0) throw new Error('createFailoverControlClient needs at least one address');
  if (addresses.length === 1) return make(addresses[0]!);
  const clients = addresses.map((a) => make(a));
  let active = 0;
  let closed = false;

  /** The scheduler at `i` went away or does not listen: the next address becomes the one used (once per failure). */
  const moveOn = (i: number, why: string): void => {
    if (active !== i || closed) return;
    active = (i + 1) % clients.length;
    logger?.warn({ reason: 'scheduler_lost', from: addresses[i], to: addresses[active], why }, 'scheduler not usable; using the next one');
  };

  /**
   * From the scheduler in use on, the first whose connection is up or can be made. Nothing has been
   * sent to one that refused (a standby, a scheduler gone), so passing over it is safe for any call.
   * When every address refused, the one in use is returned and the call fails fast there.
   */
  async function pick(): Promise<number> {
    for (let tried = 0; tried < clients.length && !closed; tried++) {
      const i = active;
      const state = (await clients[i]!.connect?.(connectTimeoutMs)) ?? 'ready';
      if (state === 'ready') return i;
      moveOn(i, state === 'refused' ? 'connection refused' : 'no connection in time');
    }
    return active;
  }

  async function run<T>(safe: boolean, f: (c: ControlClient) => Promise<T>): Promise<T> {
    const first = await pick();
    try {
      return await f(clients[first]!);
    } catch (err) {
      if (!isSchedulerGone(err)) throw err;
      moveOn(first, 'lost during the call');
      if (closed) throw err;
      if (!safe) throw lost(err);
    }
    const second = await pick();
    try {
      return await f(clients[second]!);
    } catch (err) {
      if (isSchedulerGone(err)) moveOn(second, 'lost during the call');
      throw err;
    }
  }
  const read = <T>(f: (c: ControlClient) => Promise<T>): Promise<T> => run(true, f);
  const write = <T>(f: (c: ControlClient) => Promise<T>): Promise<T> => run(false, f);
  const keyed = <T>(key: string | null, f: (c: ControlClient) => Promise<T>): Promise<T> => run(key !== null && key !== '', f);

  return {
    putFunction: (name, spec, createOnly) => write((c) => c.putFunction(name, spec, createOnly)),
    getFunction: (name, includeCode, version) => read((c) => c.getFunction(name, includeCode, version)),
    listFunctions: () => read((c) => c.listFunctions()),
    listPools: () => read((c) => c.listPools()),
    scaleWorkers: (pool, workers) => write((c) => c.scaleWorkers(pool, workers)),
    listVersions: (name) => read((c) => c.listVersions(name)),
    deleteFunction: (name) => write((c) => c.deleteFunction(name)),
    invoke: (args) => keyed(args.idempotencyKey, (c) => c.invoke(args)),
    invokeBatch: (args) => keyed(args.idempotencyKey, (c) => c.invokeBatch(args)),
    getExecution: (id, waitMs) => read((c) => c.getExecution(id, waitMs)),
    listExecutions: (args) => read((c) => c.listExecutions(args)),
    getLogs: (id) => read((c) => c.getLogs(id)),
    cancelExecution: (id) => write((c) => c.cancelExecution(id)),
    retryExecution: (id) => write((c) => c.retryExecution(id)),
    publish: (args) => write((c) => c.publish(args)),
    listDeliveries: (id) => read((c) => c.listDeliveries(id)),
    listWorkers: () => read((c) => c.listWorkers()),
    stats: () => read((c) => c.stats()),
    authenticate: (key) => read((c) => c.authenticate(key)),
    verifySignature: (args) => read((c) => c.verifySignature(args)),
    createKey: (args) => write((c) => c.createKey(args)),
    listKeys: () => read((c) => c.listKeys()),
    putWorkflow: (name, spec) => write((c) => c.putWorkflow(name, spec)),
    getWorkflow: (name) => read((c) => c.getWorkflow(name)),
    listWorkflows: () => read((c) => c.listWorkflows()),
    deleteWorkflow: (name) => write((c) => c.deleteWorkflow(name)),
    startWorkflowRun: (name, inputJson, key) => keyed(key, (c) => c.startWorkflowRun(name, inputJson, key)),
    getWorkflowRun: (id) => read((c) => c.getWorkflowRun(id)),
    listWorkflowRuns: (args) => read((c) => c.listWorkflowRuns(args)),
    cancelWorkflowRun: (id) => write((c) => c.cancelWorkflowRun(id)),
    deleteKey: (id) => write((c) => c.deleteKey(id)),
    watchEvents(args, on: WatchHandlers) {
      const i = active;
      return clients[i]!.watchEvents(args, {
        change: (c) => on.change(c),
        reset: () => on.reset(),
        end: (err) => {
          // The client reconnects; its next stream goes to the next scheduler.
          if (isSchedulerGone(err)) moveOn(i, 'stream lost');
          on.end(err);
        },
      });
    },
    followLogs(id, on: FollowHandlers) {
      const i = active;
      return clients[i]!.followLogs(id, {
        line: (l) => on.line(l),
        end: (json) => on.end(json),
        error: (err) => {
          if (isSchedulerGone(err)) moveOn(i, 'stream lost');
          on.error(err);
        },
      });
    },
    ping: (timeoutMs) => read((c) => c.ping(timeoutMs)),
    connect: async (timeoutMs) => (await clients[await pick()]!.connect?.(timeoutMs)) ?? 'ready',
    metrics: (timeoutMs) => read((c) => c.metrics(timeoutMs)),
    close() {
      closed = true;
      for (const c of clients) c.close();
    },
  };
}
