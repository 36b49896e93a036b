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
import { CreatedApiKey, KeyList, NoContent, errorResponses } from '../response-schemas.js';

export interface KeyRoutesOptions {
  control: ControlClient;
  auth: Authenticator | 'off';
}

export const keyRoutes: FastifyPluginAsyncTypebox<KeyRoutesOptions> = async (app, { control, auth }) => {
  const createSchema = {
    description: 'Creates an API key; the key itself is in this answer only.',
    body: CreateKeyBody,
    querystring: EmptyQuery,
    response: { 201: CreatedApiKey, ...errorResponses('STORAGE_UNAVAILABLE') },
  };
  app.post('/v1/keys', { config: { access: 'keys' }, schema: createSchema }, async (request, reply) => {
    const { name, scopes, functions } = request.body;
    const created = await control.createKey({ name, scopes, functions: functions ?? null });
    return reply.code(201).header('cache-control', 'no-store').send(created);
  });

  const listSchema = { description: 'Every API key, without secrets.', querystring: EmptyQuery, response: { 200: KeyList } };
  app.get('/v1/keys', { config: { access: 'keys' }, schema: listSchema }, async () => ({ keys: await control.listKeys() }));

  const deleteSchema = {
    description: 'Deletes an API key (other gateways stop accepting it within 1 s).',
    params: KeyIdParams,
    querystring: EmptyQuery,
    response: { 204: NoContent, ...errorResponses('NOT_FOUND', 'STORAGE_UNAVAILABLE') },
  };
  app.delete('/v1/keys/:keyId', { config: { access: 'keys' }, schema: deleteSchema }, async (request, reply) => {
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
