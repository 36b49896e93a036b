/**
 * Client routes: a path pattern (`/functions/:name`) per page, matched against the location's
 * path. Pure, so the table's behaviour is tested without a browser.
 */
import type { Capabilities } from './capabilities.js';

export interface RouteSpec<P = unknown> {
  /** `/executions/:id`: `:name` segments become params (URL-decoded). */
  pattern: string;
  title: string;
  /** The label in the navigation; absent for detail pages. */
  nav?: string;
  /** Whether the key may see this page at all. */
  allowed: (c: Capabilities) => boolean;
  page: P;
}

export type Params = Record<string, string>;

/** The params of `path` under `pattern`, or null when it does not match. */
export function matchPattern(pattern: string, path: string): Params | null {
  const want = pattern.split('/').filter(Boolean);
  const got = path.split('/').filter(Boolean);
  if (want.length !== got.length) return null;
  const params: Params = {};
  for (let i = 0; i < want.length; i++) {
    const w = want[i]!;
    const g = got[i]!;
    if (w.startsWith(':')) {
      try {
        params[w.slice(1)] = decodeURIComponent(g);
      } catch {
        return null;
      }
    } else if (w !== g) return null;
  }
  return params;
}

export type Resolved<P> = { kind: 'page'; route: RouteSpec<P>; params: Params } | { kind: 'forbidden'; route: RouteSpec<P> } | { kind: 'not_found' };

/** The page for `path`: the first matching route, refused when the key may not see it. */
export function resolve<P>(routes: readonly RouteSpec<P>[], path: string, caps: Capabilities): Resolved<P> {
  for (const route of routes) {
    const params = matchPattern(route.pattern, path);
    if (!params) continue;
    return route.allowed(caps) ? { kind: 'page', route, params } : { kind: 'forbidden', route };
  }
  return { kind: 'not_found' };
}

/** The navigation: pages with a label that the key may see. */
export const navFor = <P>(routes: readonly RouteSpec<P>[], caps: Capabilities): RouteSpec<P>[] => routes.filter((r) => r.nav !== undefined && r.allowed(caps));

/** The first page a key lands on after signing in (`/` is the first navigable page it may see). */
export function homePath<P>(routes: readonly RouteSpec<P>[], caps: Capabilities): string | null {
  return navFor(routes, caps)[0]?.pattern ?? null;
}

/** A path with its params filled in, each URL-encoded. */
export function pathTo(pattern: string, params: Params = {}): string {
  return pattern.replace(/:([A-Za-z]+)/g, (_, name: string) => encodeURIComponent(params[name] ?? ''));
}
