/**
 * Steps 7 (commitment) and 8 (beacon) of the bundle verifier, for an experiment in a committed
 * layer (spec §4.1). The bundle carries three log leaves (their inclusion is step 3):
 *
 *   layer-launch  {type, layer, epoch, slots, unit, seedCommit, beacon: {chain, round},
 *                  plan: {experiments: [{key, phases: [phase without its reason]}], holdouts: [{id, scope, ranges}]},
 *                  prev: {index, leafHash} | null (the layer's previous launch), reason (required for a relaunch),
 *                  createdAt, author}
 *   layer-beacon  {type, layer, epoch, launch: {index, leafHash}, source: "drand", round, signature, randomness, createdAt, author}
 *              or {type, layer, epoch, launch: {index, leafHash}, source: "operator", value, randomness, createdAt, author}
 *   seed-reveal   {type, layer, epoch, launch: {index, leafHash}, seed, createdAt, author}   (once revealed)
 *
 * Commitment: the launch is for the experiment's layer and epoch, the config names it (the layer's
 * `key` field is the seed commitment), it was logged before its drand round was published, a
 * relaunch states its reason, the phases in force follow the plan logged at launch (otherwise
 * WARN: ranges chosen after the key could be known), and a reveal opens the commitment.
 * Beacon: a drand round is the one the launch named, BLS-verified against the pinned chain key
 * (PASS); an operator-supplied value cannot be verified (WARN). With both, the layer key is
 * derived for step 9.
 */
import { canonicalJson, fromHex, toHex, type CompiledConfig } from '@sortition/core';
import { deriveLayerKey, operatorBeaconRandomness, seedCommitment } from '../commitment.js';
import { QUICKNET, roundTime, verifyBeacon } from '../drand.js';
import { iso } from './derive.js';
import { fields, int, isObject, str, type LeafEvidence, type ProofBundle } from './format.js';
import { leafHashOf, leafObject, pointer, type LeafPointer } from './leaves.js';
import type { StepRecorder } from './steps.js';

export interface CommittedOutcome {
  /** Layer id -> derived key (hex), once the seed is revealed and the beacon verified. */
  readonly layerKeys?: ReadonlyMap<string, string>;
  readonly beaconSource?: 'drand' | 'operator';
}

const HEX32 = /^[0-9a-f]{64}$/;

function hex32(v: unknown, path: string): string {
  const s = str(v, path);
  if (!HEX32.test(s)) throw new Error(`${path} is not 64 lower-case hex digits`);
  return s;
}

interface Launch {
  readonly layer: string;
  readonly epoch: number;
  readonly slots: number;
  readonly unit: string;
  readonly seedCommit: string;
  readonly round: number;
  readonly plan: Record<string, unknown>;
  readonly prev: LeafPointer | null;
  readonly reason: string | null;
  readonly createdAt: number;
}

function launchLeaf(e: LeafEvidence): Launch {
  const path = '/committed/launch/leaf';
  const o = fields(leafObject(e.leaf, path), path, ['type', 'layer', 'epoch', 'slots', 'unit', 'seedCommit', 'beacon', 'plan', 'prev', 'reason', 'createdAt', 'author']);
  if (o['type'] !== 'layer-launch') throw new Error(`${path} is not a layer-launch event`);
  const beacon = fields(o['beacon'], `${path} beacon`, ['chain', 'round']);
  if (beacon['chain'] !== QUICKNET.hash) throw new Error(`${path}: the beacon chain ${String(beacon['chain'])} is not drand quicknet (${QUICKNET.hash})`);
  if (!isObject(o['plan'])) throw new Error(`${path} plan is not an object`);
  const reason = o['reason'] === null ? null : str(o['reason'], `${path} reason`);
  return {
    layer: str(o['layer'], `${path} layer`),
    epoch: int(o['epoch'], `${path} epoch`),
    slots: int(o['slots'], `${path} slots`),
    unit: str(o['unit'], `${path} unit`),
    seedCommit: hex32(o['seedCommit'], `${path} seedCommit`),
    round: int(beacon['round'], `${path} beacon round`),
    plan: o['plan'],
    prev: pointer(o['prev'], `${path} prev`),
    reason,
    createdAt: int(o['createdAt'], `${path} createdAt`),
  };
}

/** The common head of beacon and reveal leaves: same layer and epoch, pointing at the launch leaf. */
function linked(o: Record<string, unknown>, path: string, launch: Launch, launchEvidence: LeafEvidence): void {
  if (o['layer'] !== launch.layer || o['epoch'] !== launch.epoch) throw new Error(`${path} is for layer ${String(o['layer'])} epoch ${String(o['epoch'])}, not the launch's ${launch.layer} epoch ${launch.epoch}`);
  const p = pointer(o['launch'], `${path} launch`);
  if (p === null || p.index !== launchEvidence.leafIndex || p.leafHash !== leafHashOf(launchEvidence.leaf)) throw new Error(`${path} does not point at the launch leaf ${launchEvidence.leafIndex}`);
}

/** The phases of `experiment` in `config` that are not in the launch plan as logged. */
function deviations(config: CompiledConfig, experiment: string, plan: Record<string, unknown>, upTo: number): string[] {
  const e = config.experiments.get(experiment);
  if (e === undefined) return [];
  const planned = Array.isArray(plan['experiments']) ? (plan['experiments'] as unknown[]).find((x) => isObject(x) && x['key'] === experiment) : undefined;
  const phases = isObject(planned) && Array.isArray(planned['phases']) ? (planned['phases'] as unknown[]).map((p) => canonicalJson(p)) : [];
  return e.phases
    .filter((p) => {
      if (p.startsAt > upTo) return false;
      const { reason: _reason, ...phase } = p.doc;
      return !phases.includes(canonicalJson(phase));
    })
    .map((p) => p.id);
}

export function checkCommitted(r: StepRecorder, bundle: ProofBundle, current: CompiledConfig, assignmentConfig: CompiledConfig | undefined): CommittedOutcome | null {
  const c = bundle.committed;
  if (c === undefined) {
    r.record('commitment', 'N/A', 'not applicable (layer is not committed)');
    r.record('beacon', 'N/A', 'not applicable (layer is not committed)');
    return null;
  }
  const a = bundle.assignment;
  const commitment = r.attempt('commitment', () => {
    const launch = launchLeaf(c.launch);
    const notes: string[] = [];
    let warn = false;
    for (const [name, config] of [['in force at `at`', current], ['of the assignment', assignmentConfig]] as const) {
      if (config === undefined) continue;
      const layer = config.experiments.get(bundle.experiment)?.layer;
      if (layer === undefined) continue;
      if (layer.id !== launch.layer) throw new Error(`the launch is for layer ${launch.layer}, the experiment is in layer ${layer.id}`);
      if (layer.doc.key !== launch.seedCommit) throw new Error(`the config ${name} (version ${config.version}) names key ${layer.doc.key} for layer ${layer.id}, not the launch's seed commitment ${launch.seedCommit}`);
      if (layer.epoch !== launch.epoch || layer.slots !== launch.slots || layer.unit !== launch.unit) throw new Error(`the config ${name} has layer ${layer.id} epoch ${layer.epoch}, ${layer.slots} slots, unit ${layer.unit}; the launch says epoch ${launch.epoch}, ${launch.slots} slots, unit ${launch.unit}`);
    }
    if (launch.createdAt >= roundTime(launch.round)) throw new Error(`the launch was logged at ${iso(launch.createdAt)}, not before drand round ${launch.round} (${iso(roundTime(launch.round))})`);
    notes.push(`launch of layer ${launch.layer} epoch ${launch.epoch} (leaf ${c.launch.leafIndex}, logged ${iso(launch.createdAt)}) commits to seed ${launch.seedCommit.slice(0, 16)}… and drand round ${launch.round} (published ${iso(roundTime(launch.round))})`);
    if (launch.prev !== null) {
      if (launch.reason === null || launch.reason.trim() === '') throw new Error(`the launch is a relaunch (previous launch: leaf ${launch.prev.index}) without a reason`);
      if (launch.prev.index >= c.launch.leafIndex) throw new Error('the launch points at a later launch as its predecessor');
      notes.push(`RELAUNCH replacing the launch at leaf ${launch.prev.index}: ${JSON.stringify(launch.reason)}`);
    }
    const off = [...new Set([...deviations(current, bundle.experiment, launch.plan, bundle.at), ...(assignmentConfig === undefined || a === null ? [] : deviations(assignmentConfig, bundle.experiment, launch.plan, a.assignedAt))])];
    if (off.length > 0) {
      warn = true;
      notes.push(`phases ${off.join(', ')} are not in the plan logged at launch: their ranges were chosen when the layer key could be known`);
    } else notes.push('the phases in force follow the plan logged at launch');
    let seed: Uint8Array | undefined;
    if (c.reveal === undefined) notes.push('seed not revealed yet: the commitment cannot be opened and the slot not re-derived');
    else {
      const path = '/committed/reveal/leaf';
      const o = fields(leafObject(c.reveal.leaf, path), path, ['type', 'layer', 'epoch', 'launch', 'seed', 'createdAt', 'author']);
      if (o['type'] !== 'seed-reveal') throw new Error(`${path} is not a seed-reveal event`);
      linked(o, path, launch, c.launch);
      seed = fromHex(hex32(o['seed'], `${path} seed`))!;
      if (toHex(seedCommitment(seed)) !== launch.seedCommit) throw new Error(`the revealed seed does not open the commitment ${launch.seedCommit}`);
      notes.push(`seed revealed at leaf ${c.reveal.leafIndex} opens the commitment`);
    }
    return { launch, seed, warn, message: notes.join('; ') };
  });
  if (!commitment.ok) {
    r.record('beacon', 'N/A', 'not checked: the commitment failed');
    return {};
  }
  r.record('commitment', commitment.value.warn ? 'WARN' : 'PASS', commitment.value.message);
  const { launch, seed } = commitment.value;

  const beacon = r.attempt('beacon', () => {
    if (c.beacon === undefined) throw new Error(`no beacon leaf for layer ${launch.layer}: without the beacon the layer could not have been evaluated`);
    const path = '/committed/beacon/leaf';
    const o = leafObject(c.beacon.leaf, path);
    if (o['type'] !== 'layer-beacon') throw new Error(`${path} is not a layer-beacon event`);
    if (c.beacon.leafIndex <= c.launch.leafIndex) throw new Error(`the beacon (leaf ${c.beacon.leafIndex}) is logged before the launch (leaf ${c.launch.leafIndex})`);
    let randomness: Uint8Array;
    let source: 'drand' | 'operator';
    let message: string;
    if (o['source'] === 'drand') {
      fields(o, path, ['type', 'layer', 'epoch', 'launch', 'source', 'round', 'signature', 'randomness', 'createdAt', 'author']);
      linked(o, path, launch, c.launch);
      const round = int(o['round'], `${path} round`);
      if (round !== launch.round) throw new Error(`the beacon is drand round ${round}, the launch named round ${launch.round}`);
      const v = verifyBeacon({ round, signature: str(o['signature'], `${path} signature`), randomness: hex32(o['randomness'], `${path} randomness`) });
      if (!v.ok) throw new Error(`drand round ${round}: ${v.reason}`);
      randomness = v.randomness;
      source = 'drand';
      message = `drand quicknet round ${round} verified offline (BLS against the chain key ${QUICKNET.publicKey.slice(0, 16)}…): randomness ${toHex(randomness).slice(0, 16)}…`;
    } else if (o['source'] === 'operator') {
      fields(o, path, ['type', 'layer', 'epoch', 'launch', 'source', 'value', 'randomness', 'createdAt', 'author']);
      linked(o, path, launch, c.launch);
      randomness = operatorBeaconRandomness(str(o['value'], `${path} value`));
      if (toHex(randomness) !== hex32(o['randomness'], `${path} randomness`)) throw new Error(`${path}: randomness is not the hash of the operator's value`);
      source = 'operator';
      message = `OPERATOR-SUPPLIED beacon ${JSON.stringify(o['value'])} (logged at leaf ${c.beacon.leafIndex}), not drand round ${launch.round}: weaker, nothing shows it was unknown to the operator at launch`;
    } else throw new Error(`${path} source ${JSON.stringify(o['source'])} is not drand or operator`);
    return { randomness, source, message };
  });
  if (!beacon.ok) return {};
  const claimed = c.beaconStatus;
  if (claimed !== undefined && claimed !== (beacon.value.source === 'drand' ? 'drand-verified' : 'operator-supplied')) {
    r.record('beacon', 'FAIL', `the bundle says the beacon is ${claimed}, its leaf says source ${beacon.value.source}`);
    return {};
  }
  r.record('beacon', beacon.value.source === 'drand' ? 'PASS' : 'WARN', beacon.value.message);
  if (seed === undefined) return { beaconSource: beacon.value.source };
  const key = toHex(deriveLayerKey(seed, beacon.value.randomness, launch.layer));
  return { layerKeys: new Map([[launch.layer, key]]), beaconSource: beacon.value.source };
}
