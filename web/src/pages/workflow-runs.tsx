import type { JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { withQuery } from '../api.js';
import { layoutDag, type DagLayout } from '../dag.js';
import { ago, json } from '../format.js';
import { useLoad } from '../load.js';
import type { PageProps } from '../page.js';
import { ErrorNote, Link, PageTitle, StatusBadge, TableWrap, useNow } from '../ui.js';

/** The records of docs/WORKFLOWS.md, as far as these pages read them. */
interface StepState {
  status: string;
  executionId?: string | null;
  function: string;
  error?: { code: string; message: string } | null;
}

export interface WorkflowRun {
  id: string;
  workflow: string;
  workflowVersion: number;
  status: 'running' | 'succeeded' | 'failed' | 'cancelled';
  steps: Record<string, StepState>;
  failedStep?: string | null;
  input?: unknown;
  output?: unknown;
  createdAt: string;
  finishedAt?: string | null;
}

interface Workflow {
  name: string;
  version: number;
  steps: { id: string; function: string; needs?: string[] }[];
}

/** How often a running run is read again, ms: its steps change as their executions do. */
const RUNNING_POLL_MS = 1000;

/** Workflow runs, newest first, a page at a time. */
export function WorkflowRunsPage({ api, search }: PageProps): JSX.Element {
  const now = useNow(5000);
  const cursor = new URLSearchParams(search).get('cursor') ?? undefined;
  const page = useLoad(
    (signal) => api.get<{ runs: WorkflowRun[]; nextCursor: string | null }>(withQuery('/v1/workflow-runs', { limit: 50, cursor }), signal),
    [cursor],
  );
  return (
    <section>
      <div class="page-head">
        <PageTitle>Workflow runs</PageTitle>
        <button type="button" onClick={page.reload} disabled={page.loading}>
          Refresh
        </button>
      </div>
      <ErrorNote error={page.error} />
      {page.value && page.value.runs.length === 0 && <p>No workflow runs yet.</p>}
      {page.value && page.value.runs.length > 0 && (
        <TableWrap label="Workflow runs">
          <table>
            <caption class="visually-hidden">Workflow runs, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Run</th>
                <th scope="col">Workflow</th>
                <th scope="col">Status</th>
                <th scope="col">Steps done</th>
                <th scope="col">Started</th>
              </tr>
            </thead>
            <tbody>
              {page.value.runs.map((r) => {
                const steps = Object.values(r.steps);
                const done = steps.filter((s) => s.status === 'succeeded').length;
                return (
                  <tr key={r.id}>
                    <td>
                      <Link to={`/workflow-runs/${encodeURIComponent(r.id)}`}>{r.id}</Link>
                    </td>
                    <td>
                      {r.workflow} v{r.workflowVersion}
                    </td>
                    <td>
                      <StatusBadge status={r.status} />
                    </td>
                    <td>
                      {done} / {steps.length}
                    </td>
                    <td>{ago(r.createdAt, now)}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </TableWrap>
      )}
      {page.value?.nextCursor && (
        <p>
          <Link to={withQuery('/workflow-runs', { cursor: page.value.nextCursor })}>Older runs</Link>
        </p>
      )}
    </section>
  );
}

/** One run: its DAG with each step's state (read again while it runs), output or failed step, cancel. */
export function WorkflowRunPage({ api, caps, params }: PageProps): JSX.Element {
  const id = params.id ?? '';
  const [run, setRun] = useState<WorkflowRun | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [layout, setLayout] = useState<DagLayout | null>(null);
  const [cancelError, setCancelError] = useState<unknown>(null);
  const now = useNow();

  useEffect(() => {
    const ac = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const read = (): void => {
      api
        .get<WorkflowRun>(`/v1/workflow-runs/${encodeURIComponent(id)}`, ac.signal)
        .then((r) => {
          setRun(r);
          setError(null);
          if (r.status === 'running') timer = setTimeout(read, RUNNING_POLL_MS);
        })
        .catch((err: unknown) => !ac.signal.aborted && setError(err));
    };
    read();
    return () => {
      clearTimeout(timer);
      ac.abort();
    };
  }, [api, id]);

  // The needs come from the definition; one replaced since the run started is not this run's shape.
  const workflow = run?.workflow;
  const version = run?.workflowVersion;
  useEffect(() => {
    if (!workflow) return;
    const ac = new AbortController();
    api
      .get<Workflow>(`/v1/workflows/${encodeURIComponent(workflow)}`, ac.signal)
      .then((w) => setLayout(w.version === version ? layoutDag(w.steps) : null))
      .catch(() => setLayout(null));
    return () => ac.abort();
  }, [api, workflow, version]);

  const cancel = async (): Promise<void> => {
    setCancelError(null);
    try {
      setRun((await api.request<WorkflowRun>('POST', `/v1/workflow-runs/${encodeURIComponent(id)}/cancel`, { body: {} })).body);
    } catch (err) {
      setCancelError(err);
    }
  };

  if (!run) {
    return (
      <section>
        <PageTitle>Workflow run {id}</PageTitle>
        <ErrorNote error={error} />
        {!error && <p>Loading…</p>}
      </section>
    );
  }
  const ids = Object.keys(run.steps);
  return (
    <section>
      <div class="page-head">
        <PageTitle>Workflow run {run.id}</PageTitle>
        <StatusBadge status={run.status} />
        {caps.invoke && run.status === 'running' && (
          <button type="button" onClick={() => void cancel()}>
            Cancel run
          </button>
        )}
      </div>
      <ErrorNote error={error ?? cancelError} />
      <p>
        {run.workflow} v{run.workflowVersion}, started {ago(run.createdAt, now)}
        {run.finishedAt ? `, finished ${ago(run.finishedAt, now)}` : ''}
        {run.failedStep ? `; failed at step ${run.failedStep}` : ''}
      </p>
      {layout && <DagView layout={layout} run={run} />}
      <TableWrap label="Steps">
        <table>
          <caption class="visually-hidden">Each step of the run and its state</caption>
          <thead>
            <tr>
              <th scope="col">Step</th>
              <th scope="col">Function</th>
              <th scope="col">Status</th>
              <th scope="col">Execution</th>
            </tr>
          </thead>
          <tbody>
            {ids.map((step) => {
              const s = run.steps[step]!;
              return (
                <tr key={step}>
                  <th scope="row">{step}</th>
                  <td>{s.function}</td>
                  <td>
                    <StatusBadge status={s.status} />
                    {s.error && <span class="muted"> {s.error.code}</span>}
                  </td>
                  <td>{s.executionId ? <Link to={`/executions/${encodeURIComponent(s.executionId)}`}>{s.executionId}</Link> : '—'}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </TableWrap>
      {run.status === 'succeeded' && (
        <>
          <h2>Output</h2>
          <pre>{json(run.output)}</pre>
        </>
      )}
    </section>
  );
}

const BOX = { w: 150, h: 44, gapX: 60, gapY: 18 };

/** The DAG as boxes in columns with arrows; the table below says the same in text. */
function DagView({ layout, run }: { layout: DagLayout; run: WorkflowRun }): JSX.Element {
  const pos = new Map(layout.nodes.map((n) => [n.id, { x: n.column * (BOX.w + BOX.gapX), y: n.row * (BOX.h + BOX.gapY) }]));
  const width = layout.columns * (BOX.w + BOX.gapX) - BOX.gapX;
  const height = layout.rows * (BOX.h + BOX.gapY) - BOX.gapY;
  return (
    <figure class="dag">
      <svg viewBox={`-2 -2 ${width + 4} ${height + 4}`} width={width + 4} role="img" aria-label={`The steps of ${run.workflow} and their states`}>
        {layout.edges.map((e) => {
          const a = pos.get(e.from)!;
          const b = pos.get(e.to)!;
          return <line key={`${e.from}>${e.to}`} class="dag-edge" x1={a.x + BOX.w} y1={a.y + BOX.h / 2} x2={b.x} y2={b.y + BOX.h / 2} />;
        })}
        {layout.nodes.map((n) => {
          const p = pos.get(n.id)!;
          const status = run.steps[n.id]?.status ?? 'pending';
          return (
            <g key={n.id} class={`dag-node status-${status}`} transform={`translate(${p.x} ${p.y})`} data-step={n.id} data-status={status}>
              <rect width={BOX.w} height={BOX.h} rx={6} />
              <text x={10} y={18}>
                {n.id}
              </text>
              <text x={10} y={35} class="dag-status">
                {status}
              </text>
            </g>
          );
        })}
      </svg>
    </figure>
  );
}
