/**
 * Topics (docs/TOPICS.md): a publish starts one async execution per subscribed function — per
 * function whose latest version has a topic trigger on that topic whose filter the event
 * matches — all made durable in one commit before the publish is answered. Each execution is
 * accepted through the transition function's `fire` event and carries
 * `trigger: { type: 'topic', topic, eventId }`.
 *
 * Events are not stored: an event nobody subscribes to starts nothing and is gone. It must
 * never acknowledge a publish before every execution it started is durable, and never start
 * some of them without the others.
 */
import { customAlphabet } from 'nanoid';
import { checkCloudEvent } from '../../common/cloud-event.js';
import { TaskForgeError } from '../../common/errors.js';
import { MAX_JSON_DEPTH, jsonDeeperThan } from '../../common/json-depth.js';
import { assertTopicName } from '../../common/names.js';
import { LIMITS, type FunctionVersion, type TopicTriggerSpec } from '../../common/records.js';
import { matchesFilter } from '../../common/triggers.js';
import { newExecutionId } from '../execution/manager.js';
import type { ExecutionState } from '../execution/state.js';
import type { FunctionRegistry } from '../function-registry.js';

const newEventId = customAlphabet('0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz', 20);

export interface PublishRequest {
  topic: string;
  /** The event as JSON text. */
  bodyJson: string;
  /** Structured-mode CloudEvent: validated, and the whole event is each subscriber's input. */
  cloudEvent: boolean;
}

export interface PublishResult {
  eventId: string;
  executions: Array<{ function: string; executionId: string }>;
}

interface Subscriber {
  version: FunctionVersion;
  filters: Array<TopicTriggerSpec['filter']>;
}

export interface TopicPublisherOptions {
  maxQueue: number;
}

export class TopicPublisher {
  private byTopic = new Map<string, Subscriber[]>();
  private builtAt = -1;

  constructor(
    private readonly state: ExecutionState,
    private readonly functions: FunctionRegistry,
    private readonly opts: TopicPublisherOptions,
  ) {}

  /** The functions subscribed to `topic`, by name (for tools and tests). */
  subscribers(topic: string): string[] {
    return (
      this.index()
        .get(topic)
        ?.map((s) => s.version.name) ?? []
    );
  }

  async publish(req: PublishRequest): Promise<PublishResult> {
    assertTopicName(req.topic);
    if (Buffer.byteLength(req.bodyJson) > LIMITS.eventBytes) {
      throw new TaskForgeError('PAYLOAD_TOO_LARGE', `event exceeds ${LIMITS.eventBytes} bytes`, {
        field: 'body',
        reason: 'too_large',
        limitBytes: LIMITS.eventBytes,
      });
    }
    if (jsonDeeperThan(req.bodyJson, MAX_JSON_DEPTH)) {
      throw new TaskForgeError('VALIDATION_ERROR', `body nests deeper than ${MAX_JSON_DEPTH} levels`, {
        field: 'body',
        reason: 'too_deep',
        maxDepth: MAX_JSON_DEPTH,
      });
    }
    let event: unknown;
    try {
      event = req.bodyJson.trim() === '' ? null : JSON.parse(req.bodyJson);
    } catch {
      throw new TaskForgeError('VALIDATION_ERROR', 'body: not valid JSON', { field: 'body', reason: 'invalid_json' });
    }
    if (req.cloudEvent) checkCloudEvent(event);

    const eventId = `evt_${newEventId()}`;
    const matched = (this.index().get(req.topic) ?? []).filter((s) => s.filters.some((f) => matchesFilter(event, f)));
    if (matched.length === 0) return { eventId, executions: [] };
    if (this.state.pending.size + matched.length > this.opts.maxQueue) {
      throw new TaskForgeError('QUEUE_FULL', `the pending queue is full (${this.opts.maxQueue})`, { reason: 'queue_full', limit: this.opts.maxQueue });
    }
    const nowMs = this.state.now();
    const trigger = { type: 'topic', topic: req.topic, eventId } as const;
    const accepted = await this.state.applyAllDurably(
      matched.map(({ version }) => ({
        rec: undefined,
        event: {
          type: 'fire',
          nowMs,
          trigger,
          execution: {
            id: newExecutionId(),
            function: version.name,
            version: version.version,
            mode: 'async',
            // Each record keeps its own copy: one subscriber's record never aliases another's.
            input: structuredClone(event),
            maxAttempts: version.maxRetries + 1,
            idempotencyKey: null,
          },
        },
      })),
    );
    return { eventId, executions: accepted.map((e) => ({ function: e.function, executionId: e.id })) };
  }

  /** Topic → subscribers, rebuilt when the functions changed since it was last built. */
  private index(): Map<string, Subscriber[]> {
    if (this.builtAt === this.functions.generation) return this.byTopic;
    const byTopic = new Map<string, Subscriber[]>();
    for (const version of this.functions.latestVersions()) {
      const mine = new Map<string, Subscriber>();
      for (const t of version.triggers ?? []) {
        if (t.type !== 'topic') continue;
        let sub = mine.get(t.topic);
        if (!sub) {
          sub = { version, filters: [] };
          mine.set(t.topic, sub);
          byTopic.set(t.topic, [...(byTopic.get(t.topic) ?? []), sub]);
        }
        sub.filters.push(t.filter);
      }
    }
    for (const subs of byTopic.values()) subs.sort((a, b) => (a.version.name < b.version.name ? -1 : 1));
    this.byTopic = byTopic;
    this.builtAt = this.functions.generation;
    return byTopic;
  }
}
