/**
 * The gateway's own metrics (docs/API-PLATFORM.md "Metrics"): every HTTP request counted by route pattern,
 * method and status, with a duration histogram by route and method, plus the Node process
 * metrics of the gateway; and the whole exposition of a scrape: the scheduler's text (fetched
 * over the control connection), then these.
 *
 * `observe` runs in onResponse for every request, so it does no allocation in the steady state:
 * plain counts in nested maps keyed by the route's pattern (never the raw URL, so the number of
 * series is bounded by the routes, not by the names and ids clients send), written out as text
 * only when scraped.
 *
 * It must never make a scrape fail because the scheduler is away: then the scrape carries the
 * gateway's metrics and `taskforge_scheduler_up 0`.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { ControlClient } from './control-client.js';

/** seconds: an HTTP answer, from a cached read (~0.1 ms) to a long sync invoke or long poll. */
export const HTTP_DURATION_BUCKETS_SECONDS: readonly number[] = Object.freeze([
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300,
]);

/** The route label of a request that matched no route (a 404 before any handler). */
export const UNMATCHED_ROUTE = 'unmatched';

export const GATEWAY_METRICS_DEFAULTS = Object.freeze({
  /** ms a scrape waits for the scheduler's metrics (Prometheus' own scrape timeout is 10 s by default). */
  schedulerTimeoutMs: 3000,
});

/**
 * Node's process metrics belong to the process, not to one app: one registry for all the
 * gateways a process runs (tests run several), made on first use.
 */
let processRegistry: Registry | null = null;
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

/** One route and method: answers by status, and the duration histogram's raw counts. */
interface RouteStats {
  readonly route: string;
  readonly method: string;
  readonly statuses: Map<number, number>;
  /** Per bucket of HTTP_DURATION_BUCKETS_SECONDS, then +Inf: observations in that bucket alone. */
  readonly buckets: Float64Array;
  sum: number;
  count: number;
}

const BOUNDS = HTTP_DURATION_BUCKETS_SECONDS;
const REQUESTS = 'taskforge_http_requests_total';
const DURATION = 'taskforge_http_request_duration_seconds';

/** A label value in the text format: backslash, quote and newline escaped. */
const label = (v: string): string => v.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`));

export class GatewayMetrics {
  /** The gateway's prom-client metrics (scheduler reachability). */
  readonly registry = new Registry();
  private readonly schedulerUp: Gauge;
  /** route → method → stats. Plain numbers, not prom-client children: see observe. */
  private readonly routes = new Map<string, Map<string, RouteStats>>();
  private readonly process: Registry;

  constructor() {
    this.schedulerUp = new Gauge({
      name: 'taskforge_scheduler_up',
      help: "1 when this scrape got the scheduler's metrics, 0 when the scheduler did not answer.",
      registers: [this.registry],
    });
    this.process = processMetrics();
  }

  /**
   * Counts one answered request (onResponse). prom-client's labelled inc and observe hash and
   * validate their labels on every call (~120 ns and ~230 ns here); these are two map lookups
   * and a few additions (~30 ns with the histogram), and the text is made at scrape time instead.
   */
  observe(request: FastifyRequest, reply: FastifyReply): void {
    const route = request.routeOptions.url ?? UNMATCHED_ROUTE;
    const method = request.method;
    let byMethod = this.routes.get(route);
    if (!byMethod) this.routes.set(route, (byMethod = new Map<string, RouteStats>()));
    let s = byMethod.get(method);
    if (!s) byMethod.set(method, (s = { route, method, statuses: new Map(), buckets: new Float64Array(BOUNDS.length + 1), sum: 0, count: 0 }));
    const status = reply.statusCode;
    s.statuses.set(status, (s.statuses.get(status) ?? 0) + 1);
    const seconds = reply.elapsedTime / 1000;
    let b = 0;
    while (b < BOUNDS.length && seconds > BOUNDS[b]!) b++;
    s.buckets[b]! += 1;
    s.sum += seconds;
    s.count += 1;
  }

  /** The whole exposition of a scrape: the scheduler's metrics (when it answers), then the gateway's. */
  async render(control: ControlClient, log: FastifyRequest['log'], timeoutMs: number = GATEWAY_METRICS_DEFAULTS.schedulerTimeoutMs): Promise<string> {
    let scheduler = '';
    try {
      scheduler = await control.metrics(timeoutMs);
      this.schedulerUp.set(1);
    } catch (err) {
      log.warn({ err }, 'scheduler metrics unavailable');
      this.schedulerUp.set(0);
    }
    const parts = [scheduler, this.httpText(), await this.registry.metrics(), await this.process.metrics()];
    return `${parts
      .map((p) => p.trimEnd())
      .filter((p) => p !== '')
      .join('\n\n')}\n`;
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The HTTP counter and histogram in the text format (both families always declared). */
  private httpText(): string {
    const requests = [`# HELP ${REQUESTS} HTTP requests the gateway answered, by route pattern, method and status.`, `# TYPE ${REQUESTS} counter`];
    const duration = [
      `# HELP ${DURATION} Time from receiving an HTTP request to finishing its answer, by route pattern and method.`,
      `# TYPE ${DURATION} histogram`,
    ];
    for (const byMethod of this.routes.values())
      for (const s of byMethod.values()) {
        const labels = `route="${label(s.route)}",method="${label(s.method)}"`;
        for (const [status, n] of s.statuses) requests.push(`${REQUESTS}{${labels},status="${status}"} ${n}`);
        let cumulative = 0;
        for (let b = 0; b <= BOUNDS.length; b++) {
          cumulative += s.buckets[b]!;
          duration.push(`${DURATION}_bucket{${labels},le="${b < BOUNDS.length ? BOUNDS[b]! : '+Inf'}"} ${cumulative}`);
        }
        duration.push(`${DURATION}_sum{${labels}} ${s.sum}`, `${DURATION}_count{${labels}} ${s.count}`);
      }
    return `${requests.join('\n')}\n\n${duration.join('\n')}`;
  }
}
