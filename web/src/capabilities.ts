/**
 * What the signed-in key may do, found by asking the gateway: the API has no "who am I" route, so
 * each capability is one request that does nothing when allowed. A key is checked before anything
 * else about a request, so a refused scope answers 403 `reason: scope`, and an allowed one gets on to
 * an answer that changes nothing (a 415 for a body of the wrong type, a 404 for an execution id no
 * execution can have). 401 on the first probe: the key is not valid.
 */
import { ApiError, type Api } from './api.js';

export interface Capabilities {
  readFunctions: boolean;
  deploy: boolean;
  invoke: boolean;
  /** Retry a finished execution (the invoke scope, asked on its own route). */
  retry: boolean;
  readExecutions: boolean;
  /** Workers, stats, metrics: keys not limited to some functions. */
  cluster: boolean;
  keys: boolean;
}

export const NO_CAPABILITIES: Capabilities = Object.freeze({
  readFunctions: false,
  deploy: false,
  invoke: false,
  retry: false,
  readExecutions: false,
  cluster: false,
  keys: false,
});

/** Too short to be a generated id (`ex_` + 21 characters), so no execution can have it. */
export const PROBE_EXECUTION = 'ex_dashboardprobe';
export const PROBE_FUNCTION = 'dashboard-probe';

/** true unless the gateway refused the scope; a 401 is thrown (the key is not valid). */
async function allowed(p: Promise<unknown>): Promise<boolean> {
  try {
    await p;
    return true;
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    if (err.status === 401 || err.status === 0 || err.status >= 500) throw err;
    return !(err.status === 403 && err.details.reason === 'scope');
  }
}

export async function probeCapabilities(api: Api): Promise<Capabilities> {
  // One probe first: an invalid key or an unreachable gateway is one clear error, not six.
  const readFunctions = await allowed(api.get('/v1/functions'));
  const text = { type: 'text/plain', text: 'probe' };
  const [deploy, invoke, retry, readExecutions, cluster, keys] = await Promise.all([
    allowed(api.request('PUT', `/v1/functions/${PROBE_FUNCTION}`, { rawBody: text })),
    allowed(api.request('POST', `/v1/executions/${PROBE_EXECUTION}/cancel`, { rawBody: text })),
    allowed(api.request('POST', `/v1/executions/${PROBE_EXECUTION}/retry`, { rawBody: text })),
    allowed(api.get('/v1/executions?limit=1')),
    allowed(api.get('/v1/stats')),
    allowed(api.get('/v1/keys')),
  ]);
  // A key limited to some functions gets 403 `reason: function` on the probe name: its scope allows it.
  return { readFunctions, deploy, invoke, retry, readExecutions, cluster, keys };
}
