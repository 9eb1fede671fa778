/**
 * Eppo: @eppo/node-server-sdk has no offline initialiser (init() always fetches the Universal Flag
 * Configuration over HTTP, and a Node server client is meant to poll). So init() is pointed at a
 * loopback HTTP server on 127.0.0.1 that serves a 50/50 flag configuration once; polling is then
 * stopped and the server closed before any timing. Evaluation is local (MD5 sharding over 10,000
 * shards); event tracking is off (its default) and the assignment logger is a no-op.
 */
import { createServer } from 'node:http';
import { init } from '@eppo/node-server-sdk';
import { CONTROL, EXPERIMENT_KEY, TREATMENT } from './shared.mjs';

const TOTAL_SHARDS = 10_000;

export function universalFlagConfiguration() {
  const split = (variationKey, start, end) => ({
    variationKey,
    shards: [{ salt: `${EXPERIMENT_KEY}-split`, ranges: [{ start, end }] }],
  });
  return {
    createdAt: '2026-01-01T00:00:00.000Z',
    format: 'SERVER',
    environment: { name: 'bench' },
    flags: {
      [EXPERIMENT_KEY]: {
        key: EXPERIMENT_KEY,
        enabled: true,
        variationType: 'STRING',
        variations: {
          [CONTROL]: { key: CONTROL, value: CONTROL },
          [TREATMENT]: { key: TREATMENT, value: TREATMENT },
        },
        allocations: [
          {
            key: 'bench-allocation',
            rules: [],
            splits: [split(CONTROL, 0, TOTAL_SHARDS / 2), split(TREATMENT, TOTAL_SHARDS / 2, TOTAL_SHARDS)],
            doLog: true,
          },
        ],
        totalShards: TOTAL_SHARDS,
      },
    },
    banditReferences: {},
  };
}

async function serveOnce(body) {
  const requests = [];
  const server = createServer((req, res) => {
    requests.push(req.url ?? '');
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(body);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('loopback server has no port');
  return { server, port: address.port, requests };
}

async function createClient() {
  const { server, port, requests } = await serveOnce(JSON.stringify(universalFlagConfiguration()));
  let client;
  try {
    client = await init({
      apiKey: 'bench-offline',
      baseUrl: `http://127.0.0.1:${port}/api`,
      assignmentLogger: { logAssignment: () => {} },
      numInitialRequestRetries: 0,
      pollingIntervalMs: 3_600_000,
    });
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
  client.stopPolling();
  if (!client.getFlagKeys().includes(EXPERIMENT_KEY)) {
    throw new Error(`Eppo did not load the flag from the loopback server (requests: ${requests.join(', ')})`);
  }
  return { client, note: `config served once from 127.0.0.1 (${requests.length} request), polling stopped before timing` };
}

/**
 * client.getStringAssignment(flag, id, {}, default) as init() configures it: with the SDK's default
 * 50,000-entry LRU assignment cache, which dedupes logging and, with more distinct subjects than
 * that, evicts on every call.
 */
export async function eppoGetStringAssignment() {
  const { client, note } = await createClient();
  return {
    evaluate: (id) => client.getStringAssignment(EXPERIMENT_KEY, id, {}, 'default'),
    notes: [note, 'default 50,000-entry LRU assignment cache'],
  };
}

/** The same with client.disableAssignmentCache(): the logger is called on every assignment. */
export async function eppoNoAssignmentCache() {
  const { client, note } = await createClient();
  client.disableAssignmentCache();
  return {
    evaluate: (id) => client.getStringAssignment(EXPERIMENT_KEY, id, {}, 'default'),
    notes: [note, 'assignment cache disabled'],
  };
}
