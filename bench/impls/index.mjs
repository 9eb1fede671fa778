/**
 * Every implementation the benchmark measures. Metadata only: a child process imports just the
 * module of the implementation it measures, so no SDK's globals or JIT state reach another's run.
 *
 * kind: "ours" (the subject), "floor" (the bare PRF assign() cannot beat), "reference" (context only,
 * not a target), "peer" (a peer SDK in local-evaluation mode; the fastest one sets the target).
 */
export const IMPLEMENTATIONS = [
  {
    id: 'sortition',
    kind: 'ours',
    label: 'Sortition assign() enroll',
    pkg: '@sortition/core',
    module: './sortition.mjs',
    factory: 'sortitionAssign',
    api: "assign(config, { experiment, units: { userId }, now, mode: 'enroll' })",
  },
  {
    id: 'prf',
    kind: 'floor',
    label: 'bare PRF (v1 slot function)',
    pkg: '@sortition/core',
    module: './sortition.mjs',
    factory: 'barePrf',
    api: "createSlotFunction('v1', { layerId, key, slots: 10000 })(id)",
  },
  {
    id: 'node-hmac',
    kind: 'reference',
    label: 'node:crypto createHmac per id',
    pkg: null,
    module: './sortition.mjs',
    factory: 'nodeHmac',
    api: "createHmac('sha256', key).update(id).digest()",
  },
  {
    id: 'growthbook',
    kind: 'peer',
    label: 'GrowthBook evalFeature',
    pkg: '@growthbook/growthbook',
    module: './growthbook.mjs',
    factory: 'growthbookEvalFeature',
    api: 'GrowthBookClient.evalFeature(feature, { attributes: { id } })',
  },
  {
    id: 'growthbook-inline',
    kind: 'peer',
    label: 'GrowthBook runInlineExperiment',
    pkg: '@growthbook/growthbook',
    module: './growthbook.mjs',
    factory: 'growthbookInline',
    api: 'GrowthBookClient.runInlineExperiment(experiment, { attributes: { id } })',
  },
  {
    id: 'eppo',
    kind: 'peer',
    label: 'Eppo getStringAssignment',
    pkg: '@eppo/node-server-sdk',
    module: './eppo.mjs',
    factory: 'eppoGetStringAssignment',
    api: 'EppoClient.getStringAssignment(flag, id, {}, default)',
  },
  {
    id: 'eppo-nocache',
    kind: 'peer',
    label: 'Eppo getStringAssignment, cache off',
    pkg: '@eppo/node-server-sdk',
    module: './eppo.mjs',
    factory: 'eppoNoAssignmentCache',
    api: 'the same after EppoClient.disableAssignmentCache()',
  },
  {
    id: 'optimizely',
    kind: 'peer',
    label: 'Optimizely decide',
    pkg: '@optimizely/optimizely-sdk',
    module: './optimizely.mjs',
    factory: 'optimizelyDecide',
    api: 'client.createUserContext(id).decide(flag)',
  },
  {
    id: 'optimizely-getvariation',
    kind: 'peer',
    label: 'Optimizely getVariation',
    pkg: '@optimizely/optimizely-sdk',
    module: './optimizely.mjs',
    factory: 'optimizelyGetVariation',
    api: 'client.getVariation(experiment, id)',
  },
  {
    id: 'unleash',
    kind: 'peer',
    label: 'Unleash getVariant',
    pkg: 'unleash-client',
    module: './unleash.mjs',
    factory: 'unleashGetVariant',
    api: 'unleash.getVariant(flag, { userId: id })',
  },
  {
    id: 'launchdarkly',
    kind: 'peer',
    label: 'LaunchDarkly variation (awaited)',
    pkg: '@launchdarkly/node-server-sdk',
    module: './launchdarkly.mjs',
    factory: 'launchdarklyVariation',
    api: 'await client.variation(flag, { kind: "user", key: id }, default)',
  },
];

export function findImplementation(id) {
  return IMPLEMENTATIONS.find((impl) => impl.id === id);
}
