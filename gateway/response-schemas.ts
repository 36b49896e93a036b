/**
 * TypeBox schemas of what the API answers (docs/API.md), for /openapi.json only: routes list them
 * under `schema.response`, and app.ts serialises every answer with JSON.stringify whatever they
 * say, so a schema here can never strip or reshape a field of a record. They are kept honest by
 * a test that checks the sample records against them (openapi.test.ts).
 *
 * Records are open (`additionalProperties` allowed): the scheduler may add a field before this
 * file learns of it, and a client must ignore fields it does not know.
 */
import { Type, type TSchema, type TUnsafe } from '@sinclair/typebox';
import { KEY_SCOPES } from '../common/api-keys.js';
import { ERROR_STATUS } from '../common/errors.js';
import { EXECUTION_STATUSES, PRIORITIES, SANDBOX_LEVELS } from '../common/records.js';
import { STEP_STATUSES, WORKFLOW_RUN_STATUSES } from '../common/workflows.js';
import { DEFAULT_REASON, type ApiErrorCode } from './errors.js';

/** One of `values` (anyOf of consts); typed as the union of the values. */
const Literals = <T extends string>(values: readonly T[], description?: string): TUnsafe<T> =>
  Type.Union(
    values.map((v) => Type.Literal(v)),
    description === undefined ? {} : { description },
  );
const Time = (description?: string) => Type.String({ format: 'date-time', ...(description !== undefined && { description }) });
const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
const Open = { additionalProperties: true } as const;

// ---------- errors ----------

const STATUS_OF: Readonly<Record<ApiErrorCode, number>> = { ...ERROR_STATUS, METHOD_NOT_ALLOWED: 405 };

/** `{ error: { code, message, details } }` with `code` one of `codes`. */
export const errorBody = (codes: readonly ApiErrorCode[]) =>
  Type.Object(
    {
      error: Type.Object({
        code: Literals(codes),
        message: Type.String({ description: 'for people; may change' }),
        details: Type.Object(
          {
            reason: Type.String({ pattern: '^[a-z][a-z_]*$', description: 'a machine-readable word (docs/API.md, Errors)' }),
            field: Type.Optional(Type.String({ description: 'the request field at fault: body.…, query.…, params.…, headers.…' })),
          },
          Open,
        ),
      }),
    },
    { description: codes.map((c) => `${c} (reason: ${DEFAULT_REASON[c]}, …)`).join(' · ') },
  );

/**
 * Error responses for `codes`, grouped by HTTP status, to spread into a route's `response`:
 * `response: { 200: FunctionInfo, ...errorResponses('FUNCTION_NOT_FOUND') }`.
 */
export function errorResponses(...codes: ApiErrorCode[]): Record<number, TSchema> {
  const byStatus = new Map<number, ApiErrorCode[]>();
  for (const code of codes) byStatus.set(STATUS_OF[code], [...(byStatus.get(STATUS_OF[code]) ?? []), code]);
  return Object.fromEntries([...byStatus].map(([status, list]) => [status, errorBody(list)]));
}

// ---------- functions ----------

const Destination = Type.Union([Type.Object({ function: Type.String() }), Type.Object({ url: Type.String() })], {
  description: 'a function run async with { execution }, or a URL POSTed { execution } with a signature (docs/DESTINATIONS.md)',
});

export const FunctionInfo = Type.Object(
  {
    name: Type.String(),
    version: Type.Integer({ minimum: 1 }),
    handler: Type.String(),
    runtime: Type.Literal('nodejs'),
    timeoutMs: Type.Integer(),
    memoryMb: Type.Integer(),
    maxRetries: Type.Integer(),
    concurrency: Type.Integer(),
    maxQueueMs: Type.Integer(),
    env: Type.Record(Type.String(), Nullable(Type.String()), { description: 'values are null for keys other than admin and deploy' }),
    description: Type.String(),
    codeSha256: Type.String(),
    codeBytes: Type.Integer(),
    createdAt: Time(),
    updatedAt: Time(),
    code: Type.Optional(Type.String({ description: 'only with ?include=code' })),
    circuitBreaker: Type.Optional(Nullable(Type.Object({ failureThreshold: Type.Integer(), windowMs: Type.Integer(), cooldownMs: Type.Integer() }, Open))),
    cacheTtlMs: Type.Optional(Type.Integer()),
    circuit: Type.Optional(
      Nullable(
        Type.Object(
          {
            state: Literals(['closed', 'open', 'half_open'] as const),
            failures: Type.Integer(),
            openedAt: Nullable(Time()),
            retryAt: Nullable(Time()),
            opens: Type.Integer(),
          },
          Open,
        ),
      ),
    ),
    triggers: Type.Optional(
      Type.Array(
        Type.Object(
          {
            type: Literals(['topic', 'cron'] as const),
            topic: Type.Optional(Type.String()),
            filter: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
            schedule: Type.Optional(Type.String()),
            timezone: Type.Optional(Type.String()),
            input: Type.Optional(Type.Unknown()),
            nextAt: Type.Optional(Nullable(Time('cron: the next tick (latest version only)'))),
          },
          Open,
        ),
      ),
    ),
    onSuccess: Type.Optional(Nullable(Destination)),
    onFailure: Type.Optional(Nullable(Destination)),
    webhookSecret: Type.Optional(
      Type.String({ description: 'signs webhook deliveries (taskforge-signature); only for admin and deploy keys, and once a url destination was set' }),
    ),
  },
  Open,
);

export const FunctionList = Type.Object({ functions: Type.Array(FunctionInfo) });
export const VersionList = Type.Object({ versions: Type.Array(FunctionInfo, { description: 'newest first' }) });

// ---------- executions ----------

const ExecutionError = Type.Object(
  {
    code: Type.String({
      description: 'FUNCTION_ERROR, TIMEOUT, OUT_OF_MEMORY, SANDBOX_CRASH, SANDBOX_PROTOCOL, WORKER_LOST, CANCELLED, EXPIRED, FUNCTION_DELETED',
    }),
    message: Type.String(),
    name: Type.Optional(Type.String()),
    stack: Type.Optional(Type.String()),
  },
  Open,
);

export const Execution = Type.Object(
  {
    id: Type.String(),
    function: Type.String(),
    version: Type.Integer(),
    status: Literals(EXECUTION_STATUSES),
    mode: Literals(['async', 'sync'] as const),
    input: Type.Optional(Type.Unknown({ description: 'absent in lists' })),
    output: Type.Optional(Type.Unknown({ description: 'absent in lists' })),
    error: Nullable(ExecutionError),
    attempt: Type.Integer(),
    maxAttempts: Type.Integer(),
    workerId: Nullable(Type.String()),
    coldStart: Nullable(Type.Boolean()),
    createdAt: Time(),
    startedAt: Nullable(Time()),
    finishedAt: Nullable(Time()),
    durationMs: Nullable(Type.Number()),
    timings: Nullable(
      Type.Object({ queuedMs: Type.Number(), initMs: Type.Number(), runMs: Type.Number(), cpuMs: Type.Optional(Nullable(Type.Number())) }, Open),
    ),
    placement: Nullable(Type.Object({ workerId: Type.String(), load: Type.Number(), warm: Type.Boolean(), candidates: Type.Integer() }, Open)),
    idempotencyKey: Nullable(Type.String()),
    attempts: Type.Optional(Type.Array(Type.Object({}, Open))),
    crashes: Type.Optional(Type.Integer()),
    scheduledFor: Type.Optional(Nullable(Time('a delayed invoke: not started before this'))),
    priority: Type.Optional(Literals(PRIORITIES)),
    cached: Type.Optional(Type.Boolean({ description: 'answered from the result cache without running' })),
    trigger: Type.Optional(
      Nullable(
        Type.Object(
          {
            type: Type.String({ description: 'topic · cron · retry · destination · workflow (more kinds may come: ignore unknown ones)' }),
            topic: Type.Optional(Type.String()),
            eventId: Type.Optional(Type.String()),
            tick: Type.Optional(Time('cron: the scheduled time it runs for')),
            of: Type.Optional(Type.String({ description: 'retry, destination: the execution it came from' })),
            runId: Type.Optional(Type.String({ description: 'workflow: the run' })),
            step: Type.Optional(Type.String({ description: 'workflow: the step' })),
          },
          Open,
        ),
      ),
    ),
  },
  Open,
);

export const PublishAccepted = Type.Object({
  eventId: Type.String(),
  executions: Type.Array(Type.Object({ function: Type.String(), executionId: Type.String() }), { description: 'one per subscribed function; empty when none' }),
});

export const InvokeAccepted = Type.Object({
  executionId: Type.String(),
  status: Literals(EXECUTION_STATUSES),
  statusUrl: Type.String(),
});

/** 202 of a batch invoke: one entry per event, in the order of the events. */
export const InvokeBatchAccepted = Type.Object({
  executions: Type.Array(Type.Object({ executionId: Type.String(), statusUrl: Type.String() })),
});

/** 202 of an invoke: async, or sync not finished within waitMs (then the Execution). */
export const InvokePending = Type.Union([InvokeAccepted, Execution]);

export const ExecutionPage = Type.Object({ executions: Type.Array(Execution), nextCursor: Nullable(Type.String()) });

const DeliveryAttempt = Type.Object(
  {
    attempt: Type.Integer({ minimum: 1 }),
    startedAt: Time(),
    durationMs: Type.Number(),
    statusCode: Nullable(Type.Integer({ description: 'the HTTP status answered; null without an answer, or for a function' })),
    error: Nullable(Type.String({ description: 'why it did not deliver; null when it did' })),
    responseExcerpt: Nullable(Type.String({ description: 'the first characters of the answer body' })),
    responseTruncated: Type.Boolean({ description: 'the answer was longer than what is read (64 KiB): it was cut' }),
  },
  Open,
);

export const DeliveryList = Type.Object({
  deliveries: Type.Array(
    Type.Object(
      {
        id: Type.String({ description: 'also sent as the taskforge-delivery header' }),
        executionId: Type.String(),
        function: Type.String(),
        version: Type.Integer(),
        on: Literals(['success', 'failure'] as const),
        destination: Destination,
        status: Literals(['pending', 'delivering', 'retry_wait', 'delivered', 'failed'] as const),
        attempts: Type.Array(DeliveryAttempt),
        maxAttempts: Type.Integer(),
        nextAttemptAt: Nullable(Time('when the next attempt is due; null once delivered or failed')),
        createdAt: Time(),
        finishedAt: Nullable(Time()),
        createdExecutionId: Nullable(Type.String({ description: 'a function destination: the execution it started' })),
      },
      Open,
    ),
    { description: 'none, or the one delivery of its onSuccess or onFailure destination' },
  ),
});

export const ExecutionLogs = Type.Object(
  {
    executionId: Type.String(),
    lines: Type.Array(
      Type.Object({ ts: Time(), stream: Literals(['stdout', 'stderr'] as const), message: Type.String(), attempt: Type.Optional(Type.Integer()) }, Open),
    ),
    truncated: Type.Boolean(),
    dropped: Type.Optional(Type.Integer({ description: 'lines not kept between the first and the last ones' })),
  },
  Open,
);

// ---------- cluster ----------

const WorkerInfo = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    status: Literals(['ready', 'draining', 'lost'] as const),
    capacity: Type.Integer(),
    inFlight: Type.Integer(),
    sandbox: Literals(SANDBOX_LEVELS),
    warm: Type.Array(Type.String({ description: 'fn@version' })),
    connectedAt: Time(),
    lastHeartbeatAt: Nullable(Time()),
    completed: Type.Integer(),
  },
  Open,
);

export const WorkerList = Type.Object({ workers: Type.Array(WorkerInfo) });

export const PoolInfo = Type.Object(
  {
    name: Type.String(),
    host: Type.String(),
    current: Type.Integer({ description: 'workers running now' }),
    target: Type.Integer({ description: 'workers the pool converges on' }),
    min: Type.Integer(),
    max: Type.Integer(),
    autoscale: Type.Boolean({ description: 'the pool sets its own size from the load (manual scaling is refused)' }),
    workerCapacity: Type.Integer(),
    connectedAt: Time(),
  },
  Open,
);

export const PoolList = Type.Object({ pools: Type.Array(PoolInfo) });

export const Stats = Type.Object(
  {
    executions: Type.Record(Type.String(), Type.Integer()),
    queueDepth: Type.Integer(),
    workers: Type.Record(Type.String(), Type.Integer()),
  },
  Open,
);

export const Health = Type.Object({ status: Type.Literal('ok') });
export const Ready = Type.Object({ status: Type.Literal('ready') });

// ---------- keys ----------

const keyFields = {
  id: Type.String(),
  name: Type.String(),
  scopes: Type.Array(Literals(KEY_SCOPES)),
  functions: Nullable(Type.Array(Type.String())),
  createdAt: Time(),
};
export const ApiKeyInfo = Type.Object(keyFields, Open);
export const CreatedApiKey = Type.Object({ ...keyFields, key: Type.String({ description: 'the key itself, shown only in this answer' }) }, Open);
export const KeyList = Type.Object({ keys: Type.Array(ApiKeyInfo) });

// ---------- workflows ----------

export const WorkflowDefinition = Type.Object(
  {
    name: Type.String(),
    steps: Type.Array(
      Type.Object({ id: Type.String(), function: Type.String(), needs: Type.Array(Type.String()), input: Type.Optional(Type.Unknown()) }, Open),
    ),
    version: Type.Integer({ description: '1 when defined, +1 on every PUT' }),
    createdAt: Time(),
    updatedAt: Time(),
  },
  Open,
);
export const WorkflowList = Type.Object({ workflows: Type.Array(WorkflowDefinition) });

export const WorkflowRun = Type.Object(
  {
    id: Type.String(),
    workflow: Type.String(),
    workflowVersion: Type.Integer(),
    status: Literals(WORKFLOW_RUN_STATUSES),
    steps: Type.Record(
      Type.String(),
      Type.Object(
        {
          status: Literals(STEP_STATUSES),
          executionId: Nullable(Type.String()),
          function: Type.String(),
          error: Type.Optional(Nullable(Type.Object({ code: Type.String(), message: Type.String() }, Open))),
        },
        Open,
      ),
      { description: 'by step id' },
    ),
    failedStep: Nullable(Type.String()),
    createdAt: Time(),
    finishedAt: Nullable(Time()),
    idempotencyKey: Type.Optional(Nullable(Type.String({ description: "the start's Idempotency-Key" }))),
    input: Type.Optional(Type.Unknown({ description: 'absent in lists' })),
    output: Type.Optional(Type.Unknown({ description: 'the outputs of the steps nothing depends on, by step id, once succeeded; absent in lists' })),
  },
  Open,
);
export const WorkflowRunPage = Type.Object({ runs: Type.Array(WorkflowRun), nextCursor: Nullable(Type.String()) });
export const RunAccepted = Type.Object({ runId: Type.String(), status: Literals(WORKFLOW_RUN_STATUSES), statusUrl: Type.String() });

/** 204: no body. */
export const NoContent = Type.Unsafe<void>({ type: 'null', description: 'no body' });

/** The OpenAPI document itself. */
export const OpenApiDocument = Type.Object({ openapi: Type.String() }, Open);
