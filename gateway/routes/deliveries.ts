/**
 * `GET /v1/executions/{id}/deliveries`: the delivery of an execution's end to its destination,
 * every attempt with its answer (docs/DESTINATIONS.md). Read access to the execution's function
 * is needed: a key limited to other functions gets EXECUTION_NOT_FOUND, as for the execution.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { executionNotFound } from '../../common/errors.js';
import { mayUseFunction } from '../access.js';
import { principalOf } from '../auth.js';
import type { ControlClient } from '../control-client.js';
import { sendJsonText } from '../json-body.js';
import { DeliveryList, errorResponses } from '../response-schemas.js';
import { EmptyQuery, IdParams } from '../schemas.js';

export const deliveryRoutes: FastifyPluginAsyncTypebox<{ control: ControlClient }> = async (app, { control }) => {
  app.get(
    '/v1/executions/:id/deliveries',
    {
      config: { access: 'executions:read' },
      schema: {
        description: "The delivery of the execution's end to its onSuccess or onFailure destination: status, attempts and answers.",
        params: IdParams,
        querystring: EmptyQuery,
        response: { 200: DeliveryList, ...errorResponses('EXECUTION_NOT_FOUND') },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const execution = await control.getExecution(id, 0);
      if (!mayUseFunction(principalOf(request), execution.function)) throw executionNotFound(id);
      return sendJsonText(reply, 200, await control.listDeliveries(id));
    },
  );
};
