/** The dashboard shell: sign-in gate, the config in force, navigation, and the page for the path. */
import { lazy, Suspense, useCallback, useEffect, useMemo, useState, type ReactNode } from 'react';
import { Layout } from './components/Layout.js';
import { Loading, Problem } from './components/Problem.js';
import { DashboardContext, type Dashboard } from './lib/context.js';
import { parseRoute, pageKey, type Route } from './lib/routes.js';
import { useFocusHeadingOnChange, useLocation } from './lib/router.js';
import { signIn, signOut, storedKey, type Session } from './lib/session.js';
import type { ConfigRecord } from './lib/types.js';
import { ExperimentPage } from './pages/ExperimentPage.js';
import { Experiments } from './pages/Experiments.js';
import { History } from './pages/History.js';
import { NewExperiment } from './pages/NewExperiment.js';
import { SignIn } from './pages/SignIn.js';

// The verifier (@sortition/proofs) is loaded only when someone opens Verify.
const Verify = lazy(async () => ({ default: (await import('./pages/Verify.js')).Verify }));

function Page({ route }: { readonly route: Route }): ReactNode {
  switch (route.page) {
    case 'experiments':
      return <Experiments />;
    case 'new-experiment':
      return <NewExperiment />;
    case 'experiment':
      return <ExperimentPage experimentKey={route.key} tab={route.tab} />;
    case 'history':
      return <History />;
    case 'verify':
      return (
        <Suspense fallback={<Loading what="the verifier" />}>
          <Verify />
        </Suspense>
      );
    default:
      return (
        <>
          <h1 tabIndex={-1}>Page not found</h1>
          <p>
            There is no dashboard page at <code>{route.path}</code>.
          </p>
        </>
      );
  }
}

export function App(): ReactNode {
  const [session, setSession] = useState<Session | null>(null);
  const [config, setConfig] = useState<ConfigRecord | null>(null);
  const [restoring, setRestoring] = useState(() => storedKey() !== null);
  const [notice, setNotice] = useState<string | null>(null);
  const [configError, setConfigError] = useState<unknown>(null);
  const location = useLocation();
  const route = parseRoute(location);
  useFocusHeadingOnChange(pageKey(route));

  const expire = useCallback(() => {
    signOut();
    setSession(null);
    setConfig(null);
    setNotice('The service no longer accepts this key (unknown or revoked). Sign in again.');
  }, []);

  const start = useCallback(
    async (key: string) => {
      const s = await signIn(key, expire);
      setNotice(null);
      setSession(s);
    },
    [expire],
  );

  useEffect(() => {
    const key = storedKey();
    if (key === null) return;
    start(key)
      .catch(() => {
        signOut();
      })
      .finally(() => setRestoring(false));
  }, [start]);

  const reloadConfig = useCallback(async () => {
    if (session === null) throw new Error('not signed in');
    const record = await session.api.get<ConfigRecord>('/v1/config');
    setConfig(record);
    setConfigError(null);
    return record;
  }, [session]);

  useEffect(() => {
    if (session === null) return;
    reloadConfig().catch((error: unknown) => setConfigError(error));
  }, [session, reloadConfig]);

  const dashboard = useMemo<Dashboard | null>(
    () => (session === null || config === null ? null : { session, config, reloadConfig, now: () => session.api.serverNow() }),
    [session, config, reloadConfig],
  );

  const leave = useCallback(() => {
    signOut();
    setSession(null);
    setConfig(null);
    setNotice('Signed out. The key was removed from this tab.');
  }, []);

  if (restoring) return <Loading what="your session" />;
  if (session === null) return <SignIn onSignIn={start} notice={notice} />;
  return (
    <Layout session={session} route={route} onSignOut={leave}>
      {dashboard !== null ? (
        <DashboardContext.Provider value={dashboard}>
          <Page route={route} />
        </DashboardContext.Provider>
      ) : configError !== null ? (
        <>
          <h1 tabIndex={-1}>The config could not be loaded</h1>
          <Problem error={configError} title="GET /v1/config failed" />
        </>
      ) : (
        <Loading what="the config in force" />
      )}
    </Layout>
  );
}
