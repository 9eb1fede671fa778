/**
 * Loading and checking the spec's test vectors. Every package that implements or wraps the
 * algorithm runs the vectors through its own entry points with these helpers.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';

export const specDir = fileURLToPath(new URL('.', import.meta.url));
export const vectorsDir = fileURLToPath(new URL('./vectors/', import.meta.url));

export interface LayerKeyVector {
  readonly id: string;
  readonly algorithm: 'v1';
  readonly slots: 10000 | 100000;
  readonly key: string;
}

export interface SlotVector {
  readonly name: string;
  readonly kind: 'slot';
  readonly description: string;
  readonly layers: Readonly<Record<string, LayerKeyVector>>;
  readonly cases: readonly {
    readonly layer: string;
    readonly unit: unknown;
    readonly expected: { readonly slot: number; readonly canonicalUtf8Hex: string } | { readonly error: string };
    readonly explanation: string;
  }[];
}

export interface StickyRecordVector {
  readonly experiment: string;
  readonly phase: string;
  readonly variant: string;
  readonly slot: number;
  readonly layerEpoch: number;
  readonly configVersion: number;
  readonly assignedAt: string;
}

export interface AssignVectorCase {
  readonly input: {
    readonly experiment: string;
    readonly units: Readonly<Record<string, unknown>>;
    readonly attributes?: Readonly<Record<string, string | number | boolean | null>>;
    readonly now: string;
    readonly sticky?: StickyRecordVector;
    readonly mode?: 'enroll' | 'peek';
  };
  readonly expected: {
    readonly variant: string | null;
    readonly reason: string;
    readonly error: string | null;
    readonly slot: number | null;
    readonly layer: string | null;
    readonly phase: string | null;
    readonly targeting: string;
    readonly holdout: string | null;
    readonly stickyStatus: string;
    readonly writesSticky: boolean;
    readonly emitsExposure: boolean;
  };
  readonly explanation: string;
}

export interface AssignVector {
  readonly name: string;
  readonly kind: 'assign';
  readonly description: string;
  readonly config: unknown;
  readonly cases: readonly AssignVectorCase[];
}

export interface ChangeVector {
  readonly name: string;
  readonly kind: 'change';
  readonly description: string;
  readonly current: unknown;
  readonly proposed: unknown;
  readonly now: string;
  readonly experiment: string;
  readonly unitType: string;
  readonly units: readonly string[];
  readonly expected: {
    readonly verdict: string;
    readonly movedSlots: number;
    readonly moved: readonly { readonly unit: string; readonly from: string; readonly to: string | null }[];
    readonly entered: readonly { readonly unit: string; readonly to: string }[];
  };
  readonly explanation: string;
}

export type Vector = SlotVector | AssignVector | ChangeVector;

export function readJson(path: string): unknown {
  return JSON.parse(readFileSync(path, 'utf8')) as unknown;
}

/** Every vector file, parsed, in file-name order. */
export function loadVectors(): { readonly file: string; readonly vector: Vector }[] {
  return readdirSync(vectorsDir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((file) => ({ file, vector: readJson(`${vectorsDir}${file}`) as Vector }));
}

export function vectorsOfKind<K extends Vector['kind']>(kind: K): Extract<Vector, { kind: K }>[] {
  return loadVectors()
    .map((v) => v.vector)
    .filter((v): v is Extract<Vector, { kind: K }> => v.kind === kind);
}

/** A validator for spec/schema/vector.schema.json. */
export function vectorValidator(): (value: unknown) => readonly string[] {
  const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
  const validate = ajv.compile(readJson(`${specDir}schema/vector.schema.json`) as object);
  return (value) => (validate(value) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''}`));
}

/** Milliseconds since the epoch for a vector timestamp. */
export function vectorTime(text: string): number {
  const t = Date.parse(text);
  if (Number.isNaN(t)) throw new RangeError(`bad vector timestamp ${text}`);
  return t;
}
