/**
 * API key routes: create (the key itself is in this answer only), list (never a secret),
 * delete. Unrestricted admin keys only (access `keys`, access.ts).
 *
 * The keys themselves are the scheduler's: it makes, stores and forgets them; this gateway only
 * drops its own cached answer for a key deleted through it (others notice within 1 s).
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { isKeyId } from '../../common/api-keys.js';
import { TaskForgeError } from '../../common/errors.js';
import type { Authenticator } from '../authenticator.js';
import type { ControlClient } from '../control-client.js';
import { CreateKeyBody, EmptyQuery, KeyIdParams } from '../schemas.js';

export interface KeyRoutesOptions {
  control: ControlClient;
  auth: Authenticator | 'off';
}

export const keyRoutes: FastifyPluginAsyncTypebox<KeyRoutesOptions> = async (app, { control, auth }) => {
  app.post('/v1/keys', { config: { access: 'keys' }, schema: { body: CreateKeyBody, querystring: EmptyQuery } }, async (request, reply) => {
    const { name, scopes, functions } = request.body;
    const created = await control.createKey({ name, scopes, functions: functions ?? null });
    return reply.code(201).header('cache-control', 'no-store').send(created);
  });

  app.get('/v1/keys', { config: { access: 'keys' }, schema: { querystring: EmptyQuery } }, async () => ({ keys: await control.listKeys() }));

  app.delete('/v1/keys/:keyId', { config: { access: 'keys' }, schema: { params: KeyIdParams, querystring: EmptyQuery } }, async (request, reply) => {
    const { keyId } = request.params;
    if (!isKeyId(keyId)) {
      throw new TaskForgeError('INVALID_NAME', 'invalid key id: must be 12 characters [A-Za-z0-9]', {
        field: 'params.keyId',
        reason: 'pattern',
        id: String(keyId).slice(0, 100),
      });
    }
    await control.deleteKey(keyId);
    if (auth !== 'off') auth.forget(keyId);
    return reply.code(204).send();
  });
};
