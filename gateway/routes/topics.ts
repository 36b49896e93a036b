/**
 * POST /v1/topics/{topic}/events — publish (docs/TOPICS.md). The body is any JSON
 * (`application/json`) or a structured-mode CloudEvent (`application/cloudevents+json`), checked
 * once to be JSON and forwarded as the client's exact text; the scheduler validates a CloudEvent
 * and answers only once every subscriber's execution is durable.
 *
 * Registered in its own plugin because its body is parsed like invoke's, with one more media type.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import type { ControlClient } from '../control-client.js';
import { JsonText, parseRawJsonBody, useJsonParser } from '../json-body.js';
import { PublishAccepted, errorResponses } from '../response-schemas.js';
import { PublishEvent, TopicParams } from '../schemas.js';

export const CLOUDEVENTS_MEDIA_TYPE = 'application/cloudevents+json';

export interface TopicRoutesOptions {
  control: ControlClient;
  /** Bytes of an event. */
  bodyLimit: number;
}

const isCloudEvent = (request: FastifyRequest): boolean => {
  const type = request.headers['content-type'];
  return typeof type === 'string' && type.split(';')[0]!.trim().toLowerCase() === CLOUDEVENTS_MEDIA_TYPE;
};

export const topicRoutes: FastifyPluginAsyncTypebox<TopicRoutesOptions> = async (app, { control, bodyLimit }) => {
  useJsonParser(app, parseRawJsonBody);
  app.addContentTypeParser(CLOUDEVENTS_MEDIA_TYPE, { parseAs: 'string' }, (req, body, done) => {
    try {
      done(null, parseRawJsonBody(req, body));
    } catch (err) {
      done(err as Error, undefined);
    }
  });

  app.post(
    '/v1/topics/:topic/events',
    {
      bodyLimit,
      config: { access: 'topics:publish' },
      schema: {
        description:
          'Publishes an event: one async execution per function subscribed to the topic whose filter matches, all durable before the 202. ' +
          'A plain JSON event is each subscriber’s input as it is; a CloudEvent’s input is the whole structured event. ' +
          'No subscriber: 202 with an empty list. Keys limited to some functions may not publish.',
        consumes: ['application/json', CLOUDEVENTS_MEDIA_TYPE],
        params: TopicParams,
        body: PublishEvent,
        response: { 202: PublishAccepted, ...errorResponses('VALIDATION_ERROR', 'QUEUE_FULL', 'STORAGE_UNAVAILABLE') },
      },
    },
    async (request, reply) => {
      const bodyJson = request.body instanceof JsonText ? request.body.text : 'null';
      const result = await control.publish({ topic: request.params.topic, bodyJson, cloudEvent: isCloudEvent(request) });
      return reply.code(202).send(result);
    },
  );
};
