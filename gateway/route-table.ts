/**
 * Every route the gateway registers, seen through one onRoute hook installed before any route.
 *
 * Two things are answered from it: which methods a concrete path has (405 METHOD_NOT_ALLOWED
 * and its `allow` header, errors.ts), and the list of routes the OpenAPI coverage test compares
 * with the document (openapi.test.ts). The table mirrors Fastify's router with the same options
 * (trailing slash ignored, same parameter length bound), so "this path exists" means what it
 * means to Fastify. It only records: it never changes a route.
 */
import FindMyWay, { type HTTPMethod } from 'find-my-way';
import type { FastifyInstance, FastifySchema, RouteOptions } from 'fastify';

/** Fastify's router options, shared with buildApp so the mirror cannot match differently. */
export const ROUTER_OPTIONS = Object.freeze({
  /** `/v1/functions/` is `/v1/functions`. */
  ignoreTrailingSlash: true,
  /** characters: a topic name's bound (the longest name); a longer path parameter is answered INVALID_NAME (errors.ts). */
  maxParamLength: 128,
});

export interface RouteEntry {
  readonly method: string;
  /** As registered, with Fastify's `:param` syntax and the plugin prefix applied. */
  readonly url: string;
  readonly schema: FastifySchema | undefined;
}

export class RouteTable {
  readonly #router = FindMyWay({ ...ROUTER_OPTIONS });
  readonly #methods = new Set<HTTPMethod>();
  readonly #entries: RouteEntry[] = [];

  add(route: RouteOptions): void {
    const methods = (Array.isArray(route.method) ? route.method : [route.method]) as HTTPMethod[];
    for (const method of methods) {
      this.#entries.push({ method, url: route.url, schema: route.schema });
      if (this.#router.hasRoute(method, route.url)) continue;
      this.#router.on(method, route.url, () => undefined);
      this.#methods.add(method);
    }
  }

  /** Every route registered so far, HEAD twins and plugin routes included. */
  get entries(): readonly RouteEntry[] {
    return this.#entries;
  }

  /** The methods `path` (no query string) has a route for, sorted; empty for an unknown path. */
  methodsOf(path: string): string[] {
    const found: string[] = [];
    for (const method of this.#methods) if (this.#router.find(method, path) !== null) found.push(method);
    return found.sort();
  }
}

const tables = new WeakMap<FastifyInstance, RouteTable>();

/** Installs the table's hook on `app`; call it before registering any route. */
export function installRouteTable(app: FastifyInstance): RouteTable {
  const table = new RouteTable();
  app.addHook('onRoute', (route) => table.add(route));
  tables.set(app, table);
  return table;
}

/** The table of an app built by buildApp. */
export function routeTableOf(app: FastifyInstance): RouteTable {
  const table = tables.get(app);
  if (!table) throw new Error('this app has no route table (installRouteTable was not called)');
  return table;
}
