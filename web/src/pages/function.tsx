import type { JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import type { Api } from '../api.js';
import { recallCode, rememberCode } from '../code-cache.js';
import { FunctionRuntime } from '../components/function-runtime.js';
import { diffLines, diffSettings } from '../diff.js';
import { ago, bytes, json, ms } from '../format.js';
import { useLoad } from '../load.js';
import type { PageProps } from '../page.js';
import type { Execution, FunctionInfo } from '../types.js';
import { ErrorNote, Link, PageTitle, StatusBadge, TableWrap, useNow } from '../ui.js';
import { DeployForm } from './deploy.js';

interface Detail {
  fn: FunctionInfo;
  versions: FunctionInfo[];
}

/** A function: settings, invoke form, versions with a diff of two, and a deploy form for a new version. */
export function FunctionPage({ api, caps, params }: PageProps): JSX.Element {
  const name = params.name ?? '';
  const detail = useLoad<Detail>(
    async (signal) => {
      const [fn, { versions }] = await Promise.all([
        api.get<FunctionInfo>(`/v1/functions/${encodeURIComponent(name)}?include=code`, signal),
        api.get<{ versions: FunctionInfo[] }>(`/v1/functions/${encodeURIComponent(name)}/versions`, signal),
      ]);
      if (fn.code !== undefined) rememberCode(sessionStorage, fn.codeSha256, fn.code);
      return { fn, versions };
    },
    [name],
  );
  const fn = detail.value?.fn;

  return (
    <section>
      <div class="page-head">
        <PageTitle>{name}</PageTitle>
        {fn && <span class="muted">v{fn.version}</span>}
        {caps.readExecutions && <Link to={`/executions?function=${encodeURIComponent(name)}`}>Executions</Link>}
      </div>
      <ErrorNote error={detail.error} />
      {fn && (
        <>
          {fn.description && <p>{fn.description}</p>}
          <div class="columns">
            <Settings fn={fn} />
            <FunctionRuntime fn={fn} />
            {caps.invoke && <InvokeForm api={api} name={name} />}
          </div>
          <Versions api={api} name={name} versions={detail.value!.versions} latest={fn} />
          {caps.deploy && (
            <details class="panel">
              <summary>Deploy a new version</summary>
              <DeployForm key={fn.version} api={api} previous={fn} onDeployed={(_, created) => created && detail.reload()} />
            </details>
          )}
          {fn.code !== undefined && (
            <details class="panel">
              <summary>Code of v{fn.version}</summary>
              <pre class="code" tabIndex={0}>
                {fn.code}
              </pre>
            </details>
          )}
        </>
      )}
    </section>
  );
}

function Settings({ fn }: { fn: FunctionInfo }): JSX.Element {
  const now = useNow(10_000);
  const env = Object.entries(fn.env ?? {});
  return (
    <div class="panel">
      <h2>Settings</h2>
      <dl class="settings">
        <dt>Handler</dt>
        <dd>{fn.handler}</dd>
        <dt>Runtime</dt>
        <dd>{fn.runtime}</dd>
        <dt>Timeout</dt>
        <dd>{ms(fn.timeoutMs)}</dd>
        <dt>Memory</dt>
        <dd>{fn.memoryMb} MB</dd>
        <dt>Retries (async)</dt>
        <dd>{fn.maxRetries}</dd>
        <dt>Concurrency</dt>
        <dd>{fn.concurrency === 0 ? 'unlimited' : fn.concurrency}</dd>
        {fn.maxQueueMs !== undefined && (
          <>
            <dt>Max time queued</dt>
            <dd>{ms(fn.maxQueueMs)}</dd>
          </>
        )}
        <dt>Code</dt>
        <dd>
          {bytes(fn.codeBytes)}, sha256 <code>{fn.codeSha256.slice(0, 12)}</code>
        </dd>
        <dt>Updated</dt>
        <dd>{ago(fn.updatedAt, now)}</dd>
        <dt>Env</dt>
        <dd>{env.length === 0 ? 'none' : env.map(([k, v]) => <div key={k}>{v === null ? `${k} (value hidden from this key)` : `${k}=${v}`}</div>)}</dd>
      </dl>
    </div>
  );
}

function InvokeForm({ api, name }: { api: Api; name: string }): JSX.Element {
  const [input, setInput] = useState('{\n  "name": "TaskForge"\n}');
  const [mode, setMode] = useState<'sync' | 'async'>('sync');
  const [result, setResult] = useState<{ status: number; body: Execution | { executionId: string; status: string } } | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    let event: unknown;
    try {
      event = input.trim() === '' ? null : JSON.parse(input);
    } catch (err) {
      setError(`The input is not JSON: ${(err as Error).message}`);
      return;
    }
    setBusy(true);
    setError(null);
    setResult(null);
    try {
      const r = await api.request<Execution | { executionId: string; status: string }>(
        'POST',
        `/v1/functions/${encodeURIComponent(name)}/invoke?mode=${mode}`,
        {
          body: event,
          accept: [502, 504],
        },
      );
      setResult(r);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  const id = result ? ('executionId' in result.body ? result.body.executionId : result.body.id) : null;
  const record = result && 'id' in result.body ? result.body : null;
  return (
    <form class="panel invoke" onSubmit={(e) => void submit(e)}>
      <h2>Invoke</h2>
      <div class="field">
        <label for="invoke-input">Input (JSON)</label>
        <textarea id="invoke-input" class="code" rows={6} spellcheck={false} value={input} onInput={(e) => setInput(e.currentTarget.value)} />
      </div>
      <fieldset class="inline">
        <legend>Mode</legend>
        <label>
          <input type="radio" name="invoke-mode" value="sync" checked={mode === 'sync'} onChange={() => setMode('sync')} /> sync (wait for the result)
        </label>
        <label>
          <input type="radio" name="invoke-mode" value="async" checked={mode === 'async'} onChange={() => setMode('async')} /> async (queue it)
        </label>
      </fieldset>
      <button type="submit" disabled={busy}>
        {busy ? 'Invoking…' : 'Invoke'}
      </button>
      <ErrorNote error={error} />
      {result && (
        <div class="result" role="status" aria-label="Invocation result">
          <p>
            {record ? <StatusBadge status={record.status} /> : <StatusBadge status="queued" />} HTTP {result.status} ·{' '}
            {id && <Link to={`/executions/${id}`}>{id}</Link>}
            {record?.durationMs !== undefined && record.durationMs !== null && <> · {ms(record.durationMs)}</>}
          </p>
          {record && record.status === 'succeeded' && <pre class="code">{json(record.output)}</pre>}
          {record?.error && <pre class="code error-text">{`${record.error.code}: ${record.error.message}`}</pre>}
        </div>
      )}
    </form>
  );
}

// The code is compared below, line by line; its digest says nothing more.
const SETTINGS_IGNORED = ['createdAt', 'updatedAt', 'code', 'version', 'codeSha256', 'circuit'];

function Versions({ api, name, versions, latest }: { api: Api; name: string; versions: FunctionInfo[]; latest: FunctionInfo }): JSX.Element {
  const now = useNow(10_000);
  const newest = versions[0]?.version ?? latest.version;
  const [a, setA] = useState(String(versions[1]?.version ?? newest));
  const [b, setB] = useState(String(newest));
  const va = versions.find((v) => String(v.version) === a);
  const vb = versions.find((v) => String(v.version) === b);
  const codeOf = (v: FunctionInfo | undefined): string | null =>
    v ? (v.version === latest.version && latest.code !== undefined ? latest.code : recallCode(sessionStorage, v.codeSha256)) : null;
  const [, setFetched] = useState(0);
  const [codeError, setCodeError] = useState<unknown>(null);
  const ca = codeOf(va);
  const cb = codeOf(vb);
  // A version whose code this tab has not seen is read once (`?version=N&include=code`) and kept by digest.
  const missing = [ca === null ? va : undefined, cb === null ? vb : undefined].filter((v): v is FunctionInfo => v !== undefined);
  const missingKey = missing.map((v) => v.version).join(',');
  useEffect(() => {
    if (missing.length === 0) return;
    const ac = new AbortController();
    Promise.all(
      missing.map(async (v) => {
        const withCode = await api.get<FunctionInfo>(`/v1/functions/${encodeURIComponent(name)}?version=${v.version}&include=code`, ac.signal);
        if (withCode.code !== undefined) rememberCode(sessionStorage, withCode.codeSha256, withCode.code);
      }),
    )
      .then(() => !ac.signal.aborted && setFetched((n) => n + 1))
      .catch((err: unknown) => !ac.signal.aborted && setCodeError(err));
    return () => ac.abort();
  }, [api, name, missingKey]);
  const settings = va && vb ? diffSettings(va as unknown as Record<string, unknown>, vb as unknown as Record<string, unknown>, SETTINGS_IGNORED) : [];

  return (
    <div class="panel">
      <h2>Versions</h2>
      <TableWrap label="Versions">
        <table>
          <thead>
            <tr>
              <th scope="col">Version</th>
              <th scope="col">Created</th>
              <th scope="col">Code</th>
              <th scope="col">Handler</th>
              <th scope="col">Timeout</th>
            </tr>
          </thead>
          <tbody>
            {versions.map((v) => (
              <tr key={v.version}>
                <th scope="row">v{v.version}</th>
                <td>{ago(v.createdAt, now)}</td>
                <td>
                  {bytes(v.codeBytes)} <code>{v.codeSha256.slice(0, 8)}</code>
                </td>
                <td>{v.handler}</td>
                <td>{ms(v.timeoutMs)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </TableWrap>
      {versions.length > 1 && (
        <div class="diff-pick">
          <h3>Compare</h3>
          <label>
            from{' '}
            <select value={a} onChange={(e) => setA(e.currentTarget.value)}>
              {versions.map((v) => (
                <option key={v.version} value={String(v.version)}>
                  v{v.version}
                </option>
              ))}
            </select>
          </label>{' '}
          <label>
            to{' '}
            <select value={b} onChange={(e) => setB(e.currentTarget.value)}>
              {versions.map((v) => (
                <option key={v.version} value={String(v.version)}>
                  v{v.version}
                </option>
              ))}
            </select>
          </label>
          {settings.length > 0 && (
            <table class="settings-diff">
              <caption>Settings that changed</caption>
              <tbody>
                {settings.map(([k, before, after]) => (
                  <tr key={k}>
                    <th scope="row">{k}</th>
                    <td class="del">{before}</td>
                    <td class="ins">{after}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          {va && vb && va.codeSha256 === vb.codeSha256 && <p class="muted">Same code.</p>}
          {va &&
            vb &&
            va.codeSha256 !== vb.codeSha256 &&
            (ca === null || cb === null) &&
            (codeError ? <ErrorNote error={codeError} /> : <p class="muted">Reading the code…</p>)}
          {va && vb && va.codeSha256 !== vb.codeSha256 && ca !== null && cb !== null && <CodeDiff before={ca} after={cb} />}
        </div>
      )}
    </div>
  );
}

function CodeDiff({ before, after }: { before: string; after: string }): JSX.Element {
  const lines = diffLines(before, after);
  return (
    <pre class="code diff" tabIndex={0} aria-label="Code diff">
      {lines.map((l, i) => (
        <div key={i} class={l.op === '+' ? 'ins' : l.op === '-' ? 'del' : ''}>
          <span class="visually-hidden">{l.op === '+' ? 'added: ' : l.op === '-' ? 'removed: ' : ''}</span>
          {l.op} {l.text}
        </div>
      ))}
    </pre>
  );
}
