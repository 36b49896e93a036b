import type { JSX } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError } from '../api.js';
import { ago, json, ms, percent, timingsSoFar } from '../format.js';
import { follow } from '../live.js';
import type { PageProps } from '../page.js';
import { mergeNewer } from '../executions-model.js';
import { relative, retryOf, triggerText } from '../records.js';
import { TERMINAL, type Execution, type LogLine, type WorkerInfo } from '../types.js';
import { ErrorNote, Link, PageTitle, StatusBadge, TimingsBar, navigate, useNow } from '../ui.js';

/** One execution: status, input/output, error, attempts, timings, placement, logs that follow while it runs; cancel. */
export function ExecutionPage({ api, caps, params }: PageProps): JSX.Element {
  const id = params.id ?? '';
  const [ex, setEx] = useState<Execution | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [lines, setLines] = useState<LogLine[]>([]);
  const [logsState, setLogsState] = useState<'loading' | 'following' | 'done'>('loading');
  const [truncated, setTruncated] = useState(false);
  const [worker, setWorker] = useState<WorkerInfo | null>(null);
  const [cancelError, setCancelError] = useState<unknown>(null);
  const [cancelling, setCancelling] = useState(false);
  const [retrying, setRetrying] = useState(false);
  const now = useNow();
  const logRef = useRef<HTMLOListElement>(null);

  // The record, its state changes live, and its logs (followed until `end` while it runs).
  useEffect(() => {
    const ac = new AbortController();
    const path = `/v1/executions/${encodeURIComponent(id)}`;
    // The record is read once its change stream is open, so no change falls between the two;
    // whichever of them is further along wins (mergeNewer).
    let read = false;
    const readRecord = (): void => {
      if (read) return;
      read = true;
      api
        .get<Execution>(path, ac.signal)
        .then((e) => setEx((cur) => mergeNewer(cur, e)))
        .catch((err: unknown) => !ac.signal.aborted && setError(err));
    };
    const fallback = setTimeout(readRecord, 3000);
    void follow(
      api,
      `/v1/events?execution=${encodeURIComponent(id)}`,
      {
        onOpen: readRecord,
        onError: readRecord,
        onEvent: (ev) => {
          if (ev.event === 'reset') {
            read = false;
            readRecord();
          }
          if (ev.event !== 'execution') return;
          const change = JSON.parse(ev.data) as Execution;
          setEx((cur) => mergeNewer(cur, change));
        },
      },
      ac.signal,
      { reconnect: true },
    );
    setLogsState('following');
    void follow(
      api,
      `${path}/logs?follow=1`,
      {
        onEvent: (ev) => {
          if (ev.event === 'log') setLines((l) => [...l, JSON.parse(ev.data) as LogLine]);
          else if (ev.event === 'end') {
            const final = JSON.parse(ev.data) as Execution;
            setEx((cur) => mergeNewer(cur, final));
            setLogsState('done');
          }
        },
        onError: (err) => {
          setLogsState('done');
          if (!(err instanceof ApiError && err.code === 'EXECUTION_NOT_FOUND')) setError(err);
        },
      },
      ac.signal,
      { reconnect: false },
    ).then(() => {
      if (ac.signal.aborted) return;
      setLogsState('done');
      // The plain read says whether lines were dropped between the head and the tail.
      api
        .get<{ truncated: boolean }>(`${path}/logs`, ac.signal)
        .then((r) => setTruncated(r.truncated))
        .catch(() => undefined);
    });
    return () => {
      clearTimeout(fallback);
      ac.abort();
    };
  }, [api, id]);

  // Which worker, and its load now (a key that may read the cluster).
  const workerId = ex?.placement?.workerId ?? ex?.workerId ?? null;
  useEffect(() => {
    if (!caps.cluster || !workerId) return;
    const ac = new AbortController();
    api
      .get<{ workers: WorkerInfo[] }>('/v1/workers', ac.signal)
      .then((r) => setWorker(r.workers.find((w) => w.id === workerId) ?? null))
      .catch(() => undefined);
    return () => ac.abort();
  }, [api, caps, workerId]);

  useEffect(() => {
    const el = logRef.current;
    if (el) el.scrollTop = el.scrollHeight;
  }, [lines]);

  const cancel = async (): Promise<void> => {
    setCancelling(true);
    setCancelError(null);
    try {
      const r = await api.request<Execution>('POST', `/v1/executions/${encodeURIComponent(id)}/cancel`, { body: {} });
      setEx(r.body);
    } catch (err) {
      setCancelError(err);
    } finally {
      setCancelling(false);
    }
  };

  // A retry is a new execution: the page moves to it.
  const retry = async (): Promise<void> => {
    setRetrying(true);
    setCancelError(null);
    try {
      const r = await api.request<{ executionId: string }>('POST', `/v1/executions/${encodeURIComponent(id)}/retry`, { body: {} });
      navigate(`/executions/${r.body.executionId}`);
    } catch (err) {
      setCancelError(err);
      setRetrying(false);
    }
  };

  const terminal = ex ? TERMINAL.has(ex.status) : false;
  const original = retryOf(ex?.trigger);
  return (
    <section>
      <div class="page-head">
        <PageTitle>
          Execution <code>{id}</code>
        </PageTitle>
        {ex && <StatusBadge status={ex.status} />}
        {ex && caps.invoke && !terminal && (
          <button type="button" class="danger" onClick={() => void cancel()} disabled={cancelling}>
            {cancelling ? 'Cancelling…' : 'Cancel'}
          </button>
        )}
        {ex && caps.retry && terminal && (
          <button type="button" onClick={() => void retry()} disabled={retrying}>
            {retrying ? 'Retrying…' : 'Retry'}
          </button>
        )}
        {ex?.cached && <span class="badge cached">cached</span>}
      </div>
      <ErrorNote error={error} />
      <ErrorNote error={cancelError} />
      {ex && (
        <div class="columns">
          <div class="panel">
            <h2>Summary</h2>
            <dl class="settings">
              <dt>Function</dt>
              <dd>
                {caps.readFunctions ? <Link to={`/functions/${ex.function}`}>{ex.function}</Link> : ex.function} v{ex.version}
              </dd>
              <dt>Status</dt>
              <dd>
                <StatusBadge status={ex.status} />
              </dd>
              <dt>Trigger</dt>
              <dd>
                {triggerText(ex.trigger, ex.mode)}
                {original && (
                  <>
                    {' '}
                    <Link to={`/executions/${original}`}>{original}</Link>
                  </>
                )}
              </dd>
              {ex.scheduledFor && (
                <>
                  <dt>Scheduled for</dt>
                  <dd>
                    <time dateTime={ex.scheduledFor}>{relative(ex.scheduledFor, now)}</time>
                  </dd>
                </>
              )}
              {ex.priority !== undefined && ex.priority !== null && (
                <>
                  <dt>Priority</dt>
                  <dd>{ex.priority}</dd>
                </>
              )}
              {ex.cached && (
                <>
                  <dt>Output</dt>
                  <dd>reused from the result cache</dd>
                </>
              )}
              <dt>Attempts</dt>
              <dd>
                {ex.attempt} of {ex.maxAttempts}
                {ex.crashes ? `, ${ex.crashes} crashed` : ''}
              </dd>
              <dt>Created</dt>
              <dd>{ago(ex.createdAt, now)}</dd>
              <dt>Started</dt>
              <dd>{ago(ex.startedAt, now)}</dd>
              <dt>Finished</dt>
              <dd>{ago(ex.finishedAt, now)}</dd>
              <dt>Duration</dt>
              <dd>{ms(ex.durationMs)}</dd>
              {ex.idempotencyKey && (
                <>
                  <dt>Idempotency key</dt>
                  <dd>{ex.idempotencyKey}</dd>
                </>
              )}
            </dl>
            <h3>Timings</h3>
            <TimingsBar timings={timingsSoFar(ex, now)} />
            {!ex.timings && !terminal && <p class="muted small">So far, by the clock; the worker's measure comes at the end.</p>}
          </div>
          <div class="panel">
            <h2>Placement</h2>
            {ex.placement || ex.workerId ? (
              <dl class="settings">
                <dt>Worker</dt>
                <dd>
                  {worker?.name ?? ex.placement?.workerId ?? ex.workerId}
                  {worker && <span class="muted"> ({worker.id})</span>}
                </dd>
                {ex.placement && (
                  <>
                    <dt>Its load when chosen</dt>
                    <dd>{percent(ex.placement.load)}</dd>
                    <dt>Start</dt>
                    <dd>{ex.placement.warm ? 'warm' : 'cold'}</dd>
                    <dt>Eligible workers</dt>
                    <dd>{ex.placement.candidates}</dd>
                  </>
                )}
                {worker && (
                  <>
                    <dt>Its load now</dt>
                    <dd>
                      {worker.inFlight} / {worker.capacity}
                    </dd>
                  </>
                )}
              </dl>
            ) : (
              <p class="muted">Not placed yet.</p>
            )}
          </div>
        </div>
      )}
      {ex && (
        <div class="columns">
          <div class="panel">
            <h2>Input</h2>
            <pre class="code" tabIndex={0}>
              {ex.input === undefined ? '—' : json(ex.input)}
            </pre>
          </div>
          <div class="panel">
            <h2>{ex.error ? 'Error' : 'Output'}</h2>
            {ex.error ? (
              <pre class="code error-text" tabIndex={0}>
                {`${ex.error.code}${ex.error.name ? ` (${ex.error.name})` : ''}: ${ex.error.message}`}
                {ex.error.stack ? `\n\n${ex.error.stack}` : ''}
                {ex.error.details !== undefined ? `\n\ndetails: ${json(ex.error.details)}` : ''}
              </pre>
            ) : (
              <pre class="code" tabIndex={0}>
                {terminal ? json(ex.output) : 'not finished yet'}
              </pre>
            )}
          </div>
        </div>
      )}
      <div class="panel">
        <h2>
          Logs <span class="muted small">{logsState === 'following' ? '(following)' : ''}</span>
        </h2>
        {lines.length === 0 ? (
          <p class="muted">{logsState === 'done' ? 'No log lines.' : 'Waiting for log lines…'}</p>
        ) : (
          <ol class="logs" ref={logRef} tabIndex={0} aria-label="Log lines" aria-live="polite">
            {lines.map((l, i) => (
              <li key={i} class={l.stream}>
                <time dateTime={l.ts}>{l.ts.slice(11, 23)}</time> {l.attempt !== undefined && <span class="muted">#{l.attempt}</span>}{' '}
                <span class="stream">{l.stream}</span> <span class="msg">{l.message}</span>
              </li>
            ))}
          </ol>
        )}
        {truncated && <p class="muted">Some lines between the first and the last ones were dropped (the per-execution cap).</p>}
      </div>
    </section>
  );
}
