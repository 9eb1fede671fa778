/**
 * Unleash: new Unleash({ bootstrap: { data } }) with refreshInterval 0 (the polling fetcher returns
 * before any request: the URL, a closed port on 127.0.0.1, is never contacted), metrics disabled, and
 * an in-memory storage provider instead of the default file backup. The flag has one flexibleRollout
 * strategy at 100% with two strategy variants weighted 500/500, sticky on userId.
 */
import { InMemStorageProvider, Unleash } from 'unleash-client';
import { CONTROL, EXPERIMENT_KEY, TREATMENT } from './shared.mjs';

export function featureDefinition() {
  const variant = (name) => ({
    name,
    weight: 500,
    weightType: 'variable',
    stickiness: 'userId',
    payload: { type: 'string', value: name },
  });
  return {
    name: EXPERIMENT_KEY,
    type: 'experiment',
    project: 'default',
    enabled: true,
    stale: false,
    impressionData: false,
    strategies: [
      {
        name: 'flexibleRollout',
        constraints: [],
        parameters: { rollout: '100', stickiness: 'userId', groupId: EXPERIMENT_KEY },
        variants: [variant(CONTROL), variant(TREATMENT)],
      },
    ],
    variants: [],
  };
}

/** unleash.getVariant(flag, { userId: id }). */
export async function unleashGetVariant() {
  const unleash = new Unleash({
    appName: 'sortition-bench',
    url: 'http://127.0.0.1:9/api/',
    refreshInterval: 0,
    disableMetrics: true,
    storageProvider: new InMemStorageProvider(),
    bootstrap: { data: [featureDefinition()] },
    skipInstanceCountWarning: true,
  });
  const errors = [];
  unleash.on('error', (error) => errors.push(String(error)));
  unleash.on('warn', (message) => errors.push(String(message)));
  if (!unleash.isSynchronized()) {
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`Unleash not ready from bootstrap: ${errors.join('; ')}`)), 5_000);
      unleash.once('ready', () => {
        clearTimeout(timer);
        resolve(undefined);
      });
    });
  }
  return {
    evaluate: (id) => unleash.getVariant(EXPERIMENT_KEY, { userId: id }).name,
    close: () => unleash.destroy(),
    notes: errors.length > 0 ? [`SDK reported: ${errors.join('; ')}`] : [],
  };
}
