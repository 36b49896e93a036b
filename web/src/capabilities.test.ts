import { describe, expect, it } from 'vitest';
import { Api } from './api.js';
import { PROBE_EXECUTION, probeCapabilities } from './capabilities.js';
import { errorReply, fakeFetch, jsonReply, type SeenRequest } from './testing/fakes.js';

const KEY = `tfk_AbCdEf123456_${'s'.repeat(40)}`;
const scope = (): Response => errorReply(403, 'FORBIDDEN', { reason: 'scope', scopes: ['admin'] });

/** The gateway as a key with these scopes sees it (docs/API.md's scope table). */
function gatewayFor(scopes: string[], functions: string[] | null = null) {
  const has = (...s: string[]): boolean => scopes.includes('admin') || s.some((x) => scopes.includes(x));
  return fakeFetch((req: SeenRequest) => {
    const path = req.url.split('?')[0]!;
    if (path === '/v1/functions') return has('deploy', 'invoke', 'read') ? jsonReply(200, { functions: [] }) : scope();
    if (path.startsWith('/v1/functions/') && req.method === 'PUT') {
      if (!has('deploy')) return scope();
      return functions ? errorReply(403, 'FORBIDDEN', { reason: 'function', field: 'params.name' }) : errorReply(415, 'UNSUPPORTED_MEDIA_TYPE');
    }
    if (path === `/v1/executions/${PROBE_EXECUTION}/cancel`) return has('invoke') ? errorReply(404, 'EXECUTION_NOT_FOUND') : scope();
    if (path === `/v1/executions/${PROBE_EXECUTION}/retry`) return has('invoke') ? errorReply(404, 'EXECUTION_NOT_FOUND') : scope();
    if (path === '/v1/executions') return has('deploy', 'invoke', 'read') ? jsonReply(200, { executions: [], nextCursor: null }) : scope();
    if (path === '/v1/stats') return has('deploy', 'read') && functions === null ? jsonReply(200, {}) : scope();
    if (path === '/v1/keys') return scopes.includes('admin') && functions === null ? jsonReply(200, { keys: [] }) : scope();
    return errorReply(404, 'NOT_FOUND');
  });
}

describe('probeCapabilities', () => {
  it.each([
    [['admin'], null, { readFunctions: true, deploy: true, invoke: true, retry: true, readExecutions: true, cluster: true, keys: true }],
    [['deploy'], null, { readFunctions: true, deploy: true, invoke: false, retry: false, readExecutions: true, cluster: true, keys: false }],
    [['invoke'], null, { readFunctions: true, deploy: false, invoke: true, retry: true, readExecutions: true, cluster: false, keys: false }],
    [['read'], null, { readFunctions: true, deploy: false, invoke: false, retry: false, readExecutions: true, cluster: true, keys: false }],
    [['deploy'], ['a'], { readFunctions: true, deploy: true, invoke: false, retry: false, readExecutions: true, cluster: false, keys: false }],
  ])('%j limited to %j may %j', async (scopes, functions, want) => {
    expect(await probeCapabilities(new Api(KEY, gatewayFor(scopes, functions)))).toEqual(want);
  });

  it('changes nothing: every probe is a read, or a request refused before it does anything', async () => {
    const f = gatewayFor(['admin']);
    await probeCapabilities(new Api(KEY, f));
    for (const r of f.seen.filter((s) => s.method !== 'GET')) expect(r.headers['content-type']).toBe('text/plain');
  });

  it('throws the 401 of a key the gateway does not know, after one probe', async () => {
    const f = fakeFetch(() => errorReply(401, 'UNAUTHORIZED'));
    await expect(probeCapabilities(new Api(KEY, f))).rejects.toMatchObject({ status: 401 });
    expect(f.seen).toHaveLength(1);
  });

  it('throws when the gateway is down or failing, instead of showing no pages', async () => {
    await expect(
      probeCapabilities(
        new Api(
          KEY,
          fakeFetch(() => errorReply(503, 'SCHEDULER_UNAVAILABLE')),
        ),
      ),
    ).rejects.toMatchObject({ status: 503 });
    await expect(
      probeCapabilities(
        new Api(
          KEY,
          fakeFetch(() => Promise.reject(new TypeError('x'))),
        ),
      ),
    ).rejects.toMatchObject({ code: 'NETWORK' });
  });
});
