/**
 * POST /v1/functions/{name}/invoke — the hot path.
 *
 * Registered in its own encapsulated plugin because its body is not parsed like the others:
 * the event is any JSON, checked once and forwarded as the client's exact text (see
 * json-body.ts), so a 1 MiB event is never re-serialised by the gateway.
 *
 * The answer's status tells a sync caller how the run ended without reading the body:
 *   succeeded 200 · failed 502 · cancelled 502 · timed_out 504 · not yet terminal 202.
 * A cancelled execution produced no result, like a failed one, and its record carries
 * `error.code = "CANCELLED"`; so it shares 502 rather than pretending success with 200.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { markHop } from '../../common/diagnostics.js';
import type { ExecutionStatus } from '../../common/records.js';
import type { ControlClient } from '../control-client.js';
import { JsonText, parseRawJsonBody, sendJsonText, useJsonParser } from '../json-body.js';
import { InvokeEvent, InvokeHeaders, InvokeQuery, NameParams } from '../schemas.js';
import { validationError } from '../validation.js';
import { Execution, InvokePending, errorResponses } from '../response-schemas.js';

export interface InvokeRoutesOptions {
  control: ControlClient;
  /** Bytes of an invoke body (the event). */
  bodyLimit: number;
}

export const SYNC_HTTP_STATUS: Readonly<Record<ExecutionStatus, number>> = Object.freeze({
  queued: 202,
  running: 202,
  succeeded: 200,
  failed: 502,
  cancelled: 502,
  timed_out: 504,
});

export const executionUrl = (id: string): string => `/v1/executions/${id}`;

/** The delay and priority of an invoke's query, for the scheduler (which checks them). */
export const queueing = (q: { at?: string; delayMs?: number; priority?: string }): { at?: string; delayMs?: number; priority?: string } => ({
  ...(q.at !== undefined && { at: q.at }),
  ...(q.delayMs !== undefined && { delayMs: q.delayMs }),
  ...(q.priority !== undefined && { priority: q.priority }),
});

export const invokeRoutes: FastifyPluginAsyncTypebox<InvokeRoutesOptions> = async (app, { control, bodyLimit }) => {
  useJsonParser(app, parseRawJsonBody);

  app.post(
    '/v1/functions/:name/invoke',
    {
      bodyLimit,
      config: { access: 'invoke' },
      schema: {
        description:
          'Invokes a function with the body as its event (any JSON; empty is null). async (default): 202 once durable. ' +
          'sync: the Execution, 200 succeeded · 502 failed or cancelled · 504 timed out · 202 not finished within waitMs. ' +
          'at / delayMs delay an async invoke (mode=sync with a delay is 400); priority orders the queue.',
        params: NameParams,
        querystring: InvokeQuery,
        headers: InvokeHeaders,
        body: InvokeEvent,
        response: {
          200: Execution,
          202: InvokePending,
          502: Execution,
          504: Execution,
          ...errorResponses('FUNCTION_NOT_FOUND', 'IDEMPOTENCY_MISMATCH', 'QUEUE_FULL', 'CIRCUIT_OPEN', 'STORAGE_UNAVAILABLE'),
        },
      },
    },
    async (request, reply) => {
      markHop('G1 gateway route');
      const mode = request.query.mode ?? 'async';
      const { waitMs, version } = request.query;
      if (mode === 'async' && waitMs !== undefined) {
        // Silently ignoring it would hide a forgotten mode=sync.
        throw validationError('query.waitMs', 'not_applicable', 'applies to mode=sync only');
      }
      // No body at all (no content-type) reaches here as undefined: the event is null.
      const inputJson = request.body instanceof JsonText ? request.body.text : 'null';
      const { execution, created } = await control.invoke({
        function: request.params.name,
        version: version ?? 0,
        inputJson,
        mode,
        idempotencyKey: request.headers['idempotency-key'] ?? null,
        waitMs: waitMs ?? 0,
        ...queueing(request.query),
      });

      markHop('G3 gateway reply read');
      const statusUrl = executionUrl(execution.id);
      // An idempotency key matched an earlier execution: say so, as Stripe-style APIs do.
      if (!created) reply.header('idempotent-replayed', 'true');
      if (mode === 'async') {
        return reply.code(202).header('location', statusUrl).send({ executionId: execution.id, status: execution.status, statusUrl });
      }
      const status = SYNC_HTTP_STATUS[execution.status] ?? 202;
      if (status === 202) reply.header('location', statusUrl);
      return sendJsonText(reply, status, execution.json);
    },
  );
};
