/**
 * Runs a gateway: connects a gRPC ControlClient to the scheduler, builds the app and listens.
 *
 * The process wiring (flags, signals) is the CLI's; this module only starts and stops. `close()`
 * is idempotent and drains: stop accepting, let in-flight requests finish (Fastify's close),
 * then drop the scheduler channel — in that order, so no answered request loses its client.
 */
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { createLogger, type Logger } from '../common/logger.js';
import { isLoopbackHost, noAuthRefusal } from '../common/loopback.js';
import { OptionsError } from '../common/options-error.js';
import { parseSchedulerList } from '../common/scheduler-list.js';
import { buildApp, type GatewayAppOptions } from './app.js';
import { createGrpcControlClient, type GrpcControlClientOptions } from './scheduler-client.js';
import { createFailoverControlClient } from './scheduler-failover.js';

export interface StartGatewayOptions {
  /** 0 = an ephemeral port (tests). */
  port?: number;
  host?: string;
  /**
   * `host:port[,host:port...]` of the schedulers' gRPC servers: calls go to the one that answers,
   * and move to the next when it goes away (scheduler-failover.ts).
   */
  scheduler?: string;
  logger?: Logger;
  /** Passed to buildApp (body limits, readiness timeout, auth, rate limit). */
  app?: Omit<GatewayAppOptions, 'control' | 'logger'>;
  /** Serve without API keys (`--no-auth`); refused unless `host` is loopback only. */
  noAuth?: boolean;
  /** Passed to the gRPC control client (deadlines, channel options). */
  client?: GrpcControlClientOptions;
}

export const GATEWAY_DEFAULTS = Object.freeze({
  port: 8080,
  host: '127.0.0.1',
  scheduler: '127.0.0.1:50051',
});

/** startGateway refused `noAuth` on an address other machines can reach. */
export class NoAuthRefusedError extends Error {
  override name = 'NoAuthRefusedError';
}

export interface RunningGateway {
  app: FastifyInstance;
  /** The port actually bound (useful with port 0). */
  port: number;
  close(): Promise<void>;
}

export async function startGateway(opts: StartGatewayOptions = {}): Promise<RunningGateway> {
  const port = opts.port ?? GATEWAY_DEFAULTS.port;
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new OptionsError('port', `gateway port must be 0…65535, got ${String(port)}`);
  const host = opts.host ?? GATEWAY_DEFAULTS.host;
  const schedulers = parseSchedulerList(opts.scheduler ?? GATEWAY_DEFAULTS.scheduler);
  const logger = opts.logger ?? createLogger({ component: 'gateway' });
  const noAuth = opts.noAuth === true || opts.app?.auth === 'off';
  // Without keys anyone who can connect is an admin: only this machine may connect, then.
  if (noAuth && !isLoopbackHost(host)) throw new NoAuthRefusedError(noAuthRefusal(host));
  if (noAuth) logger.warn({ host }, 'API keys are off (--no-auth): every request on this loopback address acts as an admin');

  const control = createFailoverControlClient(schedulers, (address) => createGrpcControlClient(address, { logger, ...opts.client }), logger);
  const app = buildApp({ ...opts.app, ...(noAuth && { auth: 'off' as const }), control, logger });
  try {
    await app.listen({ port, host });
  } catch (err) {
    // Nothing else holds these yet: release them before reporting the failure.
    await app.close().catch(() => undefined);
    control.close();
    throw err;
  }
  const bound = (app.server.address() as AddressInfo).port;

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      // Each step in its own try: a failed app close must not leave the channel open.
      try {
        await app.close();
      } catch (err) {
        logger.error({ err }, 'gateway http close failed');
      }
      try {
        control.close();
      } catch (err) {
        logger.error({ err }, 'gateway control client close failed');
      }
    })());

  return { app, port: bound, close };
}
