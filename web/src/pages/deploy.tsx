import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import type { Api } from '../api.js';
import type { PageProps } from '../page.js';
import { rememberCode } from '../code-cache.js';
import { EXAMPLE_CODE, specBody, type DeployForm as Form } from '../spec.js';
import type { FunctionInfo } from '../types.js';
import { ErrorNote, PageTitle, navigate } from '../ui.js';

const NAME_RE = /^[a-z][a-z0-9-]{0,62}$/;

/** Deploy a new function, or a new version of one, by pasting its code. */
export function DeployForm({
  api,
  previous,
  onDeployed,
}: {
  api: Api;
  previous: FunctionInfo | null;
  onDeployed: (fn: FunctionInfo, created: boolean) => void;
}): JSX.Element {
  const [name, setName] = useState(previous?.name ?? '');
  const [form, setForm] = useState<Form>({
    code: previous?.code ?? EXAMPLE_CODE,
    handler: previous?.handler ?? '',
    timeoutMs: previous ? String(previous.timeoutMs) : '',
    description: previous?.description ?? '',
  });
  const [error, setError] = useState<unknown>(null);
  const [note, setNote] = useState('');
  const [busy, setBusy] = useState(false);
  const set = (k: keyof Form) => (e: { currentTarget: { value: string } }) => setForm({ ...form, [k]: e.currentTarget.value });
  const id = previous ? 'deploy-version' : 'deploy-new';

  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    if (!NAME_RE.test(name)) {
      setError('A function name is lowercase letters, digits and dashes, starting with a letter (at most 63).');
      return;
    }
    setBusy(true);
    setError(null);
    setNote('');
    try {
      const { body, envDropped } = specBody(form, previous);
      const res = await api.request<FunctionInfo>('PUT', `/v1/functions/${name}`, { body });
      rememberCode(sessionStorage, res.body.codeSha256, form.code);
      setNote(
        (res.status === 201 ? `Deployed ${name} v${res.body.version}.` : `Nothing changed: v${res.body.version} already has this code and these settings.`) +
          (envDropped ? ' Its env was not sent (this key cannot read env values).' : ''),
      );
      onDeployed(res.body, res.status === 201);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="deploy" onSubmit={(e) => void submit(e)}>
      {!previous && (
        <div class="field">
          <label for={`${id}-name`}>Name</label>
          <input id={`${id}-name`} required value={name} pattern="[a-z][a-z0-9\-]{0,62}" onInput={(e) => setName(e.currentTarget.value)} />
        </div>
      )}
      <div class="field-row">
        <div class="field">
          <label for={`${id}-handler`}>Handler export</label>
          <input id={`${id}-handler`} value={form.handler} placeholder="default" onInput={set('handler')} />
        </div>
        <div class="field">
          <label for={`${id}-timeout`}>Timeout (ms)</label>
          <input id={`${id}-timeout`} inputMode="numeric" value={form.timeoutMs} placeholder="30000" onInput={set('timeoutMs')} />
        </div>
        <div class="field grow">
          <label for={`${id}-description`}>Description</label>
          <input id={`${id}-description`} value={form.description} maxLength={256} onInput={set('description')} />
        </div>
      </div>
      <div class="field">
        <label for={`${id}-code`}>Code (an ES module or CommonJS; only Node.js builtins can be imported)</label>
        <textarea id={`${id}-code`} class="code" rows={14} spellcheck={false} required value={form.code} onInput={set('code')} />
      </div>
      <ErrorNote error={error} />
      {note && (
        <p class="ok-note" role="status">
          {note}
        </p>
      )}
      <button type="submit" disabled={busy}>
        {busy ? 'Deploying…' : previous ? 'Deploy new version' : 'Deploy'}
      </button>
    </form>
  );
}

export function DeployPage({ api }: PageProps): JSX.Element {
  return (
    <section>
      <PageTitle>Deploy a function</PageTitle>
      <DeployForm api={api} previous={null} onDeployed={(fn) => navigate(`/functions/${fn.name}`)} />
    </section>
  );
}
