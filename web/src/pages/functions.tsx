import type { JSX } from 'preact';
import { withQuery } from '../api.js';
import { ago, ms, percent } from '../format.js';
import { useLoad } from '../load.js';
import type { PageProps } from '../page.js';
import { summarize, type RecentSummary } from '../stats.js';
import type { Execution, FunctionInfo } from '../types.js';
import { ErrorNote, Link, PageTitle, TableWrap, useNow } from '../ui.js';

/** Executions per function the summary is computed from. */
export const RECENT = 100;

interface Row {
  fn: FunctionInfo;
  recent: RecentSummary | null;
}

/** Functions, each with its latest version, how it was invoked lately, success rate and p50/p99. */
export function FunctionsPage({ api, caps }: PageProps): JSX.Element {
  const now = useNow(5000);
  const rows = useLoad<Row[]>(async (signal) => {
    const { functions } = await api.get<{ functions: FunctionInfo[] }>('/v1/functions', signal);
    return Promise.all(
      functions.map(async (fn): Promise<Row> => {
        if (!caps.readExecutions) return { fn, recent: null };
        const page = await api.get<{ executions: Execution[] }>(withQuery('/v1/executions', { function: fn.name, limit: RECENT }), signal);
        return { fn, recent: summarize(page.executions) };
      }),
    );
  }, []);

  return (
    <section>
      <div class="page-head">
        <PageTitle>Functions</PageTitle>
        <button type="button" onClick={rows.reload} disabled={rows.loading}>
          Refresh
        </button>
        {caps.deploy && (
          <Link to="/deploy" class="button">
            Deploy a function
          </Link>
        )}
      </div>
      <ErrorNote error={rows.error} />
      {rows.value && rows.value.length === 0 && <p>No functions yet.</p>}
      {rows.value && rows.value.length > 0 && (
        <TableWrap label="Functions">
          <table>
            <caption class="visually-hidden">Functions, with figures over their last {RECENT} executions</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Latest</th>
                <th scope="col">Triggers</th>
                <th scope="col">Success</th>
                <th scope="col">p50</th>
                <th scope="col">p99</th>
                <th scope="col">Updated</th>
              </tr>
            </thead>
            <tbody>
              {rows.value.map(({ fn, recent }) => (
                <tr key={fn.name}>
                  <th scope="row">
                    <Link to={`/functions/${fn.name}`}>{fn.name}</Link>
                    {fn.description && <div class="muted small">{fn.description}</div>}
                  </th>
                  <td>v{fn.version}</td>
                  <td>{triggers(recent)}</td>
                  <td>{recent ? `${percent(recent.successRate)} of ${recent.finished}` : '—'}</td>
                  <td>{ms(recent?.p50)}</td>
                  <td>{ms(recent?.p99)}</td>
                  <td>{ago(fn.updatedAt, now)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      )}
    </section>
  );
}

/** HTTP invoke, sync and async, with how often each was used lately (the only triggers the API has so far). */
function triggers(recent: RecentSummary | null): string {
  if (!recent || Object.keys(recent.modes).length === 0) return 'HTTP invoke';
  return Object.entries(recent.modes)
    .sort((a, b) => b[1] - a[1])
    .map(([mode, n]) => `${mode} ×${n}`)
    .join(', ');
}
