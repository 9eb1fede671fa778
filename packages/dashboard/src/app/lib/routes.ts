/** The dashboard's pages and their paths. */

export type Tab = 'overview' | 'change' | 'health' | 'results' | 'history';
export const TABS: readonly Tab[] = ['overview', 'change', 'health', 'results', 'history'];

export type Route =
  | { readonly page: 'experiments' }
  | { readonly page: 'new-experiment' }
  | { readonly page: 'experiment'; readonly key: string; readonly tab: Tab }
  | { readonly page: 'history' }
  | { readonly page: 'verify' }
  | { readonly page: 'not-found'; readonly path: string };

export function parseRoute(location: string): Route {
  const path = location.split('?')[0] ?? '/';
  if (path === '/' || path === '/experiments' || path === '/experiments/') return { page: 'experiments' };
  if (path === '/new-experiment') return { page: 'new-experiment' };
  if (path === '/history') return { page: 'history' };
  if (path === '/verify') return { page: 'verify' };
  const m = /^\/experiments\/([a-z0-9][a-z0-9_.-]{0,63})(?:\/([a-z]+))?\/?$/.exec(path);
  if (m !== null) {
    const tab = (m[2] ?? 'overview') as Tab;
    if (TABS.includes(tab)) return { page: 'experiment', key: m[1]!, tab };
  }
  return { page: 'not-found', path };
}

export function experimentPath(key: string, tab: Tab = 'overview'): string {
  return tab === 'overview' ? `/experiments/${key}` : `/experiments/${key}/${tab}`;
}

/** Identity of a page for focus management: tabs of one experiment count as one page. */
export function pageKey(route: Route): string {
  return route.page === 'experiment' ? `experiment:${route.key}` : route.page;
}
