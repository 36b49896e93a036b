import type { JSX } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { withQuery } from '../api.js';
import { Pager } from '../executions-model.js';
import { ago } from '../format.js';
import { follow } from '../live.js';
import type { PageProps } from '../page.js';
import { isDeadLetter } from '../records.js';
import type { Execution, FunctionInfo } from '../types.js';
import { ErrorNote, Link, navigate, PagerNav, PageTitle, StatusBadge, TableWrap, useNow } from '../ui.js';

export const DEAD_LETTER_PAGE_SIZE = 25;

/**
 * Async executions that failed for good and were not retried (docs/DEAD-LETTERS.md), newest first,
 * a page at a time; a function filter in the URL; Retry on each row. The page is read again when
 * the change stream shows a new one (on the first page) or says changes were missed.
 */
export function DeadLettersPage({ api, caps, search }: PageProps): JSX.Element {
  const fnFilter = new URLSearchParams(search).get('function') ?? '';
  const [rows, setRows] = useState<Execution[] | null>(null);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [live, setLive] = useState(false);
  const [tick, setTick] = useState(0);
  const [functions, setFunctions] = useState<string[]>([]);
  const [retried, setRetried] = useState<{ of: string; id: string } | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const pager = useRef(new Pager());
  const now = useNow();

  useEffect(() => {
    if (!caps.readFunctions) return;
    const ac = new AbortController();
    api
      .get<{ functions: FunctionInfo[] }>('/v1/functions', ac.signal)
      .then((r) => setFunctions(r.functions.map((f) => f.name)))
      .catch(() => undefined);
    return () => ac.abort();
  }, [api, caps]);

  useEffect(() => {
    const ac = new AbortController();
    let loading: Promise<void> | null = null;
    let again = false;
    const load = async (): Promise<void> => {
      const page = await api.get<{ deadLetters: Execution[]; nextCursor: string | null }>(
        withQuery('/v1/dead-letters', { function: fnFilter, limit: DEAD_LETTER_PAGE_SIZE, cursor: pager.current.cursor }),
        ac.signal,
      );
      setRows(page.deadLetters);
      setNext(page.nextCursor);
      setError(null);
    };
    // One read at a time; a request for one while it runs reads once more after it.
    const reload = (): void => {
      if (loading) {
        again = true;
        return;
      }
      loading = load()
        .catch((err: unknown) => {
          if (!ac.signal.aborted) setError(err);
        })
        .finally(() => {
          loading = null;
          if (again && !ac.signal.aborted) {
            again = false;
            reload();
          }
        });
    };
    let opened = false;
    const fallback = setTimeout(() => !opened && reload(), 3000);
    void follow(
      api,
      withQuery('/v1/events', { function: fnFilter }),
      {
        onOpen: () => {
          setLive(true);
          if (!opened) reload();
          opened = true;
        },
        onError: (err) => {
          setLive(false);
          setError(err);
          reload();
        },
        onEvent: (ev) => {
          if (ev.event === 'reset') {
            reload();
            return;
          }
          if (ev.event !== 'execution') return;
          const change = JSON.parse(ev.data) as Execution;
          if (isDeadLetter(change) && pager.current.first) reload();
        },
      },
      ac.signal,
      { reconnect: true },
    ).finally(() => setLive(false));
    return () => {
      clearTimeout(fallback);
      ac.abort();
    };
  }, [api, fnFilter, tick]);

  const retry = async (id: string): Promise<void> => {
    setBusy(id);
    setError(null);
    try {
      const r = await api.request<{ executionId: string }>('POST', `/v1/executions/${encodeURIComponent(id)}/retry`, { body: {} });
      // The original leaves the dead letters once retried.
      setRows((list) => (list ?? []).filter((e) => e.id !== id));
      setRetried({ of: id, id: r.body.executionId });
    } catch (err) {
      setError(err);
    } finally {
      setBusy(null);
    }
  };

  const setFunction = (v: string): void => {
    pager.current.reset();
    navigate(withQuery('/dead-letters', { function: v }), { replace: true });
  };

  return (
    <section>
      <div class="page-head">
        <PageTitle>Dead letters</PageTitle>
        <span class={live ? 'live on' : 'live'} role="status">
          {live ? 'Live' : 'Not live'}
        </span>
      </div>
      <p class="muted">Async executions that failed or timed out after their last attempt, or expired in the queue, and were not retried.</p>
      <form class="filters" onSubmit={(e) => e.preventDefault()} aria-label="Filters">
        <div class="field">
          <label for="dlq-function">Function</label>
          <select id="dlq-function" value={fnFilter} onChange={(e) => setFunction(e.currentTarget.value)}>
            <option value="">all</option>
            {[...new Set([...functions, ...(fnFilter ? [fnFilter] : [])])].map((n) => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
          </select>
        </div>
      </form>
      {retried && (
        <p role="status">
          Retried <code>{retried.of}</code> as <Link to={`/executions/${retried.id}`}>{retried.id}</Link>.
        </p>
      )}
      <ErrorNote error={error} />
      <TableWrap label="Dead letters">
        <table class="executions">
          <thead>
            <tr>
              <th scope="col">Status</th>
              <th scope="col">Execution</th>
              <th scope="col">Function</th>
              <th scope="col">Error</th>
              <th scope="col">Finished</th>
              <th scope="col">Attempts</th>
              {caps.retry && <th scope="col">Retry</th>}
            </tr>
          </thead>
          <tbody>
            {rows !== null && rows.length === 0 && (
              <tr>
                <td colSpan={caps.retry ? 7 : 6} class="muted">
                  No dead letters{fnFilter ? ' of this function' : ''}.
                </td>
              </tr>
            )}
            {(rows ?? []).map((e) => (
              <tr key={e.id} data-execution={e.id}>
                <td>
                  <StatusBadge status={e.status} />
                </td>
                <th scope="row">
                  <Link to={`/executions/${e.id}`}>{e.id}</Link>
                </th>
                <td>
                  {e.function} <span class="muted">v{e.version}</span>
                </td>
                <td>{e.error ? `${e.error.code}: ${e.error.message}` : '—'}</td>
                <td>{ago(e.finishedAt, now)}</td>
                <td>
                  {e.attempt} / {e.maxAttempts}
                </td>
                {caps.retry && (
                  <td>
                    <button type="button" onClick={() => void retry(e.id)} disabled={busy !== null} aria-label={`Retry ${e.id}`}>
                      {busy === e.id ? 'Retrying…' : 'Retry'}
                    </button>
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      </TableWrap>
      <PagerNav pager={pager.current} next={next} changed={() => setTick((t) => t + 1)} />
    </section>
  );
}
