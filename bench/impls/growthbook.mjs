/**
 * GrowthBook: the multi-user server client (GrowthBookClient) initialised synchronously from an
 * in-memory payload (no apiHost, so no fetching or streaming), a feature whose only rule is a 50/50
 * experiment hashed on the "id" attribute, and a no-op tracking callback.
 */
import { GrowthBookClient } from '@growthbook/growthbook';
import { CONTROL, EXPERIMENT_KEY, TREATMENT, VARIANTS } from './shared.mjs';

const FEATURE_KEY = 'bench-feature';
const TRACKING_NOTE = 'no-op trackingCallback, which the SDK calls through an async helper (one promise per assignment)';

function experimentRule() {
  return {
    key: EXPERIMENT_KEY,
    variations: [CONTROL, TREATMENT],
    weights: [0.5, 0.5],
    coverage: 1,
    hashAttribute: 'id',
    hashVersion: 2,
    seed: EXPERIMENT_KEY,
    meta: VARIANTS.map((key) => ({ key })),
  };
}

async function createClient() {
  const client = new GrowthBookClient({ trackingCallback: () => {} });
  client.initSync({
    payload: { features: { [FEATURE_KEY]: { defaultValue: 'default', rules: [experimentRule()] } } },
  });
  return client;
}

/** client.evalFeature(feature, { attributes: { id } }): the feature-flag experiment path. */
export async function growthbookEvalFeature() {
  const client = await createClient();
  return {
    evaluate: (id) => client.evalFeature(FEATURE_KEY, { attributes: { id } }).value,
    close: () => client.destroy(),
    notes: [TRACKING_NOTE],
  };
}

/** client.runInlineExperiment(experiment, { attributes: { id } }): the experiment without a feature lookup. */
export async function growthbookInline() {
  const client = await createClient();
  const experiment = experimentRule();
  return {
    evaluate: (id) => client.runInlineExperiment(experiment, { attributes: { id } }).value,
    close: () => client.destroy(),
    notes: [TRACKING_NOTE],
  };
}
