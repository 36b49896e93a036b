/**
 * Execution routes: read (with long-poll), list, logs, cancel.
 *
 * Execution ids in paths are checked by the app's onRequest guard; the `function` filter of
 * the list is checked here with the same rule as a function name in a path (INVALID_NAME).
 * The records are the scheduler's, returned as they are: the gateway never edits an execution.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { assertFunctionName } from '../../common/names.js';
import type { ControlClient } from '../control-client.js';
import { CancelBody, DEFAULT_LIST_LIMIT, EmptyQuery, GetExecutionQuery, IdParams, ListExecutionsQuery } from '../schemas.js';

export interface ExecutionRoutesOptions {
  control: ControlClient;
}

export const executionRoutes: FastifyPluginAsyncTypebox<ExecutionRoutesOptions> = async (app, { control }) => {
  app.get('/v1/executions', { schema: { querystring: ListExecutionsQuery } }, async (request) => {
    const { function: fn, status, limit, cursor } = request.query;
    if (fn !== undefined) assertFunctionName(fn);
    const page = await control.listExecutions({
      ...(fn !== undefined && { function: fn }),
      ...(status !== undefined && { status }),
      limit: limit ?? DEFAULT_LIST_LIMIT,
      ...(cursor !== undefined && { cursor }),
    });
    return { executions: page.executions, nextCursor: page.nextCursor ?? null };
  });

  app.get('/v1/executions/:id', { schema: { params: IdParams, querystring: GetExecutionQuery } }, async (request, reply) => {
    const execution = await control.getExecution(request.params.id, request.query.waitMs ?? 0);
    return reply.type('application/json; charset=utf-8').send(execution.json);
  });

  app.get('/v1/executions/:id/logs', { schema: { params: IdParams, querystring: EmptyQuery } }, async (request) =>
    control.getLogs(request.params.id),
  );

  // A cancel takes no body; `{}` is accepted, any field in it is VALIDATION_ERROR.
  app.post('/v1/executions/:id/cancel', { schema: { params: IdParams, querystring: EmptyQuery, body: CancelBody } }, async (request) =>
    control.cancelExecution(request.params.id),
  );
};
