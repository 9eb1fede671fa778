/**
 * Optimizely Feature Experimentation: createInstance with a static project config manager built from
 * an inline datafile (no sdkKey, so nothing is fetched), no event processor (so no impression
 * events are queued or dispatched), no ODP manager and no logger. The datafile holds one running
 * experiment with a 50/50 traffic allocation and a feature flag that runs it.
 */
import { createInstance, createStaticProjectConfigManager } from '@optimizely/optimizely-sdk';
import { CONTROL, EXPERIMENT_KEY, TREATMENT } from './shared.mjs';

const FLAG_KEY = 'bench_flag';

export function datafile() {
  return {
    version: '4',
    projectId: '10001',
    accountId: '10001',
    revision: '1',
    anonymizeIP: true,
    botFiltering: false,
    sendFlagDecisions: false,
    environmentKey: 'production',
    sdkKey: 'bench-offline',
    attributes: [],
    audiences: [],
    typedAudiences: [],
    events: [],
    groups: [],
    integrations: [],
    experiments: [
      {
        id: '20001',
        key: EXPERIMENT_KEY,
        status: 'Running',
        layerId: '30001',
        audienceIds: [],
        audienceConditions: [],
        forcedVariations: {},
        variations: [
          { id: '40001', key: CONTROL, featureEnabled: true, variables: [] },
          { id: '40002', key: TREATMENT, featureEnabled: true, variables: [] },
        ],
        trafficAllocation: [
          { entityId: '40001', endOfRange: 5000 },
          { entityId: '40002', endOfRange: 10000 },
        ],
      },
    ],
    featureFlags: [{ id: '50001', key: FLAG_KEY, rolloutId: '60001', experimentIds: ['20001'], variables: [] }],
    rollouts: [{ id: '60001', experiments: [] }],
  };
}

async function createClient() {
  const client = createInstance({
    projectConfigManager: createStaticProjectConfigManager({ datafile: JSON.stringify(datafile()) }),
  });
  await client.onReady({ timeout: 5_000 });
  return client;
}

/** client.createUserContext(id).decide(flag): the recommended flag API since SDK 4.5. */
export async function optimizelyDecide() {
  const client = await createClient();
  return {
    evaluate: (id) => client.createUserContext(id).decide(FLAG_KEY).variationKey,
    close: () => client.close(),
  };
}

/** client.getVariation(experiment, id): the legacy experiment API, with no impression. */
export async function optimizelyGetVariation() {
  const client = await createClient();
  return {
    evaluate: (id) => client.getVariation(EXPERIMENT_KEY, id),
    close: () => client.close(),
  };
}
