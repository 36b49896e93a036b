import type { JSX } from 'preact';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { Chart } from '../components/chart.js';
import { ago } from '../format.js';
import { follow } from '../live.js';
import type { PageProps } from '../page.js';
import { Series } from '../stats.js';
import { TERMINAL, type Execution, type Stats, type WorkerInfo } from '../types.js';
import { ErrorNote, LoadMeter, PageTitle, TableWrap, useNow } from '../ui.js';

/** ms between reads of /v1/workers and /v1/stats. */
export const POLL_MS = 1000;
const BUCKET_MS = 2000;
const BUCKETS = 90;
/** Executions read at the start, so the charts show the last minutes at once. */
const HISTORY = 500;

/** Workers with their load, warm functions, sandbox and heartbeat, updated live; cluster stats and charts. */
export function WorkersPage({ api }: PageProps): JSX.Element {
  const [workers, setWorkers] = useState<WorkerInfo[] | null>(null);
  const [stats, setStats] = useState<Stats | null>(null);
  const [error, setError] = useState<unknown>(null);
  const series = useRef(new Series(BUCKET_MS, BUCKETS));
  const now = useNow(POLL_MS);

  useEffect(() => {
    const ac = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const poll = async (): Promise<void> => {
      try {
        const [w, s] = await Promise.all([api.get<{ workers: WorkerInfo[] }>('/v1/workers', ac.signal), api.get<Stats>('/v1/stats', ac.signal)]);
        setWorkers(w.workers);
        setStats(s);
        setError(null);
      } catch (err) {
        if (!ac.signal.aborted) setError(err);
      }
      if (!ac.signal.aborted) timer = setTimeout(() => void poll(), POLL_MS);
    };
    void poll();
    // Throughput and latency: the latest finished executions, then every one that finishes, as it finishes.
    const seen = new Set<string>();
    const count = (e: Execution): void => {
      if (!TERMINAL.has(e.status) || seen.has(e.id)) return;
      seen.add(e.id);
      if (seen.size > 10_000) seen.clear();
      series.current.add(e.finishedAt ? Date.parse(e.finishedAt) : Date.now(), e.durationMs);
    };
    api
      .get<{ executions: Execution[] }>(`/v1/executions?limit=${HISTORY}`, ac.signal)
      .then((r) => r.executions.forEach(count))
      .catch(() => undefined);
    void follow(
      api,
      '/v1/events',
      {
        onEvent: (ev) => {
          if (ev.event !== 'execution') return;
          count(JSON.parse(ev.data) as Execution);
        },
      },
      ac.signal,
      { reconnect: true },
    );
    return () => {
      ac.abort();
      clearTimeout(timer);
    };
  }, [api]);

  const [t, rate, p50, p99] = useMemo(() => series.current.data(now), [now]);
  const throughput = useMemo(() => [t, rate] as [number[], number[]], [t, rate]);
  const latency = useMemo(() => [t, p50, p99] as [number[], (number | null)[], (number | null)[]], [t, p50, p99]);

  return (
    <section>
      <PageTitle>Workers</PageTitle>
      <ErrorNote error={error} />
      {stats && (
        <dl class="stat-cards" aria-label="Cluster">
          {(
            [
              ['Queued', stats.executions.queued],
              ['Running', stats.executions.running],
              ['Succeeded', stats.executions.succeeded],
              ['Failed', stats.executions.failed],
              ['Timed out', stats.executions.timed_out],
              ['Cancelled', stats.executions.cancelled],
              ['Queue depth', stats.queueDepth],
              ['Workers ready', stats.workers.ready],
            ] as const
          ).map(([label, value]) => (
            <div key={label} class="stat">
              <dt>{label}</dt>
              <dd>{value}</dd>
            </div>
          ))}
        </dl>
      )}
      {workers && workers.length === 0 && <p>No workers are connected.</p>}
      {workers && workers.length > 0 && (
        <TableWrap label="Workers">
          <table class="workers">
            <thead>
              <tr>
                <th scope="col">Worker</th>
                <th scope="col">Status</th>
                <th scope="col">Load</th>
                <th scope="col">Warm functions</th>
                <th scope="col">Sandbox</th>
                <th scope="col">Last heartbeat</th>
                <th scope="col">Completed</th>
              </tr>
            </thead>
            <tbody>
              {workers.map((w) => (
                <tr key={w.id} data-worker={w.name}>
                  <th scope="row">
                    {w.name} <div class="muted small">{w.id}</div>
                  </th>
                  <td>
                    <span class={`badge worker-${w.status}`}>{w.status}</span>
                  </td>
                  <td>
                    <LoadMeter inFlight={w.inFlight} capacity={w.capacity} label={`Load of ${w.name}`} />
                  </td>
                  <td>{w.warm.length === 0 ? <span class="muted">none</span> : w.warm.join(', ')}</td>
                  <td>{w.sandbox}</td>
                  <td>{ago(w.lastHeartbeatAt, now)}</td>
                  <td>{w.completed}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      )}
      <div class="columns">
        <Chart
          title="Throughput (finished executions per second, 2 s windows)"
          unit="per s"
          series={[{ label: 'finished/s', stroke: '#1f5fbf' }]}
          data={throughput}
        />
        <Chart
          title="Latency (run time of finished executions, 2 s windows)"
          unit="ms"
          series={[
            { label: 'p50', stroke: '#1b7f3b', spanGaps: true },
            { label: 'p99', stroke: '#b3261e', dash: [6, 4], spanGaps: true },
          ]}
          data={latency}
        />
      </div>
    </section>
  );
}
