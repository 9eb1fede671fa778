/**
 * Request and response schemas (TypeBox, i.e. JSON Schema): Fastify validates requests with them
 * and /openapi.json is generated from the same objects. The evaluate responses, the hot path, are
 * written by a serializer kept beside their schema (serializeEvaluateResponse); a test checks that
 * it produces exactly the bytes Fastify's schema serializer produces.
 */
import type { Assignment } from '@sortition/core';
import { Type, type TSchema } from '@sinclair/typebox';

const UnitId = Type.String({ maxLength: 1024, description: 'unit id (a JSON string; integers must be sent as their decimal string)' });
const Name = Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_.-]{0,63}$' });
const ExperimentKey = Type.String({ pattern: '^[a-z0-9][a-z0-9_.-]{0,63}$' });

export const Attributes = Type.Record(Type.String({ maxLength: 64 }), Type.Union([Type.String({ maxLength: 4096 }), Type.Number(), Type.Boolean(), Type.Null()]), {
  description: 'targeting attributes (strings, numbers, booleans or null; never coerced)',
});

export const EvaluateBody = Type.Object(
  {
    units: Type.Record(Name, UnitId, { description: 'unit ids by unit type, e.g. {"userId": "8821"}', minProperties: 1, maxProperties: 16 }),
    attributes: Type.Optional(Attributes),
    experiments: Type.Optional(Type.Array(ExperimentKey, { maxItems: 200, uniqueItems: true })),
    mode: Type.Optional(Type.Union([Type.Literal('enroll'), Type.Literal('peek')])),
    exposure: Type.Optional(Type.Boolean({ description: 'count served variants as exposures (default true)' })),
    receipt: Type.Optional(Type.Boolean({ description: 'return a signed receipt (compact JWS) with each first assignment (default false); returning units get none' })),
  },
  { additionalProperties: false },
);

export const BatchEvaluateBody = Type.Object({ requests: Type.Array(EvaluateBody, { minItems: 1, maxItems: 1000 }) }, { additionalProperties: false });

const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);

export const AssignmentResult = Type.Object({
  experiment: Type.String(),
  variant: Nullable(Type.String()),
  value: Type.Unknown(),
  reason: Type.String(),
  error: Nullable(Type.Object({ code: Type.String(), message: Type.String() })),
  layer: Nullable(Type.String()),
  slot: Nullable(Type.Integer()),
  phase: Nullable(Type.String()),
  configVersion: Type.Integer(),
  targeting: Type.String(),
  holdout: Nullable(Type.String()),
  stickyStatus: Type.String(),
  firstAssignment: Type.Boolean(),
  receipt: Type.Optional(Type.String({ description: 'compact JWS (Ed25519) for a first assignment, when the request asked for one; verify with the receipt key of /.well-known/sortition-keys.json' })),
});

export const EvaluateResponse = Type.Object({ configVersion: Type.Integer(), results: Type.Array(AssignmentResult) });
export const BatchEvaluateResponse = Type.Object({ configVersion: Type.Integer(), responses: Type.Array(Type.Object({ results: Type.Array(AssignmentResult) })) });

/** The results of evaluating one unit, and the receipt of each (null: none), when receipts were asked for. */
export interface EvaluatedUnit {
  readonly results: readonly Assignment[];
  readonly receipts: readonly (string | null)[] | null;
}

/**
 * JSON text of strings that come from a bounded set (experiment, variant, layer, phase and holdout
 * ids of the config; reason, targeting and sticky status codes), so each is escaped once.
 */
const quoted = new Map<string, string>();
const QUOTED_LIMIT = 10_000;
function quote(text: string): string {
  let json = quoted.get(text);
  if (json === undefined) {
    json = JSON.stringify(text);
    if (quoted.size >= QUOTED_LIMIT) quoted.clear();
    quoted.set(text, json);
  }
  return json;
}
const quoteOrNull = (text: string | null): string => (text === null ? 'null' : quote(text));

/** JSON text of variant values: config objects, never mutated, so serialized once per object. */
const values = new WeakMap<object, string>();
function valueJson(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  let json = values.get(value);
  if (json === undefined) {
    json = JSON.stringify(value);
    values.set(value, json);
  }
  return json;
}

/** `{"experiment":…,"layer":…,"slot":` of a result: AssignmentResult's fields before the slot, in its order. */
function headText(r: Assignment): string {
  const error = r.error === null ? 'null' : `{"code":${JSON.stringify(r.error.code)},"message":${JSON.stringify(r.error.message)}}`;
  return `{"experiment":${quote(r.experiment)},"variant":${quoteOrNull(r.variant)},"value":${valueJson(r.value)},"reason":${quote(r.reason)},"error":${error},"layer":${quoteOrNull(r.layer)},"slot":`;
}

/**
 * A result without an error is written as three parts: its head (the fields before "slot"), the
 * slot, and its tail (the fields after it). Heads and tails depend only on strings of the config,
 * the variant's value and a few codes, so a service sees few distinct ones; each is built once and
 * found again by comparing those fields (strings by value, the value object by identity: config
 * objects are never mutated). Lists are per experiment and bounded: a list that grows past its
 * limit (many config versions) starts over.
 */
interface Head {
  readonly variant: string | null;
  readonly value: unknown;
  readonly reason: string;
  readonly layer: string | null;
  readonly json: string;
}
interface Tail {
  readonly phase: string | null;
  readonly configVersion: number;
  readonly targeting: string;
  readonly holdout: string | null;
  readonly stickyStatus: string;
  readonly first: boolean;
  readonly json: string;
}
const heads = new Map<string, Head[]>();
const tails = new Map<string, Tail[]>();
const PARTS_PER_EXPERIMENT = 64;
const EXPERIMENTS_LIMIT = 10_000;

/** The entry list of `experiment` in `parts`, created empty when there is none. */
function partsOf<T>(parts: Map<string, T[]>, experiment: string): T[] {
  let list = parts.get(experiment);
  if (list === undefined) {
    if (parts.size >= EXPERIMENTS_LIMIT) parts.clear();
    list = [];
    parts.set(experiment, list);
  }
  return list;
}

/** headText() of a result without an error, from the cache. */
function headJson(r: Assignment): string {
  const list = partsOf(heads, r.experiment);
  for (let i = 0; i < list.length; i++) {
    const h = list[i]!;
    if (h.variant === r.variant && h.value === r.value && h.reason === r.reason && h.layer === r.layer) return h.json;
  }
  const json = headText(r);
  if (list.length >= PARTS_PER_EXPERIMENT) list.length = 0;
  list.push({ variant: r.variant, value: r.value, reason: r.reason, layer: r.layer, json });
  return json;
}

/** `,"phase":…,"firstAssignment":…` of a result (without the closing brace). */
function tailJson(r: Assignment): string {
  const first = r.stickyWrite !== null;
  const list = partsOf(tails, r.experiment);
  for (let i = 0; i < list.length; i++) {
    const t = list[i]!;
    if (t.phase === r.phase && t.configVersion === r.configVersion && t.targeting === r.targeting && t.holdout === r.holdout && t.stickyStatus === r.stickyStatus && t.first === first) return t.json;
  }
  const json = `,"phase":${quoteOrNull(r.phase)},"configVersion":${String(r.configVersion)},"targeting":${quote(r.targeting)},"holdout":${quoteOrNull(r.holdout)},"stickyStatus":${quote(r.stickyStatus)},"firstAssignment":${first ? 'true' : 'false'}`;
  if (list.length >= PARTS_PER_EXPERIMENT) list.length = 0;
  list.push({ phase: r.phase, configVersion: r.configVersion, targeting: r.targeting, holdout: r.holdout, stickyStatus: r.stickyStatus, first, json });
  return json;
}

/** `"results":[...]` of one unit. */
function resultsJson(unit: EvaluatedUnit): string {
  const { results, receipts } = unit;
  let out = '"results":[';
  for (let i = 0; i < results.length; i++) {
    const r = results[i]!;
    const receipt = receipts === null ? null : (receipts[i] ?? null);
    if (i > 0) out += ',';
    out += (r.error === null ? headJson(r) : headText(r)) + (r.slot === null ? 'null' : String(r.slot)) + tailJson(r) + (receipt === null ? '}' : `,"receipt":${JSON.stringify(receipt)}}`);
  }
  return `${out}]`;
}

/** The body of a 200 from POST /v1/evaluate (EvaluateResponse). */
export function serializeEvaluateResponse(configVersion: number, unit: EvaluatedUnit): string {
  return `{"configVersion":${configVersion},${resultsJson(unit)}}`;
}

/** The body of a 200 from POST /v1/evaluate/batch (BatchEvaluateResponse). */
export function serializeBatchEvaluateResponse(configVersion: number, units: readonly EvaluatedUnit[]): string {
  let out = `{"configVersion":${configVersion},"responses":[`;
  for (let i = 0; i < units.length; i++) out += `${i === 0 ? '{' : ',{'}${resultsJson(units[i]!)}}`;
  return `${out}]}`;
}

export const ExposureEvent = Type.Object(
  {
    unitType: Name,
    unit: UnitId,
    experiment: ExperimentKey,
    phase: ExperimentKey,
    variant: ExperimentKey,
    slot: Type.Integer({ minimum: 0, maximum: 99999 }),
    configVersion: Type.Integer({ minimum: 1 }),
    at: Type.Integer({ minimum: 0, description: 'milliseconds since the epoch' }),
  },
  { additionalProperties: false },
);
export const ExposuresBody = Type.Object({ exposures: Type.Array(ExposureEvent, { minItems: 1, maxItems: 1000 }) }, { additionalProperties: false });
export const ExposuresAccepted = Type.Object({ accepted: Type.Integer({ description: 'exposures accepted: first ones stored, repeats counted' }) });

export const PlanBody = Type.Object({ config: Type.Unknown({ description: 'a config document (spec/schema/config.schema.json)' }) }, { additionalProperties: false, required: ['config'] });

export const PublishBody = Type.Object(
  {
    config: Type.Unknown({ description: 'the new config document; its version must be baseVersion + 1' }),
    baseVersion: Type.Integer({ minimum: 0, description: 'the version the change was planned against' }),
    reason: Type.String({ minLength: 1, maxLength: 2000 }),
  },
  { additionalProperties: false, required: ['config', 'baseVersion', 'reason'] },
);

export const CreateKeyBody = Type.Object(
  { kind: Type.Union([Type.Literal('admin'), Type.Literal('sdk'), Type.Literal('read')]), label: Type.String({ minLength: 1, maxLength: 200 }) },
  { additionalProperties: false },
);

export const VersionParams = Type.Object({ version: Type.String({ pattern: '^[1-9][0-9]{0,9}$' }) });
export const KeyIdParams = Type.Object({ id: Type.String({ pattern: '^[0-9a-f]{16}$' }) });
export const DiffQuery = Type.Object({ from: Type.String({ pattern: '^[1-9][0-9]{0,9}$' }), to: Type.String({ pattern: '^[1-9][0-9]{0,9}$' }) }, { additionalProperties: false });
export const ExportQuery = Type.Object(
  { experiment: Type.Optional(ExperimentKey), format: Type.Optional(Type.Union([Type.Literal('jsonl'), Type.Literal('csv')])) },
  { additionalProperties: false },
);

const LogIndex = Type.String({ pattern: '^(0|[1-9][0-9]{0,14})$' });
const LogSize = Type.String({ pattern: '^[1-9][0-9]{0,14}$' });
export const LogIndexParams = Type.Object({ index: LogIndex });
export const InclusionQuery = Type.Object({ index: LogIndex, size: LogSize }, { additionalProperties: false });
export const ProofQuery = Type.Object(
  {
    unit: Type.String({ minLength: 1, maxLength: 1024, description: 'unit id' }),
    experiment: ExperimentKey,
    at: Type.String({ minLength: 1, maxLength: 40, description: 'RFC 3339 UTC time or epoch milliseconds' }),
    unitType: Type.Optional(Name),
  },
  { additionalProperties: false },
);
export const ConsistencyQuery = Type.Object({ from: LogSize, to: LogSize }, { additionalProperties: false });

const Hex32 = Type.String({ pattern: '^[0-9a-f]{64}$' });
export const LogEntryResponse = Type.Object({
  index: Type.Integer({ minimum: 0 }),
  leaf: Type.String({ description: 'base64 of the leaf bytes (RFC 8785 canonical JSON of the event)' }),
  leafHash: Hex32,
  configVersion: Nullable(Type.Integer()),
});
export const InclusionResponse = Type.Object({ index: Type.Integer(), size: Type.Integer(), leafHash: Hex32, rootHash: Hex32, proof: Type.Array(Hex32) });
export const ConsistencyResponse = Type.Object({ from: Type.Integer(), to: Type.Integer(), fromRoot: Hex32, toRoot: Hex32, proof: Type.Array(Hex32) });
const PublishedKey = Type.Object({
  kid: Type.String(),
  alg: Type.Literal('Ed25519'),
  purpose: Type.Union([Type.Literal('checkpoint'), Type.Literal('receipt')]),
  publicKey: Type.String({ description: 'base64url of the 32-byte Ed25519 public key' }),
  jwk: Type.Object({ kty: Type.Literal('OKP'), crv: Type.Literal('Ed25519'), x: Type.String(), kid: Type.String(), alg: Type.Literal('Ed25519'), use: Type.Literal('sig') }),
  noteVerifierKey: Type.Optional(Type.String({ description: 'signed-note verifier key (name+keyid+base64), checkpoint keys only' })),
  created: Type.String(),
  rotated: Nullable(Type.String()),
});
export const KeySetResponse = Type.Object({ origin: Type.String(), keys: Type.Array(PublishedKey) });

export const ErrorResponse = Type.Object({
  error: Type.Object({ code: Type.String(), message: Type.String(), field: Type.Optional(Type.String()), fix: Type.Optional(Type.String()), details: Type.Optional(Type.Unknown()) }),
});
