/**
 * The gateway's HTTP application: Fastify with TypeBox schemas, the API's error shape, and the
 * routes of docs/API.md, talking to the scheduler only through a ControlClient.
 *
 * `buildApp` never listens and never opens a connection (main.ts does both), so route tests
 * run it with `app.inject()` and a fake client. It must never answer in Fastify's own error
 * shape, and nothing unchecked (a name, an id, a spec) may reach the control client.
 *
 * Auth is on unless `auth: 'off'` is passed: every route that does not declare `access: 'open'`
 * needs a key (auth.ts), checked before anything else about the request, its body included.
 */
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { TaskForgeError } from '../common/errors.js';
import { markHop } from '../common/diagnostics.js';
import { silentLogger, type Logger } from '../common/logger.js';
import { assertExecutionId, assertFunctionName, assertTopicName } from '../common/names.js';
import { LIMITS } from '../common/records.js';
import { OptionsError } from '../common/options-error.js';
import { authenticateRequest, checkPathFunction } from './auth.js';
import { CachingAuthenticator, type Authenticator } from './authenticator.js';
import type { ControlClient } from './control-client.js';
import { atField, clientErrorHandler, frameworkErrorHandler, installErrorHandlers } from './errors.js';
import { parseJsonBody, useJsonParser } from './json-body.js';
import { GatewayMetrics } from './metrics.js';
import { clusterRoutes } from './routes/cluster.js';
import { eventRoutes } from './routes/events.js';
import { deadLetterRoutes } from './routes/dead-letters.js';
import { deliveryRoutes } from './routes/deliveries.js';
import { executionRoutes } from './routes/executions.js';
import { functionRoutes } from './routes/functions.js';
import { invokeRoutes } from './routes/invoke.js';
import { invokeBatchRoutes } from './routes/invoke-batch.js';
import { topicRoutes } from './routes/topics.js';
import { keyRoutes } from './routes/keys.js';
import { lambdaRoutes } from './routes/lambda.js';
import { workflowRoutes } from './routes/workflows.js';
import { metricsRoutes } from './routes/metrics.js';
import { installApiDescription } from './openapi.js';
import { installRateLimit } from './rate-limit.js';
import { ROUTER_OPTIONS, installRouteTable } from './route-table.js';
import { SSE_DEFAULTS, type SseOptions, type SseStream } from './sse.js';
import { typeboxValidatorCompiler } from './validation.js';
import { installWeb, type WebOptions } from './web.js';

export interface GatewayAppOptions {
  control: ControlClient;
  /** Default: silent. */
  logger?: Logger;
  /** Bytes of an invoke body (the event). */
  invokeBodyLimit?: number;
  /** Bytes of a function create/update body; the code inside is limited separately (413). */
  functionBodyLimit?: number;
  /** ms /readyz waits for the scheduler's ping. */
  readyTimeoutMs?: number;
  /**
   * How keys are checked. Default: with the scheduler (control.authenticate), answers cached 1 s.
   * 'off' (`--no-auth`): no key needed, every request is an admin — main.ts allows it on loopback only.
   */
  auth?: Authenticator | 'off';
  /** Requests per second per key; 0 = no limit. */
  rateLimit?: number;
  /** Server-sent event streams (/v1/events, logs?follow=1): ping interval, slow-client bound. */
  sse?: Partial<SseOptions>;
  /** The dashboard's built files (web.ts); false: no dashboard. Default: dist/web/. */
  web?: WebOptions | false;
}

export const GATEWAY_APP_DEFAULTS = Object.freeze({
  /** bytes: 1 MiB, the API's invoke input limit. */
  invokeBodyLimit: LIMITS.inputBytes,
  /**
   * bytes: 6 MiB. Code may be 5 MiB; the rest is room for JSON escaping (quotes, newlines) and
   * the other settings, so any realistic 5 MiB module fits and the 413 names the code itself.
   */
  functionBodyLimit: 6 * 1024 * 1024,
  /** ms: /readyz answers 503 when the scheduler is slower than this. */
  readyTimeoutMs: 1000,
  /** requests per second per key (docs/API.md). */
  rateLimit: 2000,
});

export interface ResolvedGatewayAppOptions {
  readonly control: ControlClient;
  readonly logger: Logger;
  readonly invokeBodyLimit: number;
  readonly functionBodyLimit: number;
  readonly readyTimeoutMs: number;
  readonly auth: Authenticator | 'off';
  readonly rateLimit: number;
  readonly sse: SseOptions;
}

function positiveInt(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new OptionsError(name, `gateway option ${name} must be a positive integer, got ${String(value)}`);
  }
  return value;
}

/** Fills defaults and checks every option once, at start, with a message naming the option. */
export function resolveGatewayOptions(opts: GatewayAppOptions): ResolvedGatewayAppOptions {
  if (!opts || typeof opts.control?.invoke !== 'function') {
    throw new OptionsError('control', 'gateway option control must be a ControlClient');
  }
  return Object.freeze({
    control: opts.control,
    logger: opts.logger ?? silentLogger,
    invokeBodyLimit: positiveInt('invokeBodyLimit', opts.invokeBodyLimit ?? GATEWAY_APP_DEFAULTS.invokeBodyLimit),
    functionBodyLimit: positiveInt('functionBodyLimit', opts.functionBodyLimit ?? GATEWAY_APP_DEFAULTS.functionBodyLimit),
    readyTimeoutMs: positiveInt('readyTimeoutMs', opts.readyTimeoutMs ?? GATEWAY_APP_DEFAULTS.readyTimeoutMs),
    auth: resolveAuth(opts),
    rateLimit: nonNegativeInt('rateLimit', opts.rateLimit ?? GATEWAY_APP_DEFAULTS.rateLimit),
    sse: Object.freeze({
      pingMs: positiveInt('sse.pingMs', opts.sse?.pingMs ?? SSE_DEFAULTS.pingMs),
      maxBufferedBytes: positiveInt('sse.maxBufferedBytes', opts.sse?.maxBufferedBytes ?? SSE_DEFAULTS.maxBufferedBytes),
    }),
  });
}

function nonNegativeInt(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new OptionsError(name, `gateway option ${name} must be a non-negative integer, got ${String(value)}`);
  }
  return value;
}

function resolveAuth(opts: GatewayAppOptions): Authenticator | 'off' {
  const auth = opts.auth;
  if (auth === undefined) return new CachingAuthenticator((key) => opts.control.authenticate(key));
  if (auth === 'off' || (typeof auth === 'object' && typeof auth.authenticate === 'function' && typeof auth.forget === 'function')) return auth;
  throw new OptionsError('auth', "gateway option auth must be an Authenticator or 'off'");
}

/**
 * Names and ids in paths answer INVALID_NAME before anything else happens to the request
 * (before its body is even read), whatever route they belong to: one guard, not one per route.
 */
async function guardPathParams(request: FastifyRequest): Promise<void> {
  const params = request.params as Record<string, unknown> | undefined;
  if (!params) return;
  if ('name' in params) atField('params.name', () => assertFunctionName(params.name));
  if ('id' in params) atField('params.id', () => assertExecutionId(params.id));
  if ('topic' in params) atField('params.topic', () => assertTopicName(params.topic));
}

export function buildApp(opts: GatewayAppOptions): FastifyInstance {
  const o = resolveGatewayOptions(opts);
  const app = Fastify({
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- it sets the instance's logger type parameter
    loggerInstance: o.logger as FastifyBaseLogger,
    // Per-request info lines would dominate the log at invoke rates; completion is logged at debug.
    logController: new LogController({ disableRequestLogging: true }),
    requestIdHeader: 'x-request-id',
    bodyLimit: o.invokeBodyLimit,
    // Fastify's built-in 503-while-closing answers in its own shape; app.ts answers instead.
    return503OnClosing: false,
    frameworkErrors: frameworkErrorHandler,
    clientErrorHandler,
    routerOptions: { ...ROUTER_OPTIONS },
  });

  // First, so it sees every route, whoever registers it and wherever.
  const routes = installRouteTable(app);
  app.setValidatorCompiler(typeboxValidatorCompiler);
  // Response schemas describe answers in /openapi.json; they never reshape one (no field of a
  // record is ever dropped for want of a schema entry), so every answer is plain JSON.stringify.
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  installErrorHandlers(app, routes);
  useJsonParser(app, parseJsonBody);
  app.decorateRequest('principal', null);
  const metrics = new GatewayMetrics();

  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  // Before the key check: the page is open; it sends a key with each API call it makes.
  if (opts.web !== false) installWeb(app, opts.web);
  app.addHook('onRequest', async (request, reply) => {
    markHop('G0 gateway onRequest');
    if (closing) {
      reply.header('connection', 'close');
      throw new TaskForgeError('SCHEDULER_UNAVAILABLE', 'the gateway is shutting down', { reason: 'shutting_down' });
    }
    // Who is asking comes first: an unauthenticated client learns nothing, not even that a name is bad.
    await authenticateRequest(request, reply, o.auth);
    await guardPathParams(request);
    checkPathFunction(request);
  });
  // A response finished while closing must end its keep-alive connection, or close() would
  // wait out the idle timeout of every client that had a request in flight.
  app.addHook('onSend', async (_request, reply, payload) => {
    if (closing) reply.header('connection', 'close');
    return payload;
  });
  app.addHook('onResponse', async (request, reply) => {
    markHop('G4 gateway onResponse');
    metrics.observe(request, reply);
    request.log.debug(
      { reqId: request.id, method: request.method, url: request.url, statusCode: reply.statusCode, ms: Math.round(reply.elapsedTime) },
      'request completed',
    );
  });

  // Before the routes: it attaches to each route as the route is added.
  if (o.auth !== 'off') installRateLimit(app, o.rateLimit);
  // Before the routes too: /openapi.json and /docs, collected as routes are added (openapi.ts).
  installApiDescription(app);

  const { control } = o;
  const typed = app.withTypeProvider<TypeBoxTypeProvider>();
  void typed.register(functionRoutes, { control, bodyLimit: o.functionBodyLimit });
  void typed.register(invokeRoutes, { control, bodyLimit: o.invokeBodyLimit });
  void typed.register(invokeBatchRoutes, { control, eventLimit: o.invokeBodyLimit });
  void typed.register(topicRoutes, { control, bodyLimit: o.invokeBodyLimit });
  void typed.register(lambdaRoutes, { control, bodyLimit: o.invokeBodyLimit });
  // Live streams end when the gateway closes (before it waits for connections to finish).
  const streams = new Set<SseStream>();
  app.addHook('preClose', async () => {
    for (const s of [...streams]) s.close();
  });
  void typed.register(executionRoutes, { control, sse: o.sse, open: streams });
  void typed.register(deadLetterRoutes, { control });
  void typed.register(deliveryRoutes, { control });
  void typed.register(eventRoutes, { control, sse: o.sse, open: streams });
  void typed.register(clusterRoutes, { control, readyTimeoutMs: o.readyTimeoutMs });
  void typed.register(keyRoutes, { control, auth: o.auth });
  void typed.register(metricsRoutes, { control, metrics });
  void typed.register(workflowRoutes, { control });
  return app;
}
