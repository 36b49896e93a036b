/**
 * The topics the dashboard shows, derived from the functions' topic triggers (docs/TOPICS.md):
 * the API has no list of topics (a topic exists while something subscribes to it).
 */

export interface TopicSubscriber {
  function: string;
  version: number;
  /** Top-level fields of an event and the values they must equal; absent: every event. */
  filter?: Record<string, unknown>;
}

export interface Topic {
  name: string;
  subscribers: TopicSubscriber[];
}

/** What of a FunctionInfo this reads. */
export interface WithTriggers {
  name: string;
  version: number;
  triggers?: readonly { type: string; topic?: string; filter?: Record<string, unknown> }[];
}

/** Topics by name, each with its subscribers by function name (a function subscribed twice, with two filters, shows twice). */
export function topicsOf(functions: readonly WithTriggers[]): Topic[] {
  const byName = new Map<string, TopicSubscriber[]>();
  for (const fn of functions) {
    for (const t of fn.triggers ?? []) {
      if (t.type !== 'topic' || !t.topic) continue;
      const list = byName.get(t.topic) ?? [];
      list.push({ function: fn.name, version: fn.version, ...(t.filter && { filter: t.filter }) });
      byName.set(t.topic, list);
    }
  }
  return [...byName]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, subscribers]) => ({ name, subscribers: subscribers.sort((a, b) => (a.function < b.function ? -1 : a.function > b.function ? 1 : 0)) }));
}
