/**
 * LaunchDarkly server-side Node SDK: init() with the TestData integration as the data source (no
 * streaming or polling connection), sendEvents false, diagnostics opted out and logging off. The
 * TestData flag builder cannot express percentage rollouts, so the flag is loaded with
 * usePreconfiguredFlag (the documented escape hatch) as a full flag: on, two variations, fallthrough
 * an experiment rollout of 50,000/50,000 (LaunchDarkly weights are out of 100,000).
 * The SDK's evaluation API is asynchronous, so each assignment is awaited.
 */
import { basicLogger, init } from '@launchdarkly/node-server-sdk';
import { TestData } from '@launchdarkly/node-server-sdk/integrations';
import { CONTROL, EXPERIMENT_KEY, TREATMENT } from './shared.mjs';

export function flagDefinition() {
  return {
    key: EXPERIMENT_KEY,
    version: 1,
    on: true,
    variations: [CONTROL, TREATMENT],
    offVariation: 0,
    fallthrough: {
      rollout: {
        kind: 'experiment',
        seed: 61,
        variations: [
          { variation: 0, weight: 50_000 },
          { variation: 1, weight: 50_000 },
        ],
      },
    },
    targets: [],
    contextTargets: [],
    rules: [],
    prerequisites: [],
    salt: `${EXPERIMENT_KEY}-salt`,
    trackEvents: false,
    trackEventsFallthrough: false,
    clientSide: false,
  };
}

/** await client.variation(flag, { kind: 'user', key: id }, default). */
export async function launchdarklyVariation() {
  const td = new TestData();
  await td.usePreconfiguredFlag(flagDefinition());
  const client = init('sdk-bench-offline', {
    updateProcessor: td.getFactory(),
    sendEvents: false,
    diagnosticOptOut: true,
    logger: basicLogger({ level: 'none' }),
  });
  await client.waitForInitialization({ timeout: 5 });
  return {
    async: true,
    evaluate: (id) => client.variation(EXPERIMENT_KEY, { kind: 'user', key: id }, 'default'),
    close: () => client.close(),
  };
}
