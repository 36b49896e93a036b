/**
 * POST /v1/functions/{name}/invoke-batch — up to 1,000 events, one async execution each,
 * accepted with one durable commit and queued in the order of the events (docs/QUEUEING.md).
 * The query's delay and priority apply to every event; an idempotency key covers the batch.
 *
 * Its own plugin: unlike the invoke route, the body is an object (`{ "events": [...] }`) parsed
 * like any other; each event is forwarded as its JSON text.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { TaskForgeError } from '../../common/errors.js';
import { LIMITS } from '../../common/records.js';
import type { ControlClient } from '../control-client.js';
import { InvokeBatchAccepted, errorResponses } from '../response-schemas.js';
import { InvokeBatchBody, InvokeBatchQuery, InvokeHeaders, NameParams } from '../schemas.js';
import { executionUrl, queueing } from './invoke.js';

export interface InvokeBatchRoutesOptions {
  control: ControlClient;
  /** Bytes of one event (the invoke body limit). */
  eventLimit: number;
}

/** Bytes of a whole batch request: well under the control channel's message size. */
export const BATCH_BODY_LIMIT = 8 * 1024 * 1024;

export const invokeBatchRoutes: FastifyPluginAsyncTypebox<InvokeBatchRoutesOptions> = async (app, { control, eventLimit }) => {
  app.post(
    '/v1/functions/:name/invoke-batch',
    {
      bodyLimit: BATCH_BODY_LIMIT,
      config: { access: 'invoke' },
      schema: {
        description:
          `Invokes a function once per event (1 to ${LIMITS.batchEvents}), async: 202 once all of them are durable, ` +
          'in one commit (all or none), listed and queued in the order of the events. ' +
          'at / delayMs / priority apply to every event; an idempotency-key covers the whole batch.',
        params: NameParams,
        querystring: InvokeBatchQuery,
        headers: InvokeHeaders,
        body: InvokeBatchBody,
        response: {
          202: InvokeBatchAccepted,
          ...errorResponses('FUNCTION_NOT_FOUND', 'IDEMPOTENCY_MISMATCH', 'QUEUE_FULL', 'STORAGE_UNAVAILABLE'),
        },
      },
    },
    async (request, reply) => {
      const inputJsons = request.body.events.map((event, i) => {
        const text = JSON.stringify(event ?? null);
        const bytes = Buffer.byteLength(text);
        if (bytes > eventLimit) {
          throw new TaskForgeError('PAYLOAD_TOO_LARGE', `body.events[${i}]: an event is at most ${eventLimit} bytes (got ${bytes})`, {
            field: `body.events[${i}]`,
            reason: 'too_large',
            limitBytes: eventLimit,
          });
        }
        return text;
      });
      const { executionIds, created } = await control.invokeBatch({
        function: request.params.name,
        version: request.query.version ?? 0,
        inputJsons,
        idempotencyKey: request.headers['idempotency-key'] ?? null,
        ...queueing(request.query),
      });
      if (!created) reply.header('idempotent-replayed', 'true');
      return reply.code(202).send({ executions: executionIds.map((executionId) => ({ executionId, statusUrl: executionUrl(executionId) })) });
    },
  );
};
