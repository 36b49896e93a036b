/**
 * The worker agent: keeps one stream to the scheduler (reconnecting with backoff), heartbeats,
 * runs dispatched executions on the sandbox pool, and drains on close() or Drain.
 *
 * Delivery: Started, LogChunk and Result go out only on a welcomed stream. While there is none they
 * wait in the run's outbox; a run that ends while disconnected moves its outbox to `pending`
 * (bounded) and is re-announced in the next Hello's `held`, so the scheduler can list it in
 * Welcome.kill (dropped) or receive it right after the Welcome.
 *
 * It must never: run more than `capacity` executions, hold two streams at once, send anything for an
 * execution the scheduler killed, or send a Result for a run aborted by shutdown as anything other
 * than WORKER_LOST (the scheduler must re-queue it, not record a user cancel).
 */
import { status as GrpcStatus } from '@grpc/grpc-js';
import { authMetadata } from '../common/grpc-auth.js';
import { markHop } from '../common/diagnostics.js';
import type { Cancel, Execute, SchedulerMessage, Welcome, WorkerMessage } from '../proto/gen/taskforge/v1/worker.js';
import { REASON } from '../common/logger.js';
import { assertTransition, isDraining, type AgentState } from './agent-state.js';
import { Backoff } from './backoff.js';
import { Heartbeat } from './heartbeat.js';
import { AGENT_ERROR, describeExecute, failureResult, heartbeatMessage, helloMessage, versionKey } from './messages.js';
import { ExecutionRun } from './execution-run.js';
import { PendingResults } from './pending-results.js';
import { SchedulerRotation } from './scheduler-rotation.js';
import { StreamSession, type SessionEnd } from './stream-session.js';
import { AGENT_VERSION, resolveWorkerOptions, type ResolvedWorkerOptions, type WorkerOptions } from './worker-options.js';
import type { SandboxPool } from './sandbox/types.js';

/** ms close() waits for the scheduler to finish the stream after our half-close. */
const STREAM_END_WAIT_MS = 2000;

export interface WorkerAgent {
  readonly id: string;
  readonly options: ResolvedWorkerOptions;
  readonly state: AgentState;
  /** True while a welcomed stream is open. */
  readonly connected: boolean;
  readonly inFlight: number;
  /**
   * Connects and resolves once the first attempt is over — Welcome received, or the attempt failed
   * (the agent then keeps reconnecting in the background). Never waits for the scheduler to come up.
   */
  start(): Promise<void>;
  /** Drains (stop taking work, wait up to graceMs for in-flight, abort the rest), then closes. Memoised. */
  close(graceMs?: number): Promise<void>;
  /** Resolves when the agent has closed, whether through close() or a Drain from the scheduler. */
  readonly closed: Promise<void>;
}

export type { AgentState };

export function createWorkerAgent(opts: WorkerOptions = {}): WorkerAgent {
  return new Agent(resolveWorkerOptions(opts));
}

class Agent implements WorkerAgent {
  readonly options: ResolvedWorkerOptions;
  readonly closed: Promise<void>;
  readonly #log;
  readonly #backoff: Backoff;
  readonly #heartbeat: Heartbeat;
  readonly #runs = new Map<string, ExecutionRun>();
  readonly #pending: PendingResults;
  #state: AgentState = 'idle';
  #pool: SandboxPool | null;
  #schedulers: SchedulerRotation | null = null;
  /** gRPC status of the refusal last logged as an error, so a streak of refusals logs once. */
  #refusal: GrpcStatus | null = null;
  #session: StreamSession | null = null;
  #loop: Promise<void> | null = null;
  #stopping = false;
  #wakeSleeper: (() => void) | null = null;
  #idleWaiters: Array<() => void> = [];
  #closing: Promise<void> | null = null;
  #resolveClosed!: () => void;

  constructor(options: ResolvedWorkerOptions) {
    this.options = options;
    this.#log = options.logger.child({ workerId: options.workerId });
    this.#pool = options.pool;
    this.#pending = new PendingResults(options.maxPendingResults, this.#log);
    this.#backoff = new Backoff({ baseMs: options.reconnectBaseMs, capMs: options.reconnectCapMs, random: options.random });
    this.#heartbeat = new Heartbeat({
      intervalMs: options.heartbeatIntervalMs,
      send: (seq) => this.#sendHeartbeat(seq),
      onError: (err) => this.#log.warn({ err }, 'heartbeat failed'),
    });
    this.closed = new Promise((resolve) => (this.#resolveClosed = resolve));
  }

  get id(): string {
    return this.options.workerId;
  }
  get state(): AgentState {
    return this.#state;
  }
  get connected(): boolean {
    return this.#session?.ready ?? false;
  }
  get inFlight(): number {
    return this.#runs.size;
  }

  async start(): Promise<void> {
    this.#transition('starting');
    if (!this.#pool) {
      const pool = await this.options.poolFactory({ logger: this.#log });
      await pool.start();
      if (this.#closing) {
        // close() ran while the pool was being created and found nothing to close.
        await pool.close();
        return;
      }
      this.#pool = pool;
    }
    this.#schedulers = new SchedulerRotation(
      this.options.schedulerAddresses,
      { baseMs: this.options.reconnectBaseMs, capMs: this.options.reconnectCapMs },
      this.options.tls,
    );
    let firstAttemptOver!: () => void;
    const firstAttempt = new Promise<void>((resolve) => (firstAttemptOver = resolve));
    this.#loop = this.#connectLoop(firstAttemptOver);
    await firstAttempt;
    // close() may have run while we waited; then the state has already moved on.
    if (this.#state === 'starting') this.#transition('running');
    this.#log.info({ scheduler: this.options.schedulerAddress, connected: this.connected }, 'worker agent started');
  }

  close(graceMs: number = this.options.drainGraceMs): Promise<void> {
    this.#closing ??= this.#drainAndClose(graceMs);
    return this.#closing;
  }

  // ---------- connection ----------

  async #connectLoop(firstAttemptOver: () => void): Promise<void> {
    while (!this.#stopping) {
      let session: StreamSession;
      try {
        session = this.#openSession(firstAttemptOver);
      } catch (err) {
        // Only a broken client gets here (e.g. a bad address); retrying with backoff is still right.
        this.#log.error({ err, scheduler: this.#schedulers!.address }, 'could not open scheduler stream');
        if (this.#schedulers!.ended()) {
          firstAttemptOver();
          await this.#sleep(this.#backoff.next());
        }
        continue;
      }
      const end = await session.done;
      this.#heartbeat.stop();
      if (this.#session === session) this.#session = null;
      if (this.#stopping) {
        firstAttemptOver();
        break;
      }
      const lost = this.#schedulers!.address;
      // Every address tried in a row without a Welcome: wait before the next round. Until then
      // the next address is tried at once (a standby refuses the connection straight away).
      const roundOver = this.#schedulers!.ended();
      if (roundOver) firstAttemptOver();
      const attempt = this.#backoff.attempt;
      const delayMs = roundOver ? this.#backoff.next() : 0;
      this.#reportRefusal(end, delayMs);
      this.#log.warn(
        { reason: REASON.streamClosed, attempt, delayMs, code: end.code, scheduler: lost, next: this.#schedulers!.address },
        'scheduler stream lost; reconnecting',
      );
      if (delayMs > 0) await this.#sleep(delayMs);
    }
  }

  /**
   * A scheduler that refuses this worker (wrong or missing join token, an id still connected on
   * another stream, a claim it does not accept) gets one clear error line per streak, without a
   * stack; the agent keeps retrying with its backoff, so fixing the scheduler side (or waiting for
   * the old stream to lapse) needs no restart here.
   */
  #reportRefusal(end: SessionEnd, delayMs: number): void {
    const code = end.code;
    const why =
      code === GrpcStatus.UNAUTHENTICATED || code === GrpcStatus.PERMISSION_DENIED
        ? "the scheduler refused the join token (check --join-token-file / TASKFORGE_JOIN_TOKEN against the scheduler's <data-dir>/join.token)"
        : code === GrpcStatus.ALREADY_EXISTS
          ? 'the scheduler still has a live stream for this worker id; retrying until it lapses'
          : code === GrpcStatus.INVALID_ARGUMENT
            ? `the scheduler refused this worker's Hello: ${end.detail ?? ''}`
            : null;
    if (why === null || code === undefined || this.#refusal === code) return;
    this.#refusal = code;
    const fields = {
      reason: code === GrpcStatus.ALREADY_EXISTS ? REASON.duplicateWorker : code === GrpcStatus.INVALID_ARGUMENT ? REASON.badClaim : REASON.unauthenticated,
      code,
      retryInMs: delayMs,
    };
    if (code === GrpcStatus.ALREADY_EXISTS) this.#log.warn(fields, why);
    else this.#log.error(fields, why);
  }

  #openSession(firstAttemptOver: () => void): StreamSession {
    const session = new StreamSession({
      client: this.#schedulers!.client(),
      metadata: authMetadata(this.options.joinToken),
      hello: this.#hello(),
      welcomeTimeoutMs: this.options.welcomeTimeoutMs,
      logger: this.#log,
      onWelcome: (welcome, s) => {
        this.#onWelcome(welcome, s);
        firstAttemptOver();
      },
      onMessage: (msg, s) => this.#onMessage(msg, s),
    });
    this.#session = session;
    this.#log.debug({ session: session.id, scheduler: this.#schedulers!.address, held: this.#runs.size + this.#pending.size }, 'stream opened; Hello sent');
    return session;
  }

  #hello(): WorkerMessage {
    // Finished-but-undelivered runs are held too: the scheduler may still kill them in its Welcome.
    const held = [...[...this.#runs.values()].filter((r) => !r.killed).map((r) => ({ executionId: r.executionId, lease: r.lease })), ...this.#pending.held()];
    return helloMessage({
      workerId: this.options.workerId,
      name: this.options.name,
      capacity: this.options.capacity,
      held,
      agentVersion: AGENT_VERSION,
      sandboxLevel: this.#pool?.level ?? 'insecure',
    });
  }

  #onWelcome(welcome: Welcome, session: StreamSession): void {
    this.#backoff.reset();
    this.#schedulers?.welcomed();
    this.#refusal = null;
    if (welcome.workerId && welcome.workerId !== this.options.workerId) {
      this.#log.warn({ assigned: welcome.workerId }, 'scheduler welcomed a different worker id; keeping ours');
    }
    for (const executionId of welcome.kill) this.#kill(executionId);

    // Everything that waited for a stream goes out now, in order, before new traffic.
    const delivered = this.#pending.flush((msg) => session.write(msg));
    for (const run of this.#runs.values()) run.flushOutbox((msg) => session.write(msg));

    this.#heartbeat.setIntervalMs(welcome.heartbeatIntervalMs > 0 ? welcome.heartbeatIntervalMs : this.options.heartbeatIntervalMs);
    this.#heartbeat.start();
    // A draining worker says so at once, or the scheduler would keep dispatching to it.
    if (this.#state === 'draining') this.#heartbeat.beat();
    this.#log.info({ session: session.id, heartbeatIntervalMs: this.#heartbeat.intervalMs, killed: welcome.kill.length, delivered }, 'welcomed');
  }

  #kill(executionId: string): void {
    const run = this.#runs.get(executionId);
    if (run) {
      this.#log.info({ executionId, lease: run.lease, reason: REASON.staleLease }, 'killed by scheduler');
      run.kill();
      return;
    }
    if (this.#pending.delete(executionId)) {
      this.#log.info({ executionId, reason: REASON.staleLease }, 'undelivered result dropped: killed by scheduler');
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.#wakeSleeper = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      timer.unref();
      this.#wakeSleeper = done;
    });
  }

  #sendHeartbeat(seq: number): void {
    const session = this.#session;
    if (!session?.ready || !this.#pool) return;
    let warm: string[] = [];
    let poolRss = 0;
    let sandboxes = { busy: 0, idle: 0, prewarmed: 0 };
    try {
      const stats = this.#pool.stats();
      warm = stats.warm;
      poolRss = stats.rssBytes;
      sandboxes = { busy: stats.busy, idle: stats.idle, prewarmed: stats.prewarmed };
    } catch (err) {
      this.#log.warn({ err }, 'pool stats unavailable');
    }
    session.write(
      heartbeatMessage({
        inFlight: this.#runs.size,
        capacity: this.options.capacity,
        warm,
        rssBytes: process.memoryUsage.rss() + poolRss,
        seq,
        draining: isDraining(this.#state),
        sandboxesBusy: sandboxes.busy,
        sandboxesIdle: sandboxes.idle,
        sandboxesPrewarmed: sandboxes.prewarmed,
      }),
    );
  }

  // ---------- dispatch ----------

  #onMessage(msg: SchedulerMessage, session: StreamSession): void {
    switch (msg.msg?.$case) {
      case 'execute':
        markHop('W1 worker execute read');
        return this.#onExecute(msg.msg.value, session);
      case 'cancel':
        return this.#onCancel(msg.msg.value);
      case 'drain': {
        const graceMs = msg.msg.value.graceMs > 0 ? msg.msg.value.graceMs : this.options.drainGraceMs;
        this.#log.info({ graceMs, reason: REASON.drain }, 'drain requested by scheduler');
        void this.close(graceMs);
        return;
      }
      default:
        this.#log.warn({ session: session.id, kind: msg.msg?.$case ?? 'empty' }, 'unexpected scheduler message ignored');
    }
  }

  #onExecute(ex: Execute, session: StreamSession): void {
    const fn = ex.function;
    const meta = describeExecute(ex);
    if (!fn) {
      this.#reject(ex, session, AGENT_ERROR.sandboxCrash, 'execute without a function');
      return;
    }
    const key = versionKey(fn.name, fn.version);
    // Cache before any refusal: the scheduler counts the code as carried once it sent it.
    if (fn.code) session.codeCache.set(key, fn.code);

    if (isDraining(this.#state)) {
      this.#reject(ex, session, AGENT_ERROR.workerLost, 'worker draining');
      return;
    }
    const existing = this.#runs.get(ex.executionId);
    if (existing && existing.lease === ex.lease) {
      this.#log.debug(meta, 'duplicate Execute ignored');
      return;
    }
    if (existing) {
      // A newer lease supersedes the run we hold; the old one's result would be stale anyway.
      this.#log.info({ ...meta, oldLease: existing.lease, reason: REASON.staleLease }, 'superseded by a new lease');
      existing.kill();
      this.#runs.delete(ex.executionId);
    }
    if (this.#runs.size >= this.options.capacity) {
      this.#reject(ex, session, AGENT_ERROR.workerLost, 'worker at capacity');
      return;
    }
    const code = fn.code || session.codeCache.get(key);
    if (!code) {
      this.#reject(ex, session, AGENT_ERROR.sandboxCrash, `code for ${key} not available`);
      return;
    }

    const run = new ExecutionRun({
      execute: ex,
      code,
      pool: this.#pool!,
      logFlushMs: this.options.logFlushMs,
      startedReportDelayMs: this.options.startedReportDelayMs,
      logger: this.#log,
      send: (msg) => this.#session?.ready === true && this.#session.write(msg),
      onFinished: (r) => this.#onRunFinished(r),
    });
    this.#runs.set(ex.executionId, run);
    this.#log.debug(meta, 'dispatched');
    run.start();
  }

  #reject(ex: Execute, session: StreamSession, code: 'WORKER_LOST' | 'SANDBOX_CRASH', message: string): void {
    this.#log.info({ ...describeExecute(ex), code }, 'execute refused');
    session.write(failureResult(ex.executionId, ex.lease, { code, message }));
  }

  #onCancel(c: Cancel): void {
    const run = this.#runs.get(c.executionId);
    if (!run || (c.lease && run.lease !== c.lease)) {
      this.#log.debug({ executionId: c.executionId, lease: c.lease }, 'cancel for unknown execution or lease ignored');
      return;
    }
    this.#log.info({ executionId: c.executionId, lease: c.lease, reason: REASON.cancelled }, 'cancel requested');
    run.abort('cancel');
  }

  #onRunFinished(run: ExecutionRun): void {
    if (this.#runs.get(run.executionId) === run) this.#runs.delete(run.executionId);
    const undelivered = run.takeOutbox();
    if (!run.killed) this.#pending.add(run.executionId, run.lease, undelivered);
    if (this.#runs.size === 0) for (const wake of this.#idleWaiters.splice(0)) wake();
  }

  // ---------- drain / close ----------

  async #drainAndClose(graceMs: number): Promise<void> {
    const wasStarted = this.#state !== 'idle';
    this.#transition(wasStarted ? 'draining' : 'closed');
    if (wasStarted) {
      this.#log.info({ inFlight: this.#runs.size, graceMs, reason: REASON.drain }, 'draining');
      this.#heartbeat.beat();
      await this.#step('wait for in-flight', () => this.#waitForIdle(graceMs));
      await this.#step('abort remaining runs', () => this.#abortRemaining());
      this.#stopping = true;
      this.#wakeSleeper?.();
      this.#heartbeat.stop();
      await this.#step('end stream', async () => {
        const session = this.#session;
        if (session) await session.end(STREAM_END_WAIT_MS);
      });
      await this.#step('stop connect loop', async () => void (await this.#loop));
      if (this.#pending.size > 0) this.#log.warn({ undelivered: this.#pending.size }, 'closing with undelivered results');
      await this.#step('close channel', async () => this.#schedulers?.close());
    }
    await this.#step('close pool', async () => void (await this.#pool?.close()));
    if (this.#state !== 'closed') this.#transition('closed');
    this.#log.info({}, 'worker agent closed');
    this.#resolveClosed();
  }

  #waitForIdle(graceMs: number): Promise<void> {
    if (this.#runs.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, graceMs);
      timer.unref();
      this.#idleWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  async #abortRemaining(): Promise<void> {
    const left = [...this.#runs.values()];
    if (left.length === 0) return;
    this.#log.warn({ executionIds: left.map((r) => r.executionId), reason: REASON.shutdown }, 'grace period over; aborting runs');
    for (const run of left) run.abort('shutdown');
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled(left.map((r) => r.done)),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, this.options.abortSettleMs);
        timer.unref();
      }),
    ]);
    clearTimeout(timer);
  }

  /** Cleanup steps run one after another; one failing does not skip the rest. */
  async #step(name: string, fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (err) {
      this.#log.warn({ err, step: name }, 'close step failed');
    }
  }

  #transition(to: AgentState): void {
    assertTransition(this.#state, to);
    this.#state = to;
  }
}
