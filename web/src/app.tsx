/**
 * The shell: sign-in when there is no key, else the navigation the key's scopes allow and the page
 * the location names (routes.tsx). Client-side routing with the History API.
 */
import type { JSX } from 'preact';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { Api } from './api.js';
import { probeCapabilities, type Capabilities } from './capabilities.js';
import { homePath, navFor, resolve } from './router.js';
import { ROUTES } from './routes.js';
import { clearKey, loadKey, saveKey } from './session.js';
import { SignIn } from './pages/sign-in.js';
import { ErrorNote, Link, PageTitle, markMoved, setNavigate } from './ui.js';

interface Session {
  key: string;
  api: Api;
  caps: Capabilities;
}

const here = (): string => window.location.pathname + window.location.search;

export function App(): JSX.Element {
  const [location, setLocation] = useState(here());
  const [session, setSession] = useState<Session | null>(null);
  const [restoring, setRestoring] = useState(() => loadKey(sessionStorage) !== null);
  const [restoreError, setRestoreError] = useState<unknown>(null);

  useEffect(() => {
    setNavigate((to, opts) => {
      if (opts?.replace) history.replaceState(null, '', to);
      else history.pushState(null, '', to);
      setLocation(here());
      window.scrollTo(0, 0);
    });
    const onPop = (): void => {
      markMoved();
      setLocation(here());
    };
    window.addEventListener('popstate', onPop);
    return () => window.removeEventListener('popstate', onPop);
  }, []);

  // A key kept in this tab's session storage signs in again after a reload.
  useEffect(() => {
    const key = loadKey(sessionStorage);
    if (!key) return;
    const api = new Api(key);
    probeCapabilities(api)
      .then((caps) => setSession({ key, api, caps }))
      .catch((err: unknown) => {
        clearKey(sessionStorage);
        setRestoreError(err);
      })
      .finally(() => setRestoring(false));
  }, []);

  const signIn = async (key: string): Promise<void> => {
    const api = new Api(key);
    const caps = await probeCapabilities(api);
    saveKey(sessionStorage, key);
    markMoved();
    setSession({ key, api, caps });
  };
  const signOut = (): void => {
    clearKey(sessionStorage);
    setSession(null);
    history.pushState(null, '', '/');
    setLocation(here());
  };

  const path = location.split('?')[0] ?? '/';
  const search = location.includes('?') ? location.slice(location.indexOf('?')) : '';
  const resolved = useMemo(() => (session ? resolve(ROUTES, path, session.caps) : null), [session, path]);
  const home = session ? homePath(ROUTES, session.caps) : null;

  useEffect(() => {
    if (session && path === '/' && home) {
      history.replaceState(null, '', home);
      setLocation(here());
    }
  }, [session, path, home]);

  useEffect(() => {
    const title = resolved?.kind === 'page' ? resolved.route.title : session ? 'Not found' : 'Sign in';
    document.title = `${title} · TaskForge`;
  }, [resolved, session]);

  if (restoring) return <p class="loading">Signing in…</p>;
  if (!session) return <SignIn onSignIn={signIn} initialError={restoreError} />;

  const nav = navFor(ROUTES, session.caps);
  const active = resolved?.kind === 'page' || resolved?.kind === 'forbidden' ? resolved.route : null;
  let main: JSX.Element;
  if (resolved?.kind === 'page') {
    const P = resolved.route.page;
    main = <P key={path} api={session.api} caps={session.caps} params={resolved.params} search={search} />;
  } else if (resolved?.kind === 'forbidden') {
    main = (
      <section>
        <PageTitle>{resolved.route.title}</PageTitle>
        <ErrorNote error="This API key's scopes do not allow this page." />
      </section>
    );
  } else if (path === '/' && !home) {
    main = (
      <section>
        <PageTitle>Nothing to show</PageTitle>
        <p>This API key's scopes allow none of the dashboard's pages.</p>
      </section>
    );
  } else {
    main = (
      <section>
        <PageTitle>Not found</PageTitle>
        <p>There is no page at {path}.</p>
      </section>
    );
  }

  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <span class="brand">TaskForge</span>
        <nav aria-label="Main">
          <ul>
            {nav.map((r) => {
              const current = active && (active === r || active.pattern.startsWith(r.pattern + '/')) ? 'page' : undefined;
              return (
                <li key={r.pattern}>
                  <Link to={r.pattern} aria-current={current}>
                    {r.nav}
                  </Link>
                </li>
              );
            })}
          </ul>
        </nav>
        <button type="button" class="link-button" onClick={signOut}>
          Sign out
        </button>
      </header>
      <main id="main" tabIndex={-1}>
        {main}
      </main>
    </>
  );
}
