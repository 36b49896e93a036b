/**
 * Function routes: register (POST), create-or-update (PUT), read, list, versions, delete.
 *
 * The gateway checks the form of a spec (schema, code size, env size, name) and hands it to
 * the scheduler unchanged: defaults, versioning and the code check (INVALID_CODE) are the
 * scheduler's, so a spec sent over gRPC by any other client gets the same treatment.
 * Nothing here may reach the control client before the name and the spec have been checked.
 *
 * Keys: writes need `functions:write`, reads `functions:read` (access.ts). A key limited to some
 * functions sees only those in the list; `env` values go only to admin and deploy keys, the
 * others get the names with null values.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import type { Principal } from '../../common/api-keys.js';
import { TaskForgeError } from '../../common/errors.js';
import { assertFunctionName } from '../../common/names.js';
import { LIMITS, type FunctionInfo } from '../../common/records.js';
import { mayUseFunction, maySeeEnv } from '../access.js';
import { forbidden, principalOf } from '../auth.js';
import { atField } from '../errors.js';
import type { ControlClient } from '../control-client.js';
import { CreateFunctionBody, EmptyQuery, FunctionSpecBody, GetFunctionQuery, NameParams } from '../schemas.js';
import { validationError } from '../validation.js';
import { FunctionInfo as FunctionInfoSchema, FunctionList, NoContent, VersionList, errorResponses } from '../response-schemas.js';

export interface FunctionRoutesOptions {
  control: ControlClient;
  /** Bytes of a create/update body. */
  bodyLimit: number;
}

const bodyField = (body: unknown, key: string): unknown =>
  body !== null && typeof body === 'object' && !Array.isArray(body) ? (body as Record<string, unknown>)[key] : undefined;

/**
 * 413 for code over the limit, before the schema runs: the size is the one thing the client
 * must change, so it wins over any other complaint about the same body. Bytes, not characters:
 * the limit protects disk and memory.
 */
async function rejectOversizedCode(request: FastifyRequest): Promise<void> {
  const code = bodyField(request.body, 'code');
  if (typeof code === 'string' && Buffer.byteLength(code, 'utf8') > LIMITS.codeBytes) {
    throw new TaskForgeError('PAYLOAD_TOO_LARGE', `code exceeds ${LIMITS.codeBytes} bytes`, {
      field: 'body.code',
      reason: 'too_large',
      limitBytes: LIMITS.codeBytes,
    });
  }
}

/**
 * POST carries the name in the body; its form is INVALID_NAME, like a name in a path, and a
 * function-limited key may name only its own, like in a path.
 */
async function checkBodyName(request: FastifyRequest): Promise<void> {
  const name = bodyField(request.body, 'name');
  if (typeof name !== 'string') return;
  atField('body.name', () => assertFunctionName(name));
  if (!mayUseFunction(principalOf(request), name)) throw forbidden({ reason: 'function', field: 'body.name' });
}

/** FunctionInfo as this key may see it: env values and the webhook secret only for the keys that can set them. */
function view(p: Principal, info: FunctionInfo): FunctionInfo | (Omit<FunctionInfo, 'env'> & { env: Record<string, null> }) {
  if (maySeeEnv(p)) return info;
  // The webhook secret, like env values, is for the keys that deploy (it signs what receivers trust).
  const { webhookSecret: _secret, ...rest } = info;
  return { ...rest, env: Object.fromEntries(Object.keys(info.env ?? {}).map((k) => [k, null])) };
}

/** The env total is not expressible in JSON Schema. Keys and values count in UTF-8 bytes. */
function checkEnvSize(env: Record<string, string> | undefined): void {
  if (!env) return;
  let bytes = 0;
  for (const [k, v] of Object.entries(env)) bytes += Buffer.byteLength(k, 'utf8') + Buffer.byteLength(v, 'utf8');
  if (bytes > LIMITS.envBytes) {
    throw validationError('body.env', 'too_large', `keys and values must total at most ${LIMITS.envBytes} bytes (got ${bytes})`, {
      limitBytes: LIMITS.envBytes,
    });
  }
}

const functionUrl = (name: string): string => `/v1/functions/${name}`;

export const functionRoutes: FastifyPluginAsyncTypebox<FunctionRoutesOptions> = async (app, { control, bodyLimit }) => {
  app.post(
    '/v1/functions',
    {
      bodyLimit,
      config: { access: 'functions:write' },
      schema: {
        description: 'Registers a function (create only).',
        body: CreateFunctionBody,
        querystring: EmptyQuery,
        response: { 200: FunctionInfoSchema, 201: FunctionInfoSchema, ...errorResponses('FUNCTION_EXISTS', 'INVALID_CODE') },
      },
      preValidation: [rejectOversizedCode, checkBodyName],
    },
    async (request, reply) => {
      const { name, ...spec } = request.body;
      checkEnvSize(spec.env);
      const { function: info, created } = await control.putFunction(name, spec, true);
      // createOnly either creates or fails with FUNCTION_EXISTS; `created` is still honoured.
      if (created) reply.header('location', functionUrl(name));
      return reply.code(created ? 201 : 200).send(info);
    },
  );

  app.put(
    '/v1/functions/:name',
    {
      bodyLimit,
      config: { access: 'functions:write' },
      schema: {
        description: 'Creates or updates a function: 201 when a version was created, 200 when the spec equals the latest.',
        params: NameParams,
        body: FunctionSpecBody,
        querystring: EmptyQuery,
        response: { 200: FunctionInfoSchema, 201: FunctionInfoSchema, ...errorResponses('INVALID_CODE') },
      },
      preValidation: [rejectOversizedCode],
    },
    async (request, reply) => {
      const { name: bodyName, ...spec } = request.body;
      const { name } = request.params;
      if (bodyName !== undefined && bodyName !== name) {
        throw validationError('body.name', 'mismatch', `must equal the name in the path ('${name}') or be omitted`);
      }
      checkEnvSize(spec.env);
      const { function: info, created } = await control.putFunction(name, spec, false);
      if (created) reply.header('location', functionUrl(name));
      return reply.code(created ? 201 : 200).send(info);
    },
  );

  const listSchema = { description: 'Every function, sorted by name.', querystring: EmptyQuery, response: { 200: FunctionList } };
  app.get('/v1/functions', { config: { access: 'functions:read' }, schema: listSchema }, async (request) => {
    const p = principalOf(request);
    const all = await control.listFunctions();
    return { functions: all.filter((f) => mayUseFunction(p, f.name)).map((f) => view(p, f)) };
  });

  const getSchema = {
    description: 'A function: its latest version, or `?version=N` (`?include=code` adds its code).',
    params: NameParams,
    querystring: GetFunctionQuery,
    response: { 200: FunctionInfoSchema, ...errorResponses('FUNCTION_NOT_FOUND') },
  };
  app.get('/v1/functions/:name', { config: { access: 'functions:read' }, schema: getSchema }, async (request) =>
    view(principalOf(request), await control.getFunction(request.params.name, request.query.include === 'code', request.query.version)),
  );

  app.get(
    '/v1/functions/:name/versions',
    {
      config: { access: 'functions:read' },
      schema: {
        description: "A function's versions, newest first.",
        params: NameParams,
        querystring: EmptyQuery,
        response: { 200: VersionList, ...errorResponses('FUNCTION_NOT_FOUND') },
      },
    },
    async (request) => {
      const p = principalOf(request);
      return { versions: (await control.listVersions(request.params.name)).map((v) => view(p, v)) };
    },
  );

  app.delete(
    '/v1/functions/:name',
    {
      config: { access: 'functions:write' },
      schema: {
        description: 'Deletes a function: running executions finish, later invokes are 404.',
        params: NameParams,
        querystring: EmptyQuery,
        response: { 204: NoContent, ...errorResponses('FUNCTION_NOT_FOUND') },
      },
    },
    async (request, reply) => {
      await control.deleteFunction(request.params.name);
      return reply.code(204).send();
    },
  );
};
