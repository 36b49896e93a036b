/**
 * JSON body parsers. The API takes `application/json` only; any other media type with a body
 * is 415. An empty body is accepted whatever its content-type (`curl -X POST -d ''` sends a
 * form type): there is nothing to misread, and "an empty body is null" is the contract.
 *
 * Two flavours:
 * - `parseJsonBody` (every route): the parsed value; an empty body is `null`, so a body-less
 *   POST reaches the schema and fails there with a field-level reason instead of a parse error.
 * - `parseRawJsonBody` (invoke only): the event is forwarded to the scheduler as JSON text, so
 *   it is parsed once to prove it is JSON and then passed on as the exact text the client sent,
 *   never re-serialised.
 * Neither ever evaluates or transforms the content. Both refuse a body nested deeper than
 * MAX_JSON_DEPTH levels before parsing it (common/json-depth.ts).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { TaskForgeError } from '../common/errors.js';
import { MAX_JSON_DEPTH, jsonDeeperThan } from '../common/json-depth.js';
import { validationError } from './validation.js';

/** The unmodified JSON text of a request body; `null` for an empty body. */
export class JsonText {
  constructor(readonly text: string) {}
}

const isBlank = (s: string): boolean => s.trim().length === 0;

function invalidJson(err: unknown): TaskForgeError {
  const reason = err instanceof SyntaxError ? err.message : 'is not valid JSON';
  return validationError('body', 'invalid_json', reason, {}, 'body is not valid JSON');
}

/** Checked before JSON.parse: a deep body is a client error, never a stack overflow (500). */
function parseOrThrow(text: string): unknown {
  if (jsonDeeperThan(text, MAX_JSON_DEPTH)) {
    const why = `nests deeper than ${MAX_JSON_DEPTH} levels`;
    throw validationError('body', 'too_deep', why, { maxDepth: MAX_JSON_DEPTH }, `body ${why}`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw invalidJson(err);
  }
}

export function parseJsonBody(_req: FastifyRequest, body: string | Buffer): unknown {
  const text = typeof body === 'string' ? body : body.toString('utf8');
  return isBlank(text) ? null : parseOrThrow(text);
}

export function parseRawJsonBody(_req: FastifyRequest, body: string | Buffer): JsonText {
  const text = typeof body === 'string' ? body : body.toString('utf8');
  if (isBlank(text)) return new JsonText('null');
  parseOrThrow(text);
  return new JsonText(text);
}

/**
 * Answers `text` (JSON the scheduler serialised, such as an Execution) as it is, never parsed or
 * re-serialised. The reply is taken untyped: the route's response schema describes the JSON the
 * text holds, not a string.
 */
export function sendJsonText(reply: FastifyReply, statusCode: number, text: string): FastifyReply {
  return reply.code(statusCode).type('application/json; charset=utf-8').send(text);
}

function unsupportedMediaType(req: FastifyRequest): TaskForgeError {
  const sent = req.headers['content-type'];
  return new TaskForgeError('UNSUPPORTED_MEDIA_TYPE', 'content-type must be application/json', {
    field: 'headers.content-type',
    reason: 'media_type',
    contentType: typeof sent === 'string' ? sent.slice(0, 100) : null,
  });
}

/** Makes `app` (and its children) accept application/json only, via `parser`. */
export function useJsonParser(app: FastifyInstance, parser: (req: FastifyRequest, body: string | Buffer) => unknown): void {
  if (app.hasContentTypeParser('application/json')) app.removeContentTypeParser('application/json');
  if (app.hasContentTypeParser('text/plain')) app.removeContentTypeParser('text/plain');
  if (!app.hasContentTypeParser('*')) {
    // Decided from the headers alone: a non-JSON body is refused without being read.
    app.addContentTypeParser('*', (req, _payload, done) => {
      const length = req.headers['content-length'];
      const empty = length === '0' || (length === undefined && req.headers['transfer-encoding'] === undefined);
      if (empty) done(null, undefined);
      else done(unsupportedMediaType(req), undefined);
    });
  }
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    try {
      done(null, parser(req, body));
    } catch (err) {
      done(err as Error, undefined);
    }
  });
}
