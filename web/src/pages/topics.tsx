import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { json } from '../format.js';
import { useLoad } from '../load.js';
import type { PageProps } from '../page.js';
import { topicsOf, type Topic, type WithTriggers } from '../topics.js';
import { ErrorNote, Link, PageTitle, TableWrap } from '../ui.js';

interface Published {
  eventId: string;
  executions: { function: string; executionId: string }[];
}

/** Topics and who subscribes (from the functions' triggers), and a form to publish an event to one. */
export function TopicsPage({ api, caps }: PageProps): JSX.Element {
  const topics = useLoad(async (signal) => topicsOf((await api.get<{ functions: WithTriggers[] }>('/v1/functions', signal)).functions), []);
  return (
    <section>
      <div class="page-head">
        <PageTitle>Topics</PageTitle>
        <button type="button" onClick={topics.reload} disabled={topics.loading}>
          Refresh
        </button>
      </div>
      <ErrorNote error={topics.error} />
      {topics.value && topics.value.length === 0 && <p>No function subscribes to a topic yet (a topic trigger in its settings makes one).</p>}
      {topics.value && topics.value.length > 0 && (
        <TableWrap label="Topics">
          <table>
            <caption class="visually-hidden">Topics and the functions subscribed to them</caption>
            <thead>
              <tr>
                <th scope="col">Topic</th>
                <th scope="col">Subscribers</th>
              </tr>
            </thead>
            <tbody>
              {topics.value.map((t) => (
                <tr key={t.name} data-topic={t.name}>
                  <th scope="row">{t.name}</th>
                  <td>
                    {t.subscribers.map((s, i) => (
                      <span key={`${s.function}-${i}`}>
                        {i > 0 && ', '}
                        <Link to={`/functions/${encodeURIComponent(s.function)}`}>{s.function}</Link>
                        {s.filter && <span class="muted"> when {json(s.filter)}</span>}
                      </span>
                    ))}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      )}
      {caps.invoke && topics.value && topics.value.length > 0 && <PublishForm api={api} topics={topics.value} />}
    </section>
  );
}

function PublishForm({ api, topics }: { api: PageProps['api']; topics: Topic[] }): JSX.Element {
  const [topic, setTopic] = useState(topics[0]!.name);
  const [text, setText] = useState('{}');
  const [error, setError] = useState<unknown>(null);
  const [published, setPublished] = useState<Published | null>(null);
  const [busy, setBusy] = useState(false);
  const publish = async (ev: Event): Promise<void> => {
    ev.preventDefault();
    setError(null);
    setPublished(null);
    let event: unknown;
    try {
      event = JSON.parse(text);
    } catch {
      setError(new Error('the event is not JSON'));
      return;
    }
    setBusy(true);
    try {
      setPublished((await api.request<Published>('POST', `/v1/topics/${encodeURIComponent(topic)}/events`, { body: event })).body);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="panel" onSubmit={(e) => void publish(e)}>
      <h2>Publish an event</h2>
      <label>
        Topic
        <select value={topic} onChange={(e) => setTopic((e.target as HTMLSelectElement).value)}>
          {topics.map((t) => (
            <option key={t.name} value={t.name}>
              {t.name}
            </option>
          ))}
        </select>
      </label>
      <label>
        Event (JSON)
        <textarea rows={4} value={text} onInput={(e) => setText((e.target as HTMLTextAreaElement).value)} spellcheck={false} />
      </label>
      <button type="submit" disabled={busy}>
        Publish
      </button>
      <ErrorNote error={error} />
      {published && (
        <div role="status" aria-label="Published event">
          <p>
            Event {published.eventId}: {published.executions.length} execution{published.executions.length === 1 ? '' : 's'}
          </p>
          <ul>
            {published.executions.map((x) => (
              <li key={x.executionId}>
                {x.function}: <Link to={`/executions/${encodeURIComponent(x.executionId)}`}>{x.executionId}</Link>
              </li>
            ))}
          </ul>
        </div>
      )}
    </form>
  );
}
