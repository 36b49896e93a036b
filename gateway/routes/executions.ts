/**
 * Execution routes: read (with long-poll), list, logs, cancel.
 *
 * Execution ids in paths are checked by the app's onRequest guard; the `function` filter of
 * the list is checked here with the same rule as a function name in a path (INVALID_NAME).
 * The records are the scheduler's, returned as they are: the gateway never edits an execution.
 *
 * A key limited to some functions lists only their executions, and any other execution is
 * EXECUTION_NOT_FOUND to it (404, exactly as for an id that does not exist: it learns nothing
 * about other functions' executions, not even that they exist). That is checked before a
 * long-poll waits, logs are read or a cancel happens.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import { executionNotFound } from '../../common/errors.js';
import { assertFunctionName } from '../../common/names.js';
import { mayUseFunction } from '../access.js';
import { forbidden, principalOf } from '../auth.js';
import { atField } from '../errors.js';
import { sendJsonText } from '../json-body.js';
import type { ControlClient } from '../control-client.js';
import { CancelBody, DEFAULT_LIST_LIMIT, EmptyQuery, GetExecutionQuery, IdParams, ListExecutionsQuery, LogsQuery } from '../schemas.js';
import { Execution, ExecutionLogs, ExecutionPage, errorResponses } from '../response-schemas.js';
import { openSse, type SseOptions, type SseStream } from '../sse.js';

export interface ExecutionRoutesOptions {
  control: ControlClient;
  sse: SseOptions;
  /** Every open stream, so the gateway can end them when it closes. */
  open: Set<SseStream>;
}

export const executionRoutes: FastifyPluginAsyncTypebox<ExecutionRoutesOptions> = async (app, { control, sse, open }) => {
  /** For a function-limited key: 404 unless the execution is one of its functions'. */
  const checkVisible = async (request: FastifyRequest, id: string): Promise<void> => {
    const p = principalOf(request);
    if (p.functions === null) return;
    const e = await control.getExecution(id, 0);
    if (!mayUseFunction(p, e.function)) throw executionNotFound(id);
  };

  const listSchema = {
    description: 'Executions without input and output, newest first, a page at a time.',
    querystring: ListExecutionsQuery,
    response: { 200: ExecutionPage },
  };
  app.get('/v1/executions', { config: { access: 'executions:read' }, schema: listSchema }, async (request) => {
    const { function: fn, status, limit, cursor } = request.query;
    const p = principalOf(request);
    if (fn !== undefined) {
      atField('query.function', () => assertFunctionName(fn));
      if (!mayUseFunction(p, fn)) throw forbidden({ reason: 'function', field: 'query.function' });
    }
    const page = await control.listExecutions({
      ...(fn !== undefined && { function: fn }),
      ...(status !== undefined && { status }),
      limit: limit ?? DEFAULT_LIST_LIMIT,
      ...(cursor !== undefined && { cursor }),
      ...(p.functions !== null && { functions: p.functions }),
    });
    return { executions: page.executions, nextCursor: page.nextCursor ?? null };
  });

  app.get(
    '/v1/executions/:id',
    {
      config: { access: 'executions:read' },
      schema: {
        description: 'An execution; `waitMs` long-polls until it is terminal or the time is up.',
        params: IdParams,
        querystring: GetExecutionQuery,
        response: { 200: Execution, ...errorResponses('EXECUTION_NOT_FOUND') },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const waitMs = request.query.waitMs ?? 0;
      // Before a long-poll, so its timing cannot tell when another function's execution ends.
      if (waitMs > 0) await checkVisible(request, id);
      const execution = await control.getExecution(id, waitMs);
      if (!mayUseFunction(principalOf(request), execution.function)) throw executionNotFound(id);
      return sendJsonText(reply, 200, execution.json);
    },
  );

  const logsSchema = {
    description:
      "An execution's captured console lines (capped; the first and the last lines are kept). With `follow=1`: server-sent events — `event: log` per line (with its attempt) as it is written, then `event: end` with the final Execution (docs/API-PLATFORM.md 'Live views').",
    params: IdParams,
    querystring: LogsQuery,
    response: {
      200: {
        description: 'The logs as JSON; with follow=1, a text/event-stream.',
        content: { 'application/json': { schema: ExecutionLogs }, 'text/event-stream': { schema: Type.String() } },
      },
      ...errorResponses('EXECUTION_NOT_FOUND'),
    },
  };
  app.get('/v1/executions/:id/logs', { config: { access: 'executions:read' }, schema: logsSchema }, async (request, reply) => {
    await checkVisible(request, request.params.id);
    const follow = request.query.follow === '1' || request.query.follow === 'true';
    if (!follow) return control.getLogs(request.params.id);
    // Not found and the like are answered as errors before the stream opens.
    await control.getExecution(request.params.id, 0);
    const stream = openSse(reply, sse);
    open.add(stream);
    const upstream = control.followLogs(request.params.id, {
      line: (json) => stream.send('log', json),
      end: (json) => {
        stream.send('end', json);
        stream.close();
      },
      error: (err) => {
        request.log.info({ code: err.code }, 'log stream from the scheduler ended');
        stream.close();
      },
    });
    stream.onClose(() => {
      upstream.close();
      open.delete(stream);
    });
    return reply;
  });

  // A cancel takes no body; `{}` is accepted, any field in it is VALIDATION_ERROR.
  app.post(
    '/v1/executions/:id/cancel',
    {
      config: { access: 'executions:cancel' },
      schema: {
        description: 'Cancels an execution (a running one has its sandbox killed).',
        params: IdParams,
        querystring: EmptyQuery,
        body: CancelBody,
        response: { 200: Execution, ...errorResponses('EXECUTION_NOT_FOUND', 'EXECUTION_FINISHED', 'STORAGE_UNAVAILABLE') },
      },
    },
    async (request) => {
      await checkVisible(request, request.params.id);
      return control.cancelExecution(request.params.id);
    },
  );
};
