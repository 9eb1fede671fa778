/**
 * The config schema (spec/schema/config.schema.json is generated from this file and checked in CI).
 * Each schema may carry a `fix` annotation: the sentence a validation error shows to say how to
 * repair the field. Structural rules live here; cross-field rules live in validate.ts.
 */
import { Type, type Static } from '@sinclair/typebox';

export const CONFIG_SCHEMA_ID = 'sortition/config/v1';

const ID_PATTERN = '^[a-z0-9][a-z0-9_.-]{0,63}$';
const ID_FIX = 'use 1-64 characters of a-z, 0-9, "_", "." or "-", starting with a letter or digit';

export const Id = (description: string) =>
  Type.String({ pattern: ID_PATTERN, description, fix: ID_FIX });

export const Timestamp = Type.String({
  pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d{1,3})?Z$',
  description: 'UTC instant in RFC 3339 form',
  fix: 'write a UTC timestamp such as "2026-03-14T00:00:00Z" (the trailing Z is required)',
});

export const SlotRange = Type.Tuple([Type.Integer({ minimum: 0 }), Type.Integer({ minimum: 1 })], {
  description: 'half-open slot range [from, to)',
  fix: 'write a range as [from, to] with integers 0 <= from < to <= the layer slot count',
});

export const RangeList = Type.Array(SlotRange, {
  description: 'ascending, non-overlapping slot ranges',
  fix: 'list ranges as [[from, to], ...] in ascending order',
});

const Scalar = Type.Union([Type.String(), Type.Number(), Type.Boolean()], {
  fix: 'use a string, number or boolean',
});

const ATTRIBUTE_PATTERN = '^[A-Za-z_][A-Za-z0-9_.-]{0,63}$';
const AttributeName = Type.String({
  pattern: ATTRIBUTE_PATTERN,
  description: 'attribute name',
  fix: 'use 1-64 characters of letters, digits, "_", "." or "-", starting with a letter or "_"',
});

const Comparison = Type.Object(
  {
    attr: AttributeName,
    op: Type.Union(
      [
        Type.Literal('eq'),
        Type.Literal('ne'),
        Type.Literal('in'),
        Type.Literal('nin'),
        Type.Literal('gt'),
        Type.Literal('gte'),
        Type.Literal('lt'),
        Type.Literal('lte'),
        Type.Literal('semver_eq'),
        Type.Literal('semver_gt'),
        Type.Literal('semver_gte'),
        Type.Literal('semver_lt'),
        Type.Literal('semver_lte'),
        Type.Literal('exists'),
      ],
      {
        fix: 'use one of eq, ne, in, nin, gt, gte, lt, lte, semver_eq, semver_gt, semver_gte, semver_lt, semver_lte, exists',
      },
    ),
    value: Type.Optional(Type.Union([Scalar, Type.Array(Scalar)])),
  },
  { additionalProperties: false },
);

export const Condition = Type.Recursive(
  (Self) =>
    Type.Union(
      [
        Comparison,
        Type.Object({ all: Type.Array(Self, { minItems: 1 }) }, { additionalProperties: false }),
        Type.Object({ any: Type.Array(Self, { minItems: 1 }) }, { additionalProperties: false }),
        Type.Object({ not: Self }, { additionalProperties: false }),
      ],
      {
        fix: 'write a condition as {attr, op, value}, {all: [...]}, {any: [...]} or {not: {...}}',
      },
    ),
  { $id: 'Condition', description: 'targeting condition on unit attributes' },
);

export const Layer = Type.Object(
  {
    id: Id('layer id'),
    algorithm: Type.Literal('v1', {
      description: 'slot derivation version',
      fix: 'set algorithm to "v1" (the only published derivation)',
    }),
    slots: Type.Union([Type.Literal(10000), Type.Literal(100000)], {
      description: 'slot count N, fixed for the life of the layer',
      fix: 'use 10000 (0.01% granularity) or 100000 (0.001%)',
    }),
    key: Type.String({
      pattern: '^[0-9a-f]{64}$',
      description: '32-byte layer key, lower-case hex',
      fix: 'use 64 lower-case hex characters; generate a fresh key with `sortition keygen`',
    }),
    unit: AttributeName,
    normalization: Type.Literal('nfc', {
      description: 'unit id normalisation',
      fix: 'set normalization to "nfc" (the only normalisation v1 defines)',
    }),
    epoch: Type.Optional(
      Type.Integer({ minimum: 1, description: 'key epoch, raised with each re-key', fix: 'use an integer >= 1' }),
    ),
    description: Type.Optional(Type.String({ maxLength: 2000 })),
  },
  { additionalProperties: false },
);

export const Holdout = Type.Object(
  {
    id: Id('holdout id'),
    layer: Id('layer the holdout reserves slots in'),
    scope: Type.Union([Type.Literal('layer'), Type.Literal('global')], {
      description: 'layer: held out of experiments in this layer; global: held out of every experiment',
      fix: 'set scope to "layer" or "global"',
    }),
    ranges: Type.Array(SlotRange, { minItems: 1, fix: 'list at least one [from, to] range' }),
    description: Type.Optional(Type.String({ maxLength: 2000 })),
  },
  { additionalProperties: false },
);

export const Variant = Type.Object(
  {
    key: Id('variant key'),
    value: Type.Optional(Type.Unknown({ description: 'value served to the unit (any JSON)' })),
    description: Type.Optional(Type.String({ maxLength: 2000 })),
  },
  { additionalProperties: false },
);

export const Phase = Type.Object(
  {
    id: Id('phase id'),
    startsAt: Timestamp,
    reason: Type.Optional(Type.String({ minLength: 1, maxLength: 2000 })),
    carryover: Type.Optional(
      Type.Union([Type.Literal('sticky'), Type.Literal('rerandomize')], {
        description:
          'sticky: units assigned in earlier phases keep their variant; rerandomize: earlier assignments are dropped',
        fix: 'set carryover to "sticky" or "rerandomize"',
      }),
    ),
    exclude: Type.Optional(
      Type.Array(Id('earlier phase id'), {
        description: 'earlier phases whose units (by slot) get no variant in this phase',
      }),
    ),
    allocation: Type.Record(Type.String({ pattern: ID_PATTERN }), RangeList, {
      description: 'slot ranges per variant key',
      fix: 'map each variant key to a list of [from, to] ranges',
    }),
  },
  { additionalProperties: false },
);

export const Experiment = Type.Object(
  {
    key: Id('experiment key'),
    layer: Id('layer the experiment lives in'),
    description: Type.Optional(Type.String({ maxLength: 2000 })),
    variants: Type.Array(Variant, { minItems: 1, maxItems: 100, fix: 'declare between 1 and 100 variants' }),
    targeting: Type.Optional(Condition),
    phases: Type.Array(Phase, { minItems: 1, fix: 'declare at least one phase' }),
    endsAt: Type.Optional(Timestamp),
  },
  { additionalProperties: false },
);

export const ConfigSchema = Type.Object(
  {
    schema: Type.Literal(CONFIG_SCHEMA_ID, { fix: `set schema to "${CONFIG_SCHEMA_ID}"` }),
    version: Type.Integer({
      minimum: 0,
      description: 'config version number (assigned by the service on publish; 0 for a draft)',
      fix: 'use a non-negative integer',
    }),
    layers: Type.Array(Layer, { maxItems: 1000, fix: 'use at most 1000 layers' }),
    holdouts: Type.Optional(Type.Array(Holdout, { maxItems: 200, fix: 'use at most 200 holdouts' })),
    experiments: Type.Array(Experiment, { maxItems: 10000, fix: 'use at most 10000 experiments' }),
  },
  {
    $id: 'https://sortition.dev/schema/config.schema.json',
    title: 'Sortition config',
    additionalProperties: false,
  },
);

export type ConfigDocument = Static<typeof ConfigSchema>;
export type LayerDocument = Static<typeof Layer>;
export type HoldoutDocument = Static<typeof Holdout>;
export type ExperimentDocument = Static<typeof Experiment>;
export type PhaseDocument = Static<typeof Phase>;
export type VariantDocument = Static<typeof Variant>;
export type ConditionDocument = Static<typeof Condition>;
export type SlotRangeDocument = Static<typeof SlotRange>;
