/**
 * Cluster routes: workers, stats, and the two probes.
 *
 * /healthz says only that this process serves HTTP: it must never call the scheduler, or a
 * scheduler outage would get every gateway restarted by its supervisor. /readyz is the one
 * that asks the scheduler, with a short deadline, so a load balancer can route around a
 * gateway that cannot reach it.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { TaskForgeError } from '../../common/errors.js';
import type { ControlClient } from '../control-client.js';
import { EmptyQuery, ScaleWorkersBody } from '../schemas.js';
import { Health, PoolInfo, PoolList, Ready, Stats, WorkerList, errorResponses } from '../response-schemas.js';

export interface ClusterRoutesOptions {
  control: ControlClient;
  /** ms /readyz waits for the scheduler's answer. */
  readyTimeoutMs: number;
}

export const clusterRoutes: FastifyPluginAsyncTypebox<ClusterRoutesOptions> = async (app, { control, readyTimeoutMs }) => {
  const workersSchema = { description: 'The workers the scheduler knows.', querystring: EmptyQuery, response: { 200: WorkerList } };
  app.get('/v1/workers', { config: { access: 'cluster:read' }, schema: workersSchema }, async () => ({ workers: await control.listWorkers() }));

  const poolsSchema = { description: 'The worker pools (taskforge pool) connected to the scheduler.', querystring: EmptyQuery, response: { 200: PoolList } };
  app.get('/v1/workers/pools', { config: { access: 'cluster:read' }, schema: poolsSchema }, async () => ({ pools: await control.listPools() }));

  const scaleSchema = {
    description: 'Sets how many workers a pool runs; answers once the pool has taken the new target (workers start or drain after).',
    body: ScaleWorkersBody,
    querystring: EmptyQuery,
    response: { 200: PoolInfo, ...errorResponses('POOL_NOT_FOUND', 'POOL_NOT_CONNECTED', 'POOL_AUTOSCALED') },
  };
  app.post('/v1/workers/scale', { config: { access: 'cluster:scale' }, schema: scaleSchema }, async (request) =>
    control.scaleWorkers(request.body.pool ?? '', request.body.workers),
  );

  const statsSchema = { description: 'Execution counts by status, queue depth, workers by status.', querystring: EmptyQuery, response: { 200: Stats } };
  app.get('/v1/stats', { config: { access: 'cluster:read' }, schema: statsSchema }, async () => control.stats());

  // The probes are open: a load balancer or supervisor holds no API key.
  const healthSchema = { description: 'The gateway process is alive (never asks the scheduler).', response: { 200: Health } };
  app.get('/healthz', { config: { access: 'open' }, schema: healthSchema }, async () => ({ status: 'ok' as const }));

  const readySchema = { description: 'The scheduler answers this gateway.', response: { 200: Ready, ...errorResponses('SCHEDULER_UNAVAILABLE') } };
  app.get('/readyz', { config: { access: 'open' }, schema: readySchema }, async (request) => {
    try {
      await control.ping(readyTimeoutMs);
    } catch (err) {
      request.log.warn({ err }, 'readiness check failed');
      // Whatever went wrong, the answer is "not ready because of the scheduler".
      throw err instanceof TaskForgeError && err.code === 'SCHEDULER_UNAVAILABLE'
        ? err
        : new TaskForgeError('SCHEDULER_UNAVAILABLE', 'the scheduler is not reachable');
    }
    return { status: 'ready' as const };
  });
};
