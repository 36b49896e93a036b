/**
 * Live views (docs/API-PLATFORM.md "Live views"): `GET /v1/events`, one `event: execution` per state
 * change with the Execution (without input/output) as data and the scheduler's sequence number
 * as `id:`. `Last-Event-ID` resumes from the scheduler's buffer; when it no longer reaches back
 * that far the stream starts with `event: reset`. Each client has its own stream from the
 * scheduler, filtered there, so a client watching one function costs other functions' changes
 * nothing. When the scheduler goes away the stream ends; the client reconnects with its last id.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { executionNotFound } from '../../common/errors.js';
import { assertExecutionId, assertFunctionName } from '../../common/names.js';
import { mayUseFunction } from '../access.js';
import { forbidden, principalOf } from '../auth.js';
import type { ControlClient } from '../control-client.js';
import { errorResponses } from '../response-schemas.js';
import { EventsQuery } from '../schemas.js';
import { openSse, type SseOptions, type SseStream } from '../sse.js';

export interface EventRoutesOptions {
  control: ControlClient;
  sse: SseOptions;
  /** Every open stream, so the gateway can end them when it closes. */
  open: Set<SseStream>;
}

/** The Last-Event-ID header as a sequence number; anything else starts from now (0). */
export function resumePoint(header: string | string[] | undefined): number {
  const v = Array.isArray(header) ? header[0] : header;
  if (!v || !/^\d{1,16}$/.test(v.trim())) return 0;
  return Number(v.trim());
}

export const eventRoutes: FastifyPluginAsyncTypebox<EventRoutesOptions> = async (app, { control, sse, open }) => {
  const schema = {
    description:
      "Server-sent events: `event: execution` per state change (data: the Execution without input/output; id: the change's sequence number), `: ping` every 15 s, `event: reset` first when `Last-Event-ID` is older than the scheduler keeps (docs/API-PLATFORM.md 'Live views').",
    querystring: EventsQuery,
    response: {
      200: {
        description: 'A text/event-stream that lasts until the client or the scheduler goes.',
        content: { 'text/event-stream': { schema: Type.String() } },
      },
      ...errorResponses('EXECUTION_NOT_FOUND'),
    },
  };
  app.get('/v1/events', { config: { access: 'executions:read' }, schema }, async (request, reply) => {
    const { function: fn, execution } = request.query;
    const p = principalOf(request);
    if (fn !== undefined) {
      assertFunctionName(fn);
      if (!mayUseFunction(p, fn)) throw forbidden({ reason: 'function', field: 'query.function' });
    }
    if (execution !== undefined) {
      assertExecutionId(execution);
      // A key limited to some functions learns nothing of other functions' executions.
      if (p.functions !== null && !mayUseFunction(p, (await control.getExecution(execution, 0)).function)) throw executionNotFound(execution);
    }
    const stream = openSse(reply, sse);
    open.add(stream);
    const upstream = control.watchEvents(
      {
        ...(fn !== undefined && { function: fn }),
        ...(execution !== undefined && { executionId: execution }),
        afterSeq: resumePoint(request.headers['last-event-id']),
        ...(p.functions !== null && { functions: p.functions }),
      },
      {
        change: (c) => stream.send('execution', c.json, c.seq),
        reset: () => stream.send('reset', '{}'),
        end: (err) => {
          if (err) request.log.info({ code: err.code }, 'event stream from the scheduler ended');
          stream.close();
        },
      },
    );
    stream.onClose(() => {
      upstream.close();
      open.delete(stream);
    });
  });
};
