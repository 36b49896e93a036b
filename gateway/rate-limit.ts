/**
 * The per-key rate limit (docs/API.md: default 2,000 requests/s): @fastify/rate-limit, keyed by
 * the id of the request's checked key, answering 429 RATE_LIMITED in the API's error shape with
 * `retry-after`. It runs after authentication (its hook is route-level, the auth hook app-level),
 * so the key id is verified: nobody can spend another key's budget by sending its id. Requests
 * without a key (the open routes, or every request with auth off) are not limited here.
 *
 * Must be registered before the routes: it attaches itself to each route as it is added.
 */
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance } from 'fastify';
import { TaskForgeError } from '../common/errors.js';
import { NO_AUTH_PRINCIPAL } from './auth.js';

/** ms: the window the limit counts in. */
export const RATE_LIMIT_WINDOW_MS = 1000;

export function installRateLimit(app: FastifyInstance, perSecond: number): void {
  if (perSecond === 0) return;
  void app.register(rateLimit, {
    global: true,
    hook: 'onRequest',
    max: perSecond,
    timeWindow: RATE_LIMIT_WINDOW_MS,
    keyGenerator: (request) => request.principal?.id ?? '',
    allowList: (request) => request.principal === null || request.principal === NO_AUTH_PRINCIPAL,
    errorResponseBuilder: (_request, context) =>
      new TaskForgeError('RATE_LIMITED', `this API key is over its rate limit of ${context.max} requests per second`, {
        reason: 'rate_limited',
        limit: context.max,
        retryAfterSeconds: Math.max(1, Math.ceil(context.ttl / 1000)),
      }),
  });
}
