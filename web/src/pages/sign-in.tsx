import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { ApiError } from '../api.js';
import { isKeyForm } from '../session.js';
import { ErrorNote, PageTitle } from '../ui.js';

/** Sign-in with an API key; it is kept in this tab's session storage only. */
export function SignIn({ onSignIn, initialError }: { onSignIn: (key: string) => Promise<void>; initialError: unknown }): JSX.Element {
  const [key, setKey] = useState('');
  const [error, setError] = useState<unknown>(initialError);
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    const k = key.trim();
    if (!isKeyForm(k)) {
      setError('That is not an API key: keys look like tfk_<12 characters>_<secret>.');
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await onSignIn(k);
    } catch (err) {
      setError(err instanceof ApiError && err.status === 401 ? 'The gateway does not accept this key.' : err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <main id="main" class="sign-in">
      <PageTitle>TaskForge</PageTitle>
      <form onSubmit={(e) => void submit(e)} aria-describedby="key-help">
        <label for="api-key">API key</label>
        <input
          id="api-key"
          name="api-key"
          type="password"
          autoComplete="off"
          spellcheck={false}
          required
          value={key}
          onInput={(e) => setKey(e.currentTarget.value)}
        />
        <p id="key-help" class="muted">
          The key stays in this browser tab (session storage) and is sent only in the authorization header. The pages shown follow its scopes.
        </p>
        <ErrorNote error={error} />
        <button type="submit" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
