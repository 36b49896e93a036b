/**
 * POST /2015-03-31/functions/{name}/invocations — AWS Lambda's Invoke, so the unmodified AWS SDK
 * (`@aws-sdk/client-lambda` with `endpoint` = the gateway) calls TaskForge functions.
 *
 * Auth: a Bearer key as anywhere, or SigV4 with `tfk_<id>` as access key id and the key's secret
 * as secret key, checked by the scheduler once the body is read (auth.ts, authenticateSigV4).
 * `X-Amz-Invocation-Type`: RequestResponse (default; 200 with the output, or 200 with
 * `X-Amz-Function-Error: Unhandled` and `{ errorType, errorMessage, trace }` when the run failed),
 * Event (202, empty, durable like an async invoke), DryRun (204 once the function and version
 * exist). `X-Amz-Log-Type: Tail` adds `X-Amz-Log-Result`, base64 of the last 4 KB of the logs.
 *
 * Errors are in Lambda's shape, `x-amzn-ErrorType` + `{ "Type", "message" }`, which the SDK turns
 * into its exception classes (ResourceNotFoundException, TooManyRequestsException, …).
 */
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Execution } from '../../common/records.js';
import { TaskForgeError } from '../../common/errors.js';
import { authenticateSigV4 } from '../auth.js';
import type { ControlClient } from '../control-client.js';
import { toHttpError, type ApiErrorCode } from '../errors.js';

export interface LambdaRoutesOptions {
  control: ControlClient;
  /** Bytes of an invoke body (the event). */
  bodyLimit: number;
}

/** Bytes of log text in `X-Amz-Log-Result`, as Lambda. */
export const LOG_TAIL_BYTES = 4096;

/** Lambda's error type and fault for each TaskForge error code (the HTTP status stays ours). */
const LAMBDA_ERROR: Partial<Record<ApiErrorCode, [type: string, fault: 'User' | 'Service']>> = {
  UNAUTHORIZED: ['UnrecognizedClientException', 'User'],
  FORBIDDEN: ['AccessDeniedException', 'User'],
  FUNCTION_NOT_FOUND: ['ResourceNotFoundException', 'User'],
  NOT_FOUND: ['ResourceNotFoundException', 'User'],
  INVALID_NAME: ['InvalidParameterValueException', 'User'],
  VALIDATION_ERROR: ['InvalidParameterValueException', 'User'],
  UNSUPPORTED_MEDIA_TYPE: ['UnsupportedMediaTypeException', 'User'],
  PAYLOAD_TOO_LARGE: ['RequestTooLargeException', 'User'],
  RATE_LIMITED: ['TooManyRequestsException', 'User'],
  QUEUE_FULL: ['TooManyRequestsException', 'User'],
};

/** Lambda's error answer: the SDK reads the type from `x-amzn-ErrorType`, the text from `message`. */
export function sendLambdaError(reply: FastifyReply, err: unknown): FastifyReply {
  const e = toHttpError(err);
  const { code, message } = e.body.error;
  const [type, fault] = LAMBDA_ERROR[code] ?? (e.statusCode < 500 ? ['InvalidRequestContentException', 'User'] : ['ServiceException', 'Service']);
  if (e.statusCode >= 500) reply.log.warn({ code, statusCode: e.statusCode }, 'lambda request failed');
  return reply.code(e.statusCode).headers(e.headers).header('x-amzn-errortype', type).type('application/json').send({ Type: fault, message, code: type });
}

const LambdaError = Type.Object(
  { Type: Type.String({ description: 'User or Service' }), message: Type.String(), code: Type.String({ description: 'the x-amzn-ErrorType' }) },
  { description: "Lambda's error shape; the type is in the x-amzn-ErrorType header" },
);

const LambdaQuery = Type.Object(
  { Qualifier: Type.Optional(Type.String({ pattern: '^(\\$LATEST|[1-9][0-9]{0,8})$', description: 'a version number, or $LATEST' })) },
  { additionalProperties: false },
);

const LambdaHeaders = Type.Object({
  'x-amz-invocation-type': Type.Optional(Type.Union([Type.Literal('RequestResponse'), Type.Literal('Event'), Type.Literal('DryRun')])),
  'x-amz-log-type': Type.Optional(Type.Union([Type.Literal('None'), Type.Literal('Tail')])),
});

/** The base64 of the last LOG_TAIL_BYTES of the log text, cut at a character boundary. */
export function logTail(lines: readonly { message: string }[]): string {
  const all = Buffer.from(lines.map((l) => `${l.message}\n`).join(''), 'utf8');
  let start = Math.max(0, all.length - LOG_TAIL_BYTES);
  while (start < all.length && (all[start]! & 0xc0) === 0x80) start++;
  return all.subarray(start).toString('base64');
}

/** Lambda's answer for a run that did not succeed. */
function functionError(e: Execution): { errorType: string; errorMessage: string; trace: string[] } {
  const err = e.error;
  if (e.status === 'timed_out') return { errorType: 'Sandbox.Timedout', errorMessage: err?.message ?? 'Task timed out', trace: [] };
  return {
    errorType: err?.name ?? err?.code ?? 'Error',
    errorMessage: err?.message ?? `execution ${e.status}`,
    trace: err?.stack ? err.stack.split('\n') : [],
  };
}

const TERMINAL = new Set(['succeeded', 'failed', 'cancelled', 'timed_out']);

export const lambdaRoutes: FastifyPluginAsyncTypebox<LambdaRoutesOptions> = async (app, { control, bodyLimit }) => {
  // The payload is bytes the signature covers: read as they came, checked as JSON here.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit }, (_request: FastifyRequest, body: Buffer, done) => done(null, body));
  app.setErrorHandler((err, _request, reply) => sendLambdaError(reply, err));
  app.addHook('preHandler', async (request) => {
    await authenticateSigV4(request, control, Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0));
  });

  app.post(
    '/2015-03-31/functions/:name/invocations',
    {
      bodyLimit,
      // The per-key limit counts this route once the key is known: for a signed request that is
      // after its signature was checked (preHandler), not at onRequest where the signer is unknown.
      config: { access: 'invoke', sigv4: true, rateLimit: { hook: 'preHandler' } },
      schema: {
        description:
          "AWS Lambda's Invoke: Bearer or SigV4 (access key id tfk_<id>, secret key the key's secret). X-Amz-Invocation-Type " +
          'RequestResponse (200 with the output; X-Amz-Function-Error: Unhandled when the run failed) · Event (202) · DryRun (204). ' +
          'Errors in Lambda’s shape with x-amzn-ErrorType.',
        params: Type.Object({ name: Type.String() }),
        querystring: LambdaQuery,
        headers: LambdaHeaders,
        response: {
          200: Type.Unknown({ description: 'the output as JSON, or { errorType, errorMessage, trace } with X-Amz-Function-Error' }),
          202: Type.String({ maxLength: 0, description: 'Event: queued, durable; empty body' }),
          204: Type.String({ maxLength: 0, description: 'DryRun: the function and version exist; empty body' }),
          400: LambdaError,
          401: LambdaError,
          403: LambdaError,
          404: LambdaError,
          413: LambdaError,
          429: LambdaError,
          500: LambdaError,
          503: LambdaError,
        },
      },
    },
    async (request, reply) => {
      const { name } = request.params;
      const qualifier = request.query.Qualifier;
      const version = qualifier === undefined || qualifier === '$LATEST' ? 0 : Number(qualifier);
      reply.header('x-amz-executed-version', version === 0 ? '$LATEST' : String(version));
      reply.header('x-amzn-requestid', request.id);
      const type = request.headers['x-amz-invocation-type'] ?? 'RequestResponse';
      const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      const inputJson = body.length === 0 ? 'null' : body.toString('utf8');
      try {
        JSON.parse(inputJson);
      } catch {
        throw new TaskForgeError('VALIDATION_ERROR', 'Could not parse request body into json: the payload must be JSON', { reason: 'json' });
      }

      if (type === 'DryRun') {
        if (version === 0) await control.getFunction(name, false);
        else if (!(await control.listVersions(name)).some((f) => f.version === version))
          throw new TaskForgeError('FUNCTION_NOT_FOUND', `function '${name}' has no version ${version}`, { reason: 'not_found', name, version });
        return reply.code(204).send('');
      }

      const mode = type === 'Event' ? 'async' : 'sync';
      const { execution: first } = await control.invoke({ function: name, version, inputJson, mode, idempotencyKey: null, waitMs: 0 });
      reply.header('x-taskforge-execution-id', first.id);
      if (mode === 'async') return reply.code(202).send('');

      // A sync invoke waits at most 300 s: longer runs are waited for again, as Lambda waits up to 15 min.
      let text = first;
      for (let i = 0; i < 10 && !TERMINAL.has(text.status); i++) text = await control.getExecution(first.id, 120_000);
      const e = JSON.parse(text.json) as Execution;
      if (request.headers['x-amz-log-type'] === 'Tail') reply.header('x-amz-log-result', logTail((await control.getLogs(e.id)).lines));
      reply.type('application/json');
      if (e.status === 'succeeded') return reply.code(200).send(JSON.stringify(e.output ?? null));
      return reply
        .code(200)
        .header('x-amz-function-error', 'Unhandled')
        .send(JSON.stringify(functionError(e)));
    },
  );
};
