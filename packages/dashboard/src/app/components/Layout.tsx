/** Page frame: skip link, header with navigation and the signed-in key, main landmark. */
import type { ReactNode } from 'react';
import { Link } from '../lib/router.js';
import type { Route } from '../lib/routes.js';
import type { Session } from '../lib/session.js';
import { Badge } from './Badge.js';
import { SlotPatterns } from './SlotBar.js';

function NavLink({ to, current, children }: { readonly to: string; readonly current: boolean; readonly children: ReactNode }): ReactNode {
  return (
    <Link to={to} className="nav-link" aria-current={current ? 'page' : undefined}>
      {children}
    </Link>
  );
}

export function Layout({ session, route, onSignOut, children }: { readonly session: Session; readonly route: Route; readonly onSignOut: () => void; readonly children: ReactNode }): ReactNode {
  const section = route.page === 'verify' ? 'verify' : route.page === 'history' ? 'history' : 'experiments';
  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <SlotPatterns />
      <header className="site-header">
        <div className="header-inner">
          <Link to="/" className="brand">
            <span className="brand-mark" aria-hidden="true" />
            Sortition
          </Link>
          <nav aria-label="Main">
            <NavLink to="/" current={section === 'experiments'}>
              Experiments
            </NavLink>
            <NavLink to="/history" current={section === 'history'}>
              Config history
            </NavLink>
            <NavLink to="/verify" current={section === 'verify'}>
              Verify
            </NavLink>
          </nav>
          <div className="who">
            <span>
              {session.who.label} <Badge tone={session.who.canWrite ? 'info' : 'neutral'}>{session.who.canWrite ? 'admin' : 'read-only'}</Badge>
            </span>
            <button type="button" className="button-quiet" onClick={onSignOut}>
              Sign out
            </button>
          </div>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        {children}
      </main>
    </>
  );
}
