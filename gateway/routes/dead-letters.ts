/**
 * Dead letters and retries (docs/DEAD-LETTERS.md): GET /v1/dead-letters lists async executions
 * that failed or timed out for good (or expired in the queue) and were not retried;
 * POST /v1/executions/{id}/retry starts a new async execution of the same function version
 * with the same input, `trigger: { type: 'retry', of }`.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { executionNotFound } from '../../common/errors.js';
import { assertFunctionName } from '../../common/names.js';
import { mayUseFunction } from '../access.js';
import { forbidden, principalOf } from '../auth.js';
import type { ControlClient } from '../control-client.js';
import { atField } from '../errors.js';
import { CancelBody, DEFAULT_LIST_LIMIT, EmptyQuery, IdParams, ListExecutionsQuery } from '../schemas.js';
import { Execution, InvokeAccepted, errorResponses } from '../response-schemas.js';
import { executionUrl } from './invoke.js';

export interface DeadLetterRoutesOptions {
  control: ControlClient;
}

const DeadLettersQuery = Type.Omit(ListExecutionsQuery, ['status'], { additionalProperties: false });

const DeadLetterPage = Type.Object({
  deadLetters: Type.Array(Execution, { description: 'newest first, without input and output' }),
  nextCursor: Type.Union([Type.String(), Type.Null()]),
});

export const deadLetterRoutes: FastifyPluginAsyncTypebox<DeadLetterRoutesOptions> = async (app, { control }) => {
  app.get(
    '/v1/dead-letters',
    {
      config: { access: 'executions:read' },
      schema: {
        description: 'Async executions that failed or timed out after their last attempt, or expired in the queue, and were not retried.',
        querystring: DeadLettersQuery,
        response: { 200: DeadLetterPage },
      },
    },
    async (request) => {
      const { function: fn, limit, cursor } = request.query;
      const p = principalOf(request);
      if (fn !== undefined) {
        atField('query.function', () => assertFunctionName(fn));
        if (!mayUseFunction(p, fn)) throw forbidden({ reason: 'function', field: 'query.function' });
      }
      const page = await control.listExecutions({
        ...(fn !== undefined && { function: fn }),
        limit: limit ?? DEFAULT_LIST_LIMIT,
        ...(cursor !== undefined && { cursor }),
        ...(p.functions !== null && { functions: p.functions }),
        deadLetters: true,
      });
      return { deadLetters: page.executions, nextCursor: page.nextCursor ?? null };
    },
  );

  app.post(
    '/v1/executions/:id/retry',
    {
      config: { access: 'invoke' },
      schema: {
        description: 'A new async execution of a finished one: the same function version (even if newer ones exist) and input.',
        params: IdParams,
        querystring: EmptyQuery,
        // No body, or `{}`: like a cancel.
        body: CancelBody,
        response: {
          202: InvokeAccepted,
          ...errorResponses('EXECUTION_NOT_FOUND', 'FUNCTION_NOT_FOUND', 'EXECUTION_NOT_FINISHED', 'QUEUE_FULL', 'STORAGE_UNAVAILABLE'),
        },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const p = principalOf(request);
      if (p.functions !== null) {
        // A key limited to some functions cannot learn that another function's execution exists.
        const original = await control.getExecution(id, 0);
        if (!mayUseFunction(p, original.function)) throw executionNotFound(id);
      }
      const execution = await control.retryExecution(id);
      const statusUrl = executionUrl(execution.id);
      return reply.code(202).header('location', statusUrl).send({ executionId: execution.id, status: execution.status, statusUrl });
    },
  );
};
