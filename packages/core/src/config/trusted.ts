/**
 * Compiling a config in the browser without the JSON Schema validator (TypeBox is two thirds of
 * the SDK's bundle). The service validates every config in full before it publishes it; a client
 * receiving it checks the shape of every field evaluation reads, then the same cross-field rules
 * (rules.ts), and refuses anything else. Nothing is repaired. `sortition validate` and the service
 * give the full, field-by-field schema errors.
 */
import type { ConfigIssue } from '../errors.js';
import { buildCompiled, type CompileResult } from './build.js';
import { crossFieldIssues } from './rules.js';
import type { ConfigDocument } from './schema.js';

const ID = /^[a-z0-9][a-z0-9_.-]{0,63}$/;
const ATTRIBUTE = /^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/;
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$/;
const OPS = new Set(['eq', 'ne', 'in', 'nin', 'gt', 'gte', 'lt', 'lte', 'semver_eq', 'semver_gt', 'semver_gte', 'semver_lt', 'semver_lte', 'exists']);

class ShapeError extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(message);
  }
}

type Json = Record<string, unknown>;

function object(value: unknown, path: string): Json {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new ShapeError(path, 'expected an object');
  return value as Json;
}

function array(value: unknown, path: string): unknown[] {
  if (!Array.isArray(value)) throw new ShapeError(path, 'expected an array');
  return value;
}

function text(value: unknown, path: string, pattern?: RegExp): string {
  if (typeof value !== 'string' || (pattern !== undefined && !pattern.test(value))) throw new ShapeError(path, `expected a string${pattern === undefined ? '' : ` matching ${pattern.source}`}`);
  return value;
}

function integer(value: unknown, path: string, min: number): void {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) throw new ShapeError(path, `expected an integer >= ${min}`);
}

function oneOf(value: unknown, allowed: readonly unknown[], path: string): void {
  if (!allowed.includes(value)) throw new ShapeError(path, `expected one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}`);
}

function optional(o: Json, key: string, check: (value: unknown, path: string) => void, path: string): void {
  if (o[key] !== undefined) check(o[key], `${path}/${key}`);
}

function ranges(value: unknown, path: string): void {
  array(value, path).forEach((r, i) => {
    const pair = array(r, `${path}/${i}`);
    if (pair.length !== 2) throw new ShapeError(`${path}/${i}`, 'expected [from, to]');
    integer(pair[0], `${path}/${i}/0`, 0);
    integer(pair[1], `${path}/${i}/1`, 1);
  });
}

function condition(value: unknown, path: string): void {
  const c = object(value, path);
  if ('all' in c || 'any' in c) {
    const key = 'all' in c ? 'all' : 'any';
    const list = array(c[key], `${path}/${key}`);
    if (list.length === 0) throw new ShapeError(`${path}/${key}`, 'expected at least one condition');
    list.forEach((x, i) => condition(x, `${path}/${key}/${i}`));
  } else if ('not' in c) condition(c['not'], `${path}/not`);
  else {
    text(c['attr'], `${path}/attr`, ATTRIBUTE);
    if (!OPS.has(c['op'] as string)) throw new ShapeError(`${path}/op`, 'unknown operator');
  }
}

function shape(raw: unknown): ConfigDocument {
  const doc = object(raw, '');
  oneOf(doc['schema'], ['sortition/config/v1'], '/schema');
  integer(doc['version'], '/version', 0);
  array(doc['layers'], '/layers').forEach((l, i) => {
    const p = `/layers/${i}`;
    const layer = object(l, p);
    text(layer['id'], `${p}/id`, ID);
    oneOf(layer['algorithm'], ['v1'], `${p}/algorithm`);
    oneOf(layer['slots'], [10000, 100000], `${p}/slots`);
    text(layer['key'], `${p}/key`, /^[0-9a-f]{64}$/);
    text(layer['unit'], `${p}/unit`, ATTRIBUTE);
    oneOf(layer['normalization'], ['nfc'], `${p}/normalization`);
    optional(layer, 'epoch', (v, q) => integer(v, q, 1), p);
  });
  if (doc['holdouts'] !== undefined) {
    array(doc['holdouts'], '/holdouts').forEach((h, i) => {
      const p = `/holdouts/${i}`;
      const holdout = object(h, p);
      text(holdout['id'], `${p}/id`, ID);
      text(holdout['layer'], `${p}/layer`, ID);
      oneOf(holdout['scope'], ['layer', 'global'], `${p}/scope`);
      ranges(holdout['ranges'], `${p}/ranges`);
    });
  }
  array(doc['experiments'], '/experiments').forEach((e, i) => {
    const p = `/experiments/${i}`;
    const experiment = object(e, p);
    text(experiment['key'], `${p}/key`, ID);
    text(experiment['layer'], `${p}/layer`, ID);
    array(experiment['variants'], `${p}/variants`).forEach((v, j) => text(object(v, `${p}/variants/${j}`)['key'], `${p}/variants/${j}/key`, ID));
    optional(experiment, 'targeting', condition, p);
    optional(experiment, 'endsAt', (v, q) => text(v, q, TIMESTAMP), p);
    const phases = array(experiment['phases'], `${p}/phases`);
    if (phases.length === 0) throw new ShapeError(`${p}/phases`, 'expected at least one phase');
    phases.forEach((ph, j) => {
      const q = `${p}/phases/${j}`;
      const phase = object(ph, q);
      text(phase['id'], `${q}/id`, ID);
      text(phase['startsAt'], `${q}/startsAt`, TIMESTAMP);
      optional(phase, 'carryover', (v, r) => oneOf(v, ['sticky', 'rerandomize'], r), q);
      optional(phase, 'exclude', (v, r) => array(v, r).forEach((x, k) => text(x, `${r}/${k}`, ID)), q);
      optional(phase, 'reason', (v, r) => text(v, r), q);
      for (const [variant, list] of Object.entries(object(phase['allocation'], `${q}/allocation`))) ranges(list, `${q}/allocation/${variant}`);
    });
  });
  return raw as ConfigDocument;
}

/**
 * Compiles a config that the service already validated: checks the shape of every field that
 * evaluation reads and the cross-field rules, refuses anything else (issues, never thrown).
 */
export function compileTrustedConfig(raw: unknown): CompileResult {
  let doc: ConfigDocument;
  try {
    doc = shape(raw);
  } catch (error) {
    if (!(error instanceof ShapeError)) throw error;
    const issue: ConfigIssue = { path: error.path, message: error.message, fix: 'publish configs through the service or check them with `sortition validate`, which reports every schema error' };
    return { ok: false, issues: [issue] };
  }
  const issues = crossFieldIssues(doc);
  if (issues.length > 0) return { ok: false, issues };
  return { ok: true, config: buildCompiled(doc) };
}
