/**
 * TypeBox schemas for every body, query string, header set and path parameter of the HTTP API
 * (docs/API.md). They are the gateway's first line of defence: a request that passes them is
 * well-formed, so the scheduler only ever has to say no for reasons of state (exists, not found,
 * queue full). Bounds come from common/records.ts and common/names.ts so the gateway and the
 * scheduler cannot drift apart.
 *
 * Never put a name/id pattern on a path parameter here: a bad name must answer INVALID_NAME,
 * which the gateway's onRequest guard does (see app.ts), not VALIDATION_ERROR.
 */
import { Type, type Static } from '@sinclair/typebox';
import { KEY_SCOPES, LIMITS_KEYS } from '../common/api-keys.js';
import { MAX_WEBHOOK_URL_CHARS } from '../common/destination.js';
import { ENV_KEY_RE, FUNCTION_NAME_RE, HANDLER_RE, TOPIC_NAME_RE } from '../common/names.js';
import { EXECUTION_STATUSES, FUNCTION_DEFAULTS, LIMITS, PRIORITIES } from '../common/records.js';
import { CIRCUIT_BOUNDS, MAX_CACHE_TTL_MS } from '../common/function-spec.js';
import { STEP_ID_RE, WORKFLOW_LIMITS } from '../common/workflows.js';

/** A string that must be exactly one of `values`; reported as "must be one of: …". */
const OneOf = <T extends string>(values: readonly T[], opts: { default?: T; description?: string } = {}) =>
  Type.Union(
    values.map((v) => Type.Literal(v)),
    opts,
  );

// ---------- functions ----------

/** `{ function }` or `{ url }`; exactly one, and the URL's scheme and address, are checked by the scheduler. */
const Destination = (description: string) =>
  Type.Union(
    [
      Type.Object(
        {
          function: Type.Optional(Type.String({ maxLength: 63, description: 'runs this function async with { execution }' })),
          url: Type.Optional(Type.String({ maxLength: MAX_WEBHOOK_URL_CHARS, description: 'http(s): a signed POST of { execution }' })),
        },
        { additionalProperties: false },
      ),
      Type.Null(),
    ],
    { description },
  );

const specFields = {
  // Bytes are checked before the schema (413, see routes/functions.ts); maxLength in UTF-16
  // units is implied by the byte bound and kept here so the schema documents the limit.
  code: Type.String({ minLength: 1, maxLength: LIMITS.codeBytes, description: 'ES module or CommonJS source' }),
  handler: Type.Optional(Type.String({ pattern: HANDLER_RE.source, maxLength: 128, default: FUNCTION_DEFAULTS.handler })),
  runtime: Type.Optional(Type.Literal('nodejs', { default: FUNCTION_DEFAULTS.runtime })),
  timeoutMs: Type.Optional(Type.Integer({ minimum: 100, maximum: 900_000, default: FUNCTION_DEFAULTS.timeoutMs })),
  memoryMb: Type.Optional(Type.Integer({ minimum: 16, maximum: 4096, default: FUNCTION_DEFAULTS.memoryMb })),
  maxRetries: Type.Optional(Type.Integer({ minimum: 0, maximum: 10, default: FUNCTION_DEFAULTS.maxRetries })),
  concurrency: Type.Optional(Type.Integer({ minimum: 0, maximum: 10_000, default: FUNCTION_DEFAULTS.concurrency })),
  maxQueueMs: Type.Optional(Type.Integer({ minimum: 1_000, maximum: 604_800_000, default: FUNCTION_DEFAULTS.maxQueueMs })),
  // The 4 KiB total is not expressible in JSON Schema; routes/functions.ts checks it.
  env: Type.Optional(
    Type.Record(Type.String({ pattern: ENV_KEY_RE.source }), Type.String(), {
      maxProperties: LIMITS.envKeys,
      additionalProperties: false,
    }),
  ),
  description: Type.Optional(Type.String({ maxLength: 256, default: FUNCTION_DEFAULTS.description })),
  circuitBreaker: Type.Optional(
    Type.Union(
      [
        Type.Null(),
        Type.Object(
          Object.fromEntries(
            Object.entries(CIRCUIT_BOUNDS).map(([k, [minimum, maximum, def]]) => [k, Type.Optional(Type.Integer({ minimum, maximum, default: def }))]),
          ),
          { additionalProperties: false },
        ),
      ],
      { description: 'opt-in: open after failureThreshold failed attempts within windowMs; one probe after cooldownMs' },
    ),
  ),
  cacheTtlMs: Type.Optional(
    Type.Integer({ minimum: 0, maximum: MAX_CACHE_TTL_MS, description: 'opt-in: reuse an output for the same version and input this long (0 = off)' }),
  ),
  // Schedules and timezones are read by the scheduler (common/triggers.ts), which names the field at fault.
  triggers: Type.Optional(
    Type.Array(
      Type.Union([
        Type.Object(
          {
            type: Type.Literal('topic'),
            topic: Type.String({ pattern: TOPIC_NAME_RE.source }),
            filter: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: 'top-level fields of the event and the values they must equal' })),
          },
          { additionalProperties: false },
        ),
        Type.Object(
          {
            type: Type.Literal('cron'),
            schedule: Type.String({ minLength: 1, maxLength: 256, description: '5 fields (minute first) or 6 (second first)' }),
            timezone: Type.Optional(Type.String({ maxLength: 64, description: 'IANA name; default UTC' })),
            input: Type.Optional(Type.Unknown({ description: 'the execution input of every tick' })),
          },
          { additionalProperties: false },
        ),
      ]),
      { maxItems: LIMITS.triggers, description: 'docs/TOPICS.md, docs/CRON.md' },
    ),
  ),
  onSuccess: Type.Optional(Destination('where an execution that ends succeeded is sent (docs/DESTINATIONS.md)')),
  onFailure: Type.Optional(Destination('where an execution that ends failed, timed_out (after its last attempt) or expired is sent')),
};

/**
 * Body of PUT /v1/functions/{name}. `name` is tolerated so the same spec file can be POSTed
 * and PUT; when present it must equal the path (checked in the route).
 */
export const FunctionSpecBody = Type.Object({ ...specFields, name: Type.Optional(Type.String()) }, { additionalProperties: false });
export type FunctionSpecBody = Static<typeof FunctionSpecBody>;

/** Body of POST /v1/functions. The name's form is checked before the schema (INVALID_NAME). */
export const CreateFunctionBody = Type.Object({ ...specFields, name: Type.String() }, { additionalProperties: false });
export type CreateFunctionBody = Static<typeof CreateFunctionBody>;

export const NameParams = Type.Object({ name: Type.String() });
export const TopicParams = Type.Object({ topic: Type.String({ description: `a topic name: ${TOPIC_NAME_RE.source}` }) });
export const PublishEvent = Type.Unknown({
  description: 'the event: any JSON (application/json), or a structured-mode CloudEvent 1.0 (application/cloudevents+json)',
});
export const IdParams = Type.Object({ id: Type.String() });

export const GetFunctionQuery = Type.Object(
  {
    include: Type.Optional(OneOf(['code'] as const)),
    version: Type.Optional(Type.Integer({ minimum: 1, description: 'that version instead of the latest' })),
  },
  { additionalProperties: false },
);

export const EmptyQuery = Type.Object({}, { additionalProperties: false });

// ---------- invocations ----------

/** Delayed invokes and priorities (docs/QUEUEING.md); the scheduler checks them against its clock. */
const QueueingQuery = {
  at: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'ISO 8601 time to run at (≤ 31 days ahead; a past time is now); async only' })),
  delayMs: Type.Optional(Type.Integer({ minimum: 0, maximum: LIMITS.maxDelayMs, description: 'ms from now to run at; async only; not with at' })),
  priority: Type.Optional(OneOf(PRIORITIES, { default: 'normal', description: 'higher runs first; waiting work gains one level per 10 s' })),
};

export const InvokeQuery = Type.Object(
  {
    mode: Type.Optional(OneOf(['async', 'sync'] as const, { default: 'async' })),
    version: Type.Optional(Type.Integer({ minimum: 1, maximum: 2_147_483_647 })),
    // Only meaningful with mode=sync; absent means the scheduler's default wait.
    waitMs: Type.Optional(Type.Integer({ minimum: 0, maximum: LIMITS.maxSyncWaitMs })),
    ...QueueingQuery,
  },
  { additionalProperties: false },
);
export type InvokeQuery = Static<typeof InvokeQuery>;

/** Batch invoke: async only; the query's delay and priority apply to every event. */
export const InvokeBatchQuery = Type.Object(
  {
    version: Type.Optional(Type.Integer({ minimum: 1, maximum: 2_147_483_647 })),
    ...QueueingQuery,
  },
  { additionalProperties: false },
);
export type InvokeBatchQuery = Static<typeof InvokeBatchQuery>;

export const InvokeBatchBody = Type.Object(
  {
    events: Type.Array(Type.Unknown({ description: 'an event: any JSON' }), {
      minItems: 1,
      maxItems: LIMITS.batchEvents,
      description: `1 to ${LIMITS.batchEvents} events, one async execution each, in this order`,
    }),
  },
  { additionalProperties: false },
);
export type InvokeBatchBody = Static<typeof InvokeBatchBody>;

/**
 * Body of an invoke: the event, any JSON (an empty body is null). Nothing to check beyond JSON
 * itself (json-body.ts); here so the document says what the body is.
 */
export const InvokeEvent = Type.Unknown({ description: 'the event: any JSON; an empty body is null' });

/** Header names are lower case: Node delivers them that way. Other headers pass untouched. */
export const InvokeHeaders = Type.Object({
  'idempotency-key': Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
});

// ---------- executions ----------

/**
 * Body of a cancel: none, or an empty object. Anything in it is a field the API does not have,
 * refused by name like an unknown field anywhere else.
 */
export const CancelBody = Type.Union([Type.Null(), Type.Object({}, { additionalProperties: false })]);

export const GetExecutionQuery = Type.Object(
  { waitMs: Type.Optional(Type.Integer({ minimum: 0, maximum: LIMITS.maxWaitMs })) },
  { additionalProperties: false },
);

/** `?follow=1` streams the logs (server-sent events) until the execution ends. */
export const LogsQuery = Type.Object({ follow: Type.Optional(OneOf(['0', '1', 'true', 'false'] as const)) }, { additionalProperties: false });

export const EventsQuery = Type.Object(
  {
    // Forms are checked in the route (INVALID_NAME), like names and ids in paths.
    function: Type.Optional(Type.String()),
    execution: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);

export const DEFAULT_LIST_LIMIT = 50;

export const ListExecutionsQuery = Type.Object(
  {
    // The form of a function name is checked in the route (INVALID_NAME, like a path name).
    function: Type.Optional(Type.String()),
    status: Type.Optional(OneOf(EXECUTION_STATUSES)),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: LIMITS.listLimit, default: DEFAULT_LIST_LIMIT })),
    cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 1024 })),
  },
  { additionalProperties: false },
);
export type ListExecutionsQuery = Static<typeof ListExecutionsQuery>;

// ---------- keys ----------

/** Body of POST /v1/keys. `functions` left out: the key may touch every function. */
export const CreateKeyBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: LIMITS_KEYS.nameChars, pattern: '^[^\\u0000-\\u001f\\u007f]+$' }),
    scopes: Type.Array(OneOf(KEY_SCOPES), { minItems: 1, maxItems: KEY_SCOPES.length, uniqueItems: true }),
    functions: Type.Optional(
      Type.Array(Type.String({ pattern: FUNCTION_NAME_RE.source }), { minItems: 1, maxItems: LIMITS_KEYS.functions, uniqueItems: true }),
    ),
  },
  { additionalProperties: false },
);
export type CreateKeyBody = Static<typeof CreateKeyBody>;

/** POST /v1/workers/scale. The pool's own bounds (min/max) are checked by the scheduler. */
export const ScaleWorkersBody = Type.Object(
  {
    workers: Type.Integer({ minimum: 0, maximum: 1024, description: 'the number of workers the pool should run' }),
    pool: Type.Optional(Type.String({ pattern: FUNCTION_NAME_RE.source, description: 'the pool (default: the only one connected)' })),
  },
  { additionalProperties: false },
);

/** Named keyId, not id: the app's guard reads `id` as an execution id. */
export const KeyIdParams = Type.Object({ keyId: Type.String() });

// ---------- workflows ----------

/** The workflow name's form is checked in the route (INVALID_NAME, like a function name in a path). */
export const WorkflowParams = Type.Object({ workflow: Type.String() });

const WorkflowStepBody = Type.Object(
  {
    id: Type.String({ pattern: STEP_ID_RE.source, description: 'unique in the workflow' }),
    function: Type.String({ pattern: FUNCTION_NAME_RE.source, description: 'an existing function' }),
    needs: Type.Optional(Type.Array(Type.String(), { maxItems: WORKFLOW_LIMITS.needs, description: 'ids of the steps that must succeed first' })),
    input: Type.Optional(
      Type.Unknown({
        description:
          'the step input; "$.input" and "$.steps.<id>.output" (each optionally followed by .field) are replaced by that value. Absent: the run input.',
      }),
    ),
  },
  { additionalProperties: false },
);

/** Body of PUT /v1/workflows/{workflow}; the DAG itself (cycles, unknown steps or functions) is checked by the scheduler. */
export const WorkflowBody = Type.Object(
  {
    steps: Type.Array(WorkflowStepBody, { minItems: 1, maxItems: WORKFLOW_LIMITS.steps }),
    name: Type.Optional(Type.String({ description: 'ignored; the name is the path' })),
  },
  { additionalProperties: false },
);

export const RunInput = Type.Unknown({ description: "the run's input: any JSON; an empty body is null" });

export const ListRunsQuery = Type.Object(
  {
    workflow: Type.Optional(Type.String()),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: LIMITS.listLimit, default: DEFAULT_LIST_LIMIT })),
    cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 1024 })),
  },
  { additionalProperties: false },
);
