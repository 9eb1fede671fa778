import { describe, expect, it } from 'vitest';
import { experimentPath, pageKey, parseRoute } from './routes.js';

describe('routes', () => {
  it('maps paths to pages and back', () => {
    expect(parseRoute('/')).toEqual({ page: 'experiments' });
    expect(parseRoute('/new-experiment')).toEqual({ page: 'new-experiment' });
    expect(parseRoute('/experiments/new')).toEqual({ page: 'experiment', key: 'new', tab: 'overview' });
    expect(parseRoute('/experiments/checkout_v2/health?x=1')).toEqual({ page: 'experiment', key: 'checkout_v2', tab: 'health' });
    expect(parseRoute('/experiments/checkout_v2/nope')).toEqual({ page: 'not-found', path: '/experiments/checkout_v2/nope' });
    expect(parseRoute('/verify?unit=8821')).toEqual({ page: 'verify' });
    expect(experimentPath('a.b', 'results')).toBe('/experiments/a.b/results');
    expect(pageKey(parseRoute('/experiments/a/health'))).toBe(pageKey(parseRoute('/experiments/a')));
  });
});
