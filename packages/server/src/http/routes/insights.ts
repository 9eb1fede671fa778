/**
 * What the dashboard reads beyond the core API: who the key belongs to, an experiment's history with
 * diffs, its health (units per arm against the split in force, SRM per phase, crossovers per day
 * with their cause), the metric events stored for its units, and its results on those events (or
 * on an uploaded file). Health and results are computed on request from the store's exposures with
 * @sortition/analysis.
 */
import { Type } from '@sinclair/typebox';
import { allows } from '../../keys.js';
import { HttpError } from '../errors.js';
import { requireConfig, type AppContext, type Route } from '../route.js';
import { experimentHealth, experimentResults, type ResultsRequest } from './insights-analysis.js';
import { experimentHistory } from './insights-history.js';

const ExperimentKey = Type.String({ pattern: '^[a-z0-9][a-z0-9_.-]{0,63}$', description: 'experiment key' });
const ExperimentQuery = Type.Object({ experiment: ExperimentKey }, { additionalProperties: false });

/** Largest events file the results accept in the request (instead of the stored metric events). */
export const MAX_EVENTS_BYTES = 32 * 1024 * 1024;

const ResultsBody = Type.Object(
  {
    experiment: ExperimentKey,
    events: Type.Optional(
      Type.Object(
        {
          format: Type.Union([Type.Literal('csv'), Type.Literal('jsonl')], { description: 'csv (header row: unit_id,timestamp,metric,value) or jsonl (one object per line with those keys)' }),
          content: Type.String({ minLength: 1, maxLength: MAX_EVENTS_BYTES, description: 'the metric events file, as text' }),
        },
        { additionalProperties: false, description: 'an uploaded events file to analyse instead of the metric events stored through POST /v1/metrics (the default)' },
      ),
    ),
    metrics: Type.Optional(
      Type.Array(Type.Object({ name: Type.String({ minLength: 1, maxLength: 200 }), kind: Type.Union([Type.Literal('sum'), Type.Literal('conversion')]) }, { additionalProperties: false }), {
        maxItems: 100,
        description: 'metrics to analyse and how (default: every metric in the events, as sums)',
      }),
    ),
    control: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'control variant (default: "control", else the first variant in byte order)' })),
    allowBadRows: Type.Optional(Type.Boolean({ description: 'exclude invalid event rows (counted in the report) instead of refusing' })),
  },
  { additionalProperties: false },
);

const MetricsResponse = Type.Object({
  experiment: Type.String(),
  unitType: Type.String({ description: "the experiment's unit type (its layer's)" }),
  metrics: Type.Array(Type.Object({ metric: Type.String(), events: Type.Integer(), firstAt: Type.Integer(), lastAt: Type.Integer() }), {
    description: 'per metric name, the stored events of this unit type (of every unit, exposed or not) and their first and last time (epoch ms)',
  }),
});

const WhoAmIResponse = Type.Object({
  id: Type.String(),
  kind: Type.Union([Type.Literal('admin'), Type.Literal('read'), Type.Literal('sdk')]),
  label: Type.String(),
  canWrite: Type.Boolean(),
  canExport: Type.Boolean(),
});

function requireExperiment(ctx: AppContext, key: string): ReturnType<typeof requireConfig> {
  const current = requireConfig(ctx);
  if (!current.compiled.experiments.has(key)) {
    throw new HttpError(404, 'EXPERIMENT_NOT_FOUND', `experiment "${key}" is not in config version ${current.compiled.version}`, {
      field: '/experiment',
      fix: `use one of: ${[...current.compiled.experiments.keys()].join(', ')}`,
    });
  }
  return current;
}

export function insightRoutes(): Route[] {
  return [
    {
      method: 'GET',
      url: '/v1/whoami',
      summary: 'The API key making the request: its id, kind and label, and whether it may change config and read exports (never the secret)',
      tag: 'keys',
      permission: 'config:read',
      schema: { response: { 200: WhoAmIResponse } },
      handler: async (_ctx, _request, _reply, key) => {
        if (key === null) throw new HttpError(401, 'UNAUTHENTICATED', 'this endpoint needs an API key', { field: 'Authorization', fix: 'send the header Authorization: Bearer <key>' });
        return { id: key.id, kind: key.kind, label: key.label, canWrite: allows(key.kind, 'config:write'), canExport: allows(key.kind, 'export') };
      },
    },
    {
      method: 'GET',
      url: '/v1/insights/history',
      summary: "One experiment's config history, newest first: every version that changed it or its layer, with author, reason, diff and the planner's verdict",
      tag: 'insights',
      permission: 'config:read',
      schema: { querystring: ExperimentQuery },
      handler: async (ctx, request) => {
        const { experiment } = request.query as { experiment: string };
        const versions = await experimentHistory(ctx.store, experiment);
        if (versions.length === 0) {
          throw new HttpError(404, 'EXPERIMENT_NOT_FOUND', `no config version has ever defined experiment "${experiment}"`, { field: '/experiment', fix: 'list experiments with GET /v1/config' });
        }
        return { experiment, versions };
      },
    },
    {
      method: 'GET',
      url: '/v1/insights/health',
      summary: 'Health of one experiment from the stored exposures: units per arm against the split in force and SRM per phase of first exposure, crossovers per day with their cause',
      tag: 'insights',
      permission: 'export',
      schema: { querystring: ExperimentQuery },
      handler: async (ctx, request) => {
        const { experiment } = request.query as { experiment: string };
        const current = requireExperiment(ctx, experiment);
        return experimentHealth(ctx.store, experiment, current.compiled, ctx.clock());
      },
    },
    {
      method: 'GET',
      url: '/v1/insights/metrics',
      summary: "The metric events stored (POST /v1/metrics) for one experiment's unit type: per metric name, how many and from when to when",
      tag: 'insights',
      permission: 'export',
      schema: { querystring: ExperimentQuery, response: { 200: MetricsResponse } },
      handler: async (ctx, request) => {
        const { experiment } = request.query as { experiment: string };
        const unitType = requireExperiment(ctx, experiment).compiled.experiments.get(experiment)!.layer.unit;
        return { experiment, unitType, metrics: await ctx.store.metricSummary({ unitType }) };
      },
    },
    {
      method: 'POST',
      url: '/v1/insights/results',
      summary: 'Results of one experiment against the stored exposures, on the stored metric events (or an uploaded CSV or JSON Lines file): per metric the first-exposure, phase-stratified lift with its interval, and the naive event-time view',
      tag: 'insights',
      permission: 'export',
      bodyLimit: MAX_EVENTS_BYTES + 64 * 1024,
      schema: { body: ResultsBody },
      handler: async (ctx, request) => {
        const body = request.body as ResultsRequest;
        const current = requireExperiment(ctx, body.experiment);
        return experimentResults(ctx.store, body, current.compiled);
      },
    },
  ];
}
