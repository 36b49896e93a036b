/**
 * ControlService: the gateway's gRPC view of the scheduler. Thin: each call validates names,
 * asks the function registry or execution manager, and answers JSON text in the API's shape.
 * Every thrown TaskForgeError travels to the gateway intact (common/grpc-errors.ts).
 */
import type { sendUnaryData, ServerDuplexStream, ServerUnaryCall, ServerWritableStream } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type {
  ControlServiceServer,
  ExecutionEvent,
  GetExecutionRequest,
  IdRequest,
  LogEvent,
  InvokeRequest,
  InvokeResponse,
  ExecutionReply,
  SessionRequest,
  SessionResponse,
  WatchRequest,
} from '../proto/gen/taskforge/v1/control.js';
import { toGrpcError } from '../common/grpc-errors.js';
import { TaskForgeError } from '../common/errors.js';
import { markHop } from '../common/diagnostics.js';
import { assertFunctionName } from '../common/names.js';
import { EXECUTION_STATUSES, isTerminal, type CircuitInfo, type Execution, type FunctionInfo, type Stats, type WorkerStatus } from '../common/records.js';
import type { DeliveryManager } from './delivery/manager.js';
import type { ExecutionChange } from './execution/event-log.js';
import type { ExecutionState } from './execution/state.js';
import type { ExecutionManager } from './execution/manager.js';
import { toInfo, type FunctionRegistry } from './function-registry.js';
import type { KeyRegistry } from './key-registry.js';
import type { WorkerRegistry } from './worker-registry.js';
import type { PoolRegistry } from './pools/pool-registry.js';
import type { CronScheduler } from './triggers/cron.js';
import type { TopicPublisher } from './triggers/topics.js';
import type { WorkflowEngine } from './workflows/engine.js';
import { workflowCalls } from './workflows/control.js';

export interface ControlServiceDeps {
  functions: FunctionRegistry;
  executions: ExecutionManager;
  state: ExecutionState;
  registry: WorkerRegistry;
  keys: KeyRegistry;
  /** Absent in harnesses without destinations: every execution has none. */
  deliveries?: DeliveryManager;
  log: Logger;
  workflows: WorkflowEngine;
  /** The scheduler's metrics in Prometheus text format. */
  metrics?: () => Promise<string> | string;
  /** A function's circuit breaker now (FunctionInfo `circuit`), null without one. */
  circuits?: (fn: string) => CircuitInfo | null;
  topics?: TopicPublisher;
  /** Says when each cron trigger fires next (FunctionInfo `triggers[i].nextAt`). */
  cron?: CronScheduler;
  /** Connected pool supervisors; absent in harnesses without them: none is ever connected. */
  pools?: PoolRegistry;
}

/** The API view of a record: internal bookkeeping stripped. */
export function apiExecution(e: Execution, withPayload = true): Record<string, unknown> {
  const { lease: _lease, retryAt: _retryAt, input, output, ...rest } = e;
  // Records stored before triggers existed say nothing: they were invokes.
  const trigger = rest.trigger ?? null;
  return withPayload ? { ...rest, trigger, input, output } : { ...rest, trigger };
}

function unary<Req, Res>(log: Logger, fn: (req: Req) => Res | Promise<Res>) {
  return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>): void => {
    Promise.resolve()
      .then(() => fn(call.request))
      .then(
        (res) => callback(null, res),
        (err: unknown) => {
          if (!(err instanceof TaskForgeError)) log.error({ err }, 'control call failed');
          callback(toGrpcError(err), null);
        },
      );
  };
}

const json = (value: unknown): { json: string } => ({ json: JSON.stringify(value) });

export interface ControlServiceHandle {
  service: ControlServiceServer;
  /** Ends every open Session and WatchEvents stream (shutdown). */
  endStreams(): void;
}

export function createControlService(deps: ControlServiceDeps): ControlServiceHandle {
  const { functions, executions, registry, log } = deps;
  const streams = new Set<{ end(): void }>();
  /**
   * A latest version as the API shows it: its cron triggers say when they fire next, and its
   * circuit breaker (if it has one) its state now.
   */
  const latestInfo = (raw: FunctionInfo): FunctionInfo => {
    const info = raw.circuitBreaker && deps.circuits ? { ...raw, circuit: deps.circuits(raw.name) } : raw;
    if (!info.triggers?.some((t) => t.type === 'cron')) return info;
    const cron = deps.cron;
    return { ...info, triggers: info.triggers.map((t) => (t.type === 'cron' ? { ...t, nextAt: cron?.nextAt(info.name, t) ?? null } : t)) };
  };

  const invoke = async (req: InvokeRequest): Promise<InvokeResponse> => {
    const r = await executions.invoke({
      function: req.function,
      version: req.version,
      inputJson: req.inputJson,
      mode: req.mode === 'sync' ? 'sync' : 'async',
      idempotencyKey: req.idempotencyKey || null,
      waitMs: req.waitMs,
      delayMs: req.delayMs,
      at: req.at,
      priority: req.priority,
    });
    const e = r.execution;
    return { executionJson: JSON.stringify(apiExecution(e)), terminal: r.terminal, created: r.created, executionId: e.id, status: e.status };
  };
  const getExecution = async (req: GetExecutionRequest): Promise<ExecutionReply> => {
    const e = await executions.getWait(req.id, req.waitMs);
    return { executionId: e.id, status: e.status, executionJson: JSON.stringify(apiExecution(e)), function: e.function };
  };

  const service: ControlServiceServer = {
    session(call: ServerDuplexStream<SessionRequest, SessionResponse>): void {
      let open = true;
      const reply = (res: SessionResponse): void => {
        markHop('S4 scheduler session reply');
        if (open) call.write(res);
      };
      call.on('data', (req: SessionRequest) => {
        const requestId = req.requestId;
        markHop('S1 scheduler session read');
        const c = req.call;
        const work: Promise<SessionResponse['result']> =
          c?.$case === 'invoke'
            ? invoke(c.value).then((value) => ({ $case: 'invoke', value }))
            : c?.$case === 'getExecution'
              ? getExecution(c.value).then((value) => ({ $case: 'execution', value }))
              : Promise.reject(new TaskForgeError('VALIDATION_ERROR', 'empty session request', { reason: 'empty_request' }));
        work.then(
          (result) => reply({ requestId, result }),
          (err: unknown) => {
            if (!(err instanceof TaskForgeError)) log.error({ err }, 'session call failed');
            const tf = err instanceof TaskForgeError ? err : new TaskForgeError('INTERNAL', 'internal error');
            reply({ requestId, result: { $case: 'error', value: { code: tf.code, message: tf.message, detailsJson: JSON.stringify(tf.details) } } });
          },
        );
      });
      const stop = (): void => {
        if (!open) return;
        open = false;
        streams.delete(handle);
        try {
          call.end();
        } catch {
          // already ended
        }
      };
      const handle = { end: stop };
      streams.add(handle);
      call.on('end', stop);
      call.on('error', stop);
      call.on('cancelled', stop);
    },
    putFunction: unary(log, async (req) => {
      let spec: unknown;
      try {
        spec = JSON.parse(req.specJson);
      } catch {
        throw new TaskForgeError('VALIDATION_ERROR', 'body: not valid JSON', { field: 'body', reason: 'invalid_json' });
      }
      if (spec && typeof spec === 'object') delete (spec as Record<string, unknown>).name;
      const { version, created } = await functions.put(req.name, spec, req.createOnly);
      return { functionJson: JSON.stringify(latestInfo(toInfo(version))), created };
    }),
    getFunction: unary(log, (req) => {
      assertFunctionName(req.name);
      // An older version is shown as stored: its triggers and breaker are not the live ones.
      if (req.version > 0) return json(toInfo(functions.resolve(req.name, req.version), req.includeCode));
      return json(latestInfo(toInfo(functions.latest(req.name), req.includeCode)));
    }),
    listFunctions: unary(log, () => json({ functions: functions.list().map(latestInfo) })),
    listVersions: unary(log, (req) => {
      assertFunctionName(req.name);
      return json({ versions: functions.versions(req.name) });
    }),
    deleteFunction: unary(log, async (req) => {
      await functions.delete(req.name);
      return {};
    }),
    invoke: unary(log, invoke),
    invokeBatch: unary(log, async (req) => {
      const r = await executions.invokeBatch({
        function: req.function,
        version: req.version,
        inputJsons: req.inputJson,
        idempotencyKey: req.idempotencyKey || null,
        delayMs: req.delayMs,
        at: req.at,
        priority: req.priority,
      });
      return { executionIds: r.executions.map((e) => e.id), created: r.created };
    }),
    getExecution: unary(log, getExecution),
    listExecutions: unary(log, (req) => {
      if (req.function) assertFunctionName(req.function);
      for (const f of req.functions) assertFunctionName(f);
      if (req.status && !(EXECUTION_STATUSES as readonly string[]).includes(req.status)) {
        throw new TaskForgeError('VALIDATION_ERROR', `status: must be one of ${EXECUTION_STATUSES.join(', ')}`, { field: 'status', reason: 'enum' });
      }
      const page = executions.list({
        function: req.function || undefined,
        status: req.status || undefined,
        limit: req.limit,
        cursor: req.cursor || undefined,
        functions: req.functions.length > 0 ? new Set(req.functions) : undefined,
        deadLetters: req.deadLetters,
      });
      return json({ executions: page.executions.map((e) => apiExecution(e, false)), nextCursor: page.nextCursor });
    }),
    getLogs: unary(log, async (req) => json(await executions.logs(req.id))),
    cancelExecution: unary(log, (req) => json(apiExecution(executions.cancel(req.id)))),
    retryExecution: unary(log, async (req) => json(apiExecution(await executions.retry(req.id)))),
    publish: unary(log, async (req) => {
      if (!deps.topics) throw new TaskForgeError('INTERNAL', 'topics are not enabled on this scheduler');
      return json(await deps.topics.publish({ topic: req.topic, bodyJson: req.bodyJson, cloudEvent: req.cloudEvent }));
    }),
    listDeliveries: unary(log, (req) => {
      executions.get(req.id);
      return json({ deliveries: deps.deliveries?.list(req.id) ?? [] });
    }),
    listWorkers: unary(log, () => json({ workers: registry.all().map((w) => w.info()) })),
    listPools: unary(log, () => json({ pools: deps.pools?.list() ?? [] })),
    scaleWorkers: unary(log, async (req) => {
      if (!deps.pools) throw new TaskForgeError('POOL_NOT_CONNECTED', 'this scheduler takes no worker pools', { reason: 'no_pool' });
      return json(await deps.pools.scale(req.pool, req.workers));
    }),
    stats: unary(log, () => {
      const workers: Record<WorkerStatus, number> = { ready: 0, draining: 0, lost: 0 };
      for (const w of registry.all()) workers[w.status] += 1;
      const stats: Stats = { executions: deps.state.index.statusCounts(), queueDepth: deps.state.pending.size, workers };
      return json(stats);
    }),
    ping: unary(log, () => ({})),
    createKey: unary(log, async (req) =>
      json(await deps.keys.create({ name: req.name, scopes: req.scopes, functions: req.restrictFunctions ? req.functions : null })),
    ),
    listKeys: unary(log, () => json({ keys: deps.keys.list() })),
    deleteKey: unary(log, async (req) => {
      await deps.keys.delete(req.id);
      return {};
    }),
    // An unknown key is an answer (ok: false), not an error: the gateway caches it like any other.
    authenticate: unary(log, (req) => {
      const p = deps.keys.authenticate(req.key);
      if (!p) return { ok: false, keyId: '', name: '', scopes: [], restrictFunctions: false, functions: [] };
      return {
        ok: true,
        keyId: p.id,
        name: p.name,
        scopes: [...p.scopes],
        restrictFunctions: p.functions !== null,
        functions: p.functions ? [...p.functions] : [],
      };
    }),
    // A refused signature is an answer too, with why (docs/SECURITY-KEYS.md, "SigV4"); the gateway never caches it.
    verifySignature: unary(log, async (req) => {
      const headers: Record<string, string> = {};
      for (const h of req.headers) headers[h.name] = h.value;
      const v = await deps.keys.verifySignature({
        accessKeyId: req.accessKeyId,
        method: req.method,
        path: req.path,
        query: req.query,
        headers,
        signedHeaders: req.signedHeaders,
        credentialScope: req.credentialScope,
        amzDate: req.amzDate,
        payloadHash: req.payloadHash,
        signature: req.signature,
      });
      if ('refused' in v) return { key: undefined, refusal: v.refused };
      const p = v.principal;
      return {
        key: {
          ok: true,
          keyId: p.id,
          name: p.name,
          scopes: [...p.scopes],
          restrictFunctions: p.functions !== null,
          functions: p.functions ? [...p.functions] : [],
        },
        refusal: '',
      };
    }),
    watchEvents(call: ServerWritableStream<WatchRequest, ExecutionEvent>): void {
      const r = call.request;
      const filter = {
        ...(r.function ? { function: r.function } : {}),
        ...(r.executionId ? { executionId: r.executionId } : {}),
        ...(r.functions.length > 0 ? { functions: new Set(r.functions) } : {}),
      };
      const write = (c: ExecutionChange): void => {
        call.write({
          executionId: c.executionId,
          function: c.function,
          status: c.status,
          attempt: c.attempt,
          tsMs: c.tsMs,
          seq: c.seq,
          executionJson: c.json(),
          reset: false,
        });
      };
      const watch = deps.state.eventLog.watch(filter, write, r.afterSeq);
      if (watch.replay === null)
        call.write({ executionId: '', function: '', status: '', attempt: 0, tsMs: Date.now(), seq: 0, executionJson: '', reset: true });
      else for (const c of watch.replay) write(c);
      holdStream(call, () => watch.close());
    },
    followLogs(call: ServerWritableStream<IdRequest, LogEvent>): void {
      let rec: Execution;
      try {
        rec = executions.get(call.request.id);
      } catch (err) {
        call.emit('error', toGrpcError(err));
        return;
      }
      const line = (l: object): void => void call.write({ event: { $case: 'lineJson', value: JSON.stringify(l) } });
      const end = (): void => {
        call.write({ event: { $case: 'endJson', value: JSON.stringify(apiExecution(rec)) } });
        call.end();
      };
      if (isTerminal(rec.status)) {
        executions.logs(rec.id).then(
          (logs) => {
            for (const l of logs.lines) line(l);
            end();
          },
          (err: unknown) => call.emit('error', toGrpcError(err)),
        );
        return;
      }
      // Synchronously: what is buffered, then every later line, then the end. Nothing in between.
      const stopLines = deps.state.logs.follow(rec.id, line);
      for (const l of deps.state.logs.get(rec.id)?.lines ?? []) line(l);
      const watch = deps.state.eventLog.watch({ executionId: rec.id }, (c) => {
        if (!isTerminal(c.status)) return;
        stop();
        end();
      });
      const stop = holdStream(call, () => {
        stopLines();
        watch.close();
      });
    },
    // The metrics registry is fed by the scheduler's own components (metrics.ts).
    metrics: unary(log, async () => ({ text: (await deps.metrics?.()) ?? '' })),
    ...workflowCalls(deps.workflows, deps.state, log),
  };

  /** Keeps a server stream open until the client goes or the scheduler closes; `release` runs once. */
  function holdStream(call: ServerWritableStream<unknown, unknown>, release: () => void): () => void {
    let done = false;
    const stop = (): void => {
      if (done) return;
      done = true;
      release();
      streams.delete(handle);
    };
    const handle = {
      end: (): void => {
        stop();
        call.end();
      },
    };
    streams.add(handle);
    call.on('cancelled', stop);
    call.on('close', stop);
    call.on('error', stop);
    return stop;
  }
  return {
    service,
    endStreams(): void {
      for (const s of [...streams]) s.end();
    },
  };
}
