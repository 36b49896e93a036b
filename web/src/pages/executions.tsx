import type { JSX } from 'preact';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { withQuery } from '../api.js';
import { Pager, applyChange, matches, type Filters } from '../executions-model.js';
import { ago, ms } from '../format.js';
import { follow } from '../live.js';
import { TRIGGER_CHOICES, triggerKind } from '../records.js';
import type { PageProps } from '../page.js';
import { EXECUTION_STATUSES, type Execution, type FunctionInfo } from '../types.js';
import { ErrorNote, Link, navigate, PagerNav, PageTitle, StatusBadge, TableWrap, useNow } from '../ui.js';

export const PAGE_SIZE = 25;

export function filtersFrom(search: string): Filters {
  const q = new URLSearchParams(search);
  return { function: q.get('function') ?? '', status: q.get('status') ?? '', mode: q.get('trigger') ?? '' };
}

const searchOf = (f: Filters): string => withQuery('/executions', { function: f.function, status: f.status, trigger: f.mode });

/** Executions, newest first, kept current over `/v1/events`; filters and Previous/Next pages. */
export function ExecutionsPage({ api, caps, search }: PageProps): JSX.Element {
  const filters = useMemo(() => filtersFrom(search), [search]);
  const [rows, setRows] = useState<Execution[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [live, setLive] = useState(false);
  const [tick, setTick] = useState(0);
  const pager = useRef(new Pager());
  const now = useNow();
  const [functions, setFunctions] = useState<string[]>([]);

  useEffect(() => {
    if (!caps.readFunctions) return;
    const ac = new AbortController();
    api
      .get<{ functions: FunctionInfo[] }>('/v1/functions', ac.signal)
      .then((r) => setFunctions(r.functions.map((f) => f.name)))
      .catch(() => undefined);
    return () => ac.abort();
  }, [api, caps]);

  // The change stream first, then the page once it is open: changes that arrive before the page
  // are kept and applied to it, so none falls between the read and the stream. A `reset` from the
  // stream (changes were missed) reads the page again.
  useEffect(() => {
    const ac = new AbortController();
    const opts = { insert: pager.current.first, max: PAGE_SIZE };
    let early: Execution[] | null = [];
    const load = async (): Promise<void> => {
      early ??= [];
      const page = await api.get<{ executions: Execution[]; nextCursor: string | null }>(
        withQuery('/v1/executions', { function: filters.function, status: filters.status, limit: PAGE_SIZE, cursor: pager.current.cursor }),
        ac.signal,
      );
      let list = page.executions.filter((e) => matches(e, filters));
      for (const change of early ?? []) list = applyChange(list, change, filters, opts);
      early = null;
      setRows(list);
      setNext(page.nextCursor);
      setError(null);
    };
    let loading: Promise<void> | null = null;
    const reload = (): void => {
      loading ??= load()
        .catch((err: unknown) => {
          if (!ac.signal.aborted) setError(err);
        })
        .finally(() => (loading = null));
    };
    const fallback = setTimeout(() => early !== null && reload(), 3000);
    void follow(
      api,
      withQuery('/v1/events', { function: filters.function }),
      {
        onOpen: () => {
          setLive(true);
          if (early !== null) reload();
        },
        onError: (err) => {
          setLive(false);
          setError(err);
          if (early !== null) reload();
        },
        onEvent: (ev) => {
          if (ev.event === 'reset') {
            early = [];
            reload();
            return;
          }
          if (ev.event !== 'execution') return;
          const change = JSON.parse(ev.data) as Execution;
          if (early) {
            if (early.push(change) > 1000) early.shift();
            return;
          }
          setRows((list) => applyChange(list, change, filters, opts));
        },
      },
      ac.signal,
      { reconnect: true },
    ).finally(() => setLive(false));
    return () => {
      clearTimeout(fallback);
      ac.abort();
    };
  }, [api, filters, tick]);

  const setFilter = (k: keyof Filters, v: string): void => {
    pager.current.reset();
    navigate(searchOf({ ...filters, [k]: v }), { replace: true });
  };

  return (
    <section>
      <div class="page-head">
        <PageTitle>Executions</PageTitle>
        <span class={live ? 'live on' : 'live'} role="status">
          {live ? 'Live' : 'Not live'}
        </span>
      </div>
      <form class="filters" onSubmit={(e) => e.preventDefault()} aria-label="Filters">
        <div class="field">
          <label for="filter-function">Function</label>
          <select id="filter-function" value={filters.function} onChange={(e) => setFilter('function', e.currentTarget.value)}>
            <option value="">all</option>
            {[...new Set([...functions, ...(filters.function ? [filters.function] : [])])].map((n) => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="filter-status">Status</label>
          <select id="filter-status" value={filters.status} onChange={(e) => setFilter('status', e.currentTarget.value)}>
            <option value="">all</option>
            {EXECUTION_STATUSES.map((s) => (
              <option key={s} value={s}>
                {s.replace('_', ' ')}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="filter-trigger">Trigger</label>
          <select id="filter-trigger" value={filters.mode} onChange={(e) => setFilter('mode', e.currentTarget.value)}>
            <option value="">all</option>
            {TRIGGER_CHOICES.map((c) => (
              <option key={c.value} value={c.value}>
                {c.label}
              </option>
            ))}
          </select>
        </div>
      </form>
      <ErrorNote error={error} />
      <TableWrap label="Executions">
        <table class="executions">
          <thead>
            <tr>
              <th scope="col">Status</th>
              <th scope="col">Execution</th>
              <th scope="col">Function</th>
              <th scope="col">Duration</th>
              <th scope="col">Created</th>
              <th scope="col">Trigger</th>
              <th scope="col">Attempt</th>
            </tr>
          </thead>
          <tbody>
            {rows.length === 0 && (
              <tr>
                <td colSpan={7} class="muted">
                  No executions{filters.function || filters.status || filters.mode ? ' match these filters' : ' yet'}.
                </td>
              </tr>
            )}
            {rows.map((e) => (
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
                <td>{ms(e.durationMs)}</td>
                <td>{ago(e.createdAt, now)}</td>
                <td>{triggerKind(e) === 'invoke' ? e.mode : triggerKind(e)}</td>
                <td>
                  {e.attempt} / {e.maxAttempts}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </TableWrap>
      <PagerNav pager={pager.current} next={next} changed={() => setTick((t) => t + 1)} />
    </section>
  );
}
