/**
 * GET /metrics (docs/API-PLATFORM.md "Metrics"): the scheduler's metrics and the gateway's own, in the
 * Prometheus text format, for a scraper with a key that may read the cluster (`cluster:read`:
 * admin, deploy and read keys not limited to some functions; anyone with `--no-auth`).
 *
 * It answers 200 even when the scheduler does not: a scrape that fails says nothing, one with
 * `taskforge_scheduler_up 0` and the gateway's metrics says what is wrong.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { ControlClient } from '../control-client.js';
import type { GatewayMetrics } from '../metrics.js';
import { EmptyQuery } from '../schemas.js';

export interface MetricsRoutesOptions {
  control: ControlClient;
  metrics: GatewayMetrics;
}

export const metricsRoutes: FastifyPluginAsyncTypebox<MetricsRoutesOptions> = async (app, { control, metrics }) => {
  app.get(
    '/metrics',
    {
      config: { access: 'cluster:read' },
      schema: {
        summary: 'Metrics in the Prometheus text format',
        description:
          "The scheduler's execution, queue, worker and sandbox metrics, then the gateway's HTTP and process metrics. " +
          'Needs a key allowed to read the cluster; answers 200 with taskforge_scheduler_up 0 when the scheduler is unreachable.',
        querystring: EmptyQuery,
        response: {
          200: {
            description: 'Prometheus text exposition format, version 0.0.4',
            content: { 'text/plain': { schema: Type.String() } },
          },
        },
      },
    },
    async (request, reply) => {
      const text = await metrics.render(control, request.log);
      return reply.type(metrics.contentType).send(text);
    },
  );
};
