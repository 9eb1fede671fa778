/**
 * Committed layers in the service (spec §4.1).
 *
 *  - launch: a fresh 32-byte seed is drawn and stored sealed; its commitment, the layer (epoch,
 *    slots, unit), the plan (each experiment's phases with their ranges and start times, and the
 *    layer's holdouts, taken from the config the caller will publish) and a drand quicknet round R
 *    are logged as a layer-launch leaf. R is the first round published at least `beaconDelayMs`
 *    after now (computed from the chain's genesis and period and the injected clock), so it does
 *    not exist when the leaf is logged. A relaunch of a layer needs a reason and a higher epoch,
 *    and its leaf points at the launch it replaces.
 *  - The config names a committed layer by setting the layer's `key` to the seed commitment (hex).
 *    The key that evaluation uses, HMAC-SHA256(seed, "sortition/v1/layer-key" || 0x00 || beacon ||
 *    u8(len L) || L), stays on the server; until the beacon is supplied, experiments in the layer
 *    (or behind a global holdout in it) answer COMMITTED_LAYER_AWAITING_BEACON, never a guess.
 *  - beacon: drand round R (BLS-verified offline against the pinned quicknet key) or, weaker, an
 *    operator-supplied string (only after round R's time; marked "operator" everywhere), logged
 *    as a layer-beacon leaf.
 *  - reveal: the seed is logged as a seed-reveal leaf; anyone can then re-derive every slot.
 *
 * The seed never leaves the server before the reveal: not in the SDK payload (which carries the
 * commitment as the key), exports, responses or logs.
 */
import { randomBytes } from 'node:crypto';
import { canonicalJson, compileConfig, toHex, type Assignment, type CommittedLayerErrorCode, type CompiledConfig } from '@sortition/core';
import { deriveLayerKey, operatorBeaconRandomness, QUICKNET, roundAt, roundTime, seedCommitment, verifyBeacon } from '@sortition/proofs';
import type { EvaluateRequest, Evaluator } from '../assignments/evaluator.js';
import type { Store } from '../store/types.js';
import { CommittedState, type LaunchState } from './committed-state.js';
import type { TransparencyLog } from './log.js';
import type { SeedSealer } from './sealing.js';

export class CommittedLayerError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field: string,
    readonly fix: string,
  ) {
    super(message);
  }
}

export interface Blocked {
  readonly code: CommittedLayerErrorCode;
  readonly message: string;
  readonly layer: string;
}

interface Serving {
  readonly version: number;
  readonly config: CompiledConfig;
  readonly blocked: ReadonlyMap<string, Blocked>;
}

const iso = (ms: number): string => new Date(ms).toISOString();

export interface LaunchRequest {
  readonly layer: string;
  readonly config: unknown;
  readonly reason?: string | undefined;
  readonly round?: number | undefined;
  readonly author: string;
  readonly now: number;
}

export interface BeaconRequest {
  readonly layer: string;
  readonly round?: number | undefined;
  readonly signature?: string | undefined;
  readonly randomness?: string | undefined;
  readonly operator?: string | undefined;
  readonly author: string;
  readonly now: number;
}

export class CommittedLayers {
  private readonly state = new CommittedState();
  private readonly cache = new WeakMap<CompiledConfig, Serving>();

  constructor(
    private readonly store: Store,
    private readonly log: TransparencyLog,
    private readonly sealer: SeedSealer,
    readonly beaconDelayMs: number,
  ) {}

  /** Reads new launch, beacon and reveal leaves and derives the keys of newly activated layers. */
  async refresh(): Promise<void> {
    await this.log.refresh();
    this.state.scan(this.log.entriesFrom(0));
    for (const launch of this.state.pendingKeys()) {
      try {
        const seed = await this.seed(launch);
        launch.key = toHex(deriveLayerKey(seed, Buffer.from(launch.beacon!.randomness, 'hex'), launch.layer));
      } catch (error) {
        launch.keyError = (error as Error).message;
      }
      this.state.version++;
    }
  }

  private async seed(launch: LaunchState): Promise<Uint8Array> {
    const record = await this.store.getLayerSeed(launch.seedCommit);
    if (record === null) throw new Error(`the seed of commitment ${launch.seedCommit} is not in the store`);
    return this.sealer.unseal(record.sealed, launch.seedCommit);
  }

  /** The launch a config's layer refers to (its key is a logged commitment), if any. */
  launchFor(layerKey: string): LaunchState | undefined {
    return this.state.byCommit.get(layerKey);
  }

  private launchOf(layer: string): LaunchState {
    const launch = this.state.latest.get(layer);
    if (launch === undefined) throw new CommittedLayerError(404, 'LAUNCH_NOT_FOUND', `layer ${layer} has not been launched in committed mode`, '/layer', 'launch it with POST /v1/committed-layers');
    return launch;
  }

  async launch(request: LaunchRequest): Promise<Record<string, unknown>> {
    await this.refresh();
    const compiled = compileConfig(request.config);
    if (!compiled.ok) {
      const first = compiled.issues[0]!;
      throw new CommittedLayerError(422, 'CONFIG_INVALID', `the config is invalid: ${first.path}: ${first.message}`, `/config${first.path}`, first.fix);
    }
    const layer = compiled.config.layers.get(request.layer);
    if (layer === undefined) throw new CommittedLayerError(404, 'LAYER_NOT_FOUND', `the config has no layer ${request.layer}`, '/layer', `use one of: ${[...compiled.config.layers.keys()].join(', ')}`);
    const prev = this.state.latest.get(layer.id) ?? null;
    const reason = request.reason?.trim() === '' ? undefined : request.reason;
    if (prev !== null && reason === undefined) throw new CommittedLayerError(400, 'RELAUNCH_REASON_REQUIRED', `layer ${layer.id} was launched before (log leaf ${prev.index}); a relaunch is logged with its reason`, '/reason', 'say why the layer is relaunched');
    if (prev !== null && layer.epoch <= prev.epoch) throw new CommittedLayerError(409, 'EPOCH_NOT_RAISED', `a relaunch re-keys the layer: its epoch must be above ${prev.epoch}, the config says ${layer.epoch}`, `/config/layers`, `set the epoch of layer ${layer.id} to ${prev.epoch + 1}`);
    const earliest = roundAt(request.now + this.beaconDelayMs) + 1;
    if (request.round !== undefined && request.round < earliest) {
      throw new CommittedLayerError(400, 'ROUND_TOO_EARLY', `drand round ${request.round} is published at ${iso(roundTime(request.round))}, less than ${this.beaconDelayMs} ms from now: it could be known before the launch is logged`, '/round', `use round ${earliest} or later (or omit it)`);
    }
    const round = request.round ?? earliest;

    const seed = new Uint8Array(randomBytes(32));
    const seedCommit = toHex(seedCommitment(seed));
    // The seed is stored before the launch is logged, so a logged commitment always has its seed.
    if (!(await this.store.putLayerSeed({ seedCommit, layer: layer.id, epoch: layer.epoch, sealed: this.sealer.seal(seed, seedCommit), createdAt: request.now }))) {
      throw new Error('a freshly drawn seed collides with a stored commitment');
    }
    seed.fill(0);
    const doc = compiled.config.doc;
    const plan = {
      // Each phase as published, but for its reason (prose, not part of who gets what).
      experiments: [...compiled.config.experiments.values()].filter((e) => e.layer.id === layer.id).map((e) => ({ key: e.key, phases: e.doc.phases.map(({ reason: _reason, ...phase }) => phase) })),
      holdouts: (doc.holdouts ?? []).filter((h) => h.layer === layer.id).map((h) => ({ id: h.id, scope: h.scope, ranges: h.ranges })),
    };
    const entry = await this.log.appendEvent(() => {
      this.state.scan(this.log.entriesFrom(0));
      const latest = this.state.latest.get(layer.id) ?? null;
      if (latest?.index !== prev?.index) throw new CommittedLayerError(409, 'LAUNCH_CONFLICT', `layer ${layer.id} was launched concurrently (log leaf ${latest?.index ?? '?'})`, '/layer', 'list launches with GET /v1/committed-layers and retry as a relaunch');
      return canonicalJson({
        type: 'layer-launch',
        layer: layer.id,
        epoch: layer.epoch,
        slots: layer.slots,
        unit: layer.unit,
        seedCommit,
        beacon: { chain: QUICKNET.hash, round },
        plan,
        prev: prev === null ? null : { index: prev.index, leafHash: prev.leafHash },
        reason: reason ?? null,
        createdAt: request.now,
        author: request.author,
      });
    });
    this.state.scan(this.log.entriesFrom(0));
    return {
      layer: layer.id,
      epoch: layer.epoch,
      seedCommit,
      configKey: seedCommit,
      beacon: { chain: QUICKNET.hash, round, publishedAt: iso(roundTime(round)) },
      logIndex: entry.index,
      leafHash: entry.leafHash,
      relaunchOf: prev?.index ?? null,
      sealed: this.sealer.encrypting,
      next: `publish the config with layer ${layer.id}'s key set to ${seedCommit}; after ${iso(roundTime(round))} supply drand round ${round} with POST /v1/committed-layers/${layer.id}/beacon`,
    };
  }

  async supplyBeacon(request: BeaconRequest): Promise<Record<string, unknown>> {
    await this.refresh();
    const launch = this.launchOf(request.layer);
    if (launch.beacon !== null) throw new CommittedLayerError(409, 'BEACON_ALREADY_SET', `layer ${launch.layer} epoch ${launch.epoch} has its beacon (log leaf ${launch.beacon.index})`, '/layer', 'a beacon is supplied once per launch');
    let fields: Record<string, unknown>;
    if (request.operator !== undefined) {
      if (request.round !== undefined || request.signature !== undefined) throw new CommittedLayerError(400, 'BEACON_AMBIGUOUS', 'send either a drand round (round, signature) or an operator value, not both', '/operator', 'drop one of them');
      if (request.now < roundTime(launch.round)) throw new CommittedLayerError(409, 'BEACON_TOO_EARLY', `drand round ${launch.round} is due at ${iso(roundTime(launch.round))}; an operator beacon is accepted only after it`, '/operator', 'supply the drand round, or wait until its time');
      fields = { source: 'operator', value: request.operator, randomness: toHex(operatorBeaconRandomness(request.operator)) };
    } else {
      if (request.round === undefined || request.signature === undefined) throw new CommittedLayerError(400, 'BEACON_MISSING', 'send the drand round and its signature (as served by api.drand.sh), or an operator value', '/signature', `send {"round": ${launch.round}, "signature": "<96 hex>"}`);
      if (request.round !== launch.round) throw new CommittedLayerError(400, 'BEACON_ROUND_MISMATCH', `the launch named drand round ${launch.round}, not ${request.round}`, '/round', `send round ${launch.round}`);
      const v = verifyBeacon({ round: request.round, signature: request.signature, ...(request.randomness === undefined ? {} : { randomness: request.randomness }) });
      if (!v.ok) throw new CommittedLayerError(422, 'BEACON_INVALID', `drand round ${request.round} does not verify against the quicknet key: ${v.reason}`, '/signature', 'send the round exactly as api.drand.sh serves it');
      fields = { source: 'drand', round: v.round, signature: request.signature.toLowerCase(), randomness: toHex(v.randomness) };
    }
    const entry = await this.log.appendEvent(() => {
      this.state.scan(this.log.entriesFrom(0));
      if (launch.beacon !== null) throw new CommittedLayerError(409, 'BEACON_ALREADY_SET', `layer ${launch.layer} got its beacon concurrently`, '/layer', 'a beacon is supplied once per launch');
      return canonicalJson({ type: 'layer-beacon', layer: launch.layer, epoch: launch.epoch, launch: { index: launch.index, leafHash: launch.leafHash }, ...fields, createdAt: request.now, author: request.author });
    });
    await this.refresh();
    if (launch.keyError !== null) throw new CommittedLayerError(500, 'COMMITTED_LAYER_UNAVAILABLE', `the beacon is logged (leaf ${entry.index}) but the layer key cannot be derived: ${launch.keyError}`, '/layer', 'configure the sealing key the seed was stored with');
    return { layer: launch.layer, epoch: launch.epoch, seedCommit: launch.seedCommit, source: fields['source'], verified: fields['source'] === 'drand', weaker: fields['source'] === 'operator', logIndex: entry.index, status: 'active' };
  }

  async reveal(layer: string, author: string, now: number): Promise<Record<string, unknown>> {
    await this.refresh();
    const launch = this.launchOf(layer);
    if (launch.beacon === null) throw new CommittedLayerError(409, 'BEACON_MISSING', `layer ${layer} has no beacon yet: reveal after the layer was activated`, '/layer', 'supply the beacon first');
    if (launch.reveal !== null) throw new CommittedLayerError(409, 'ALREADY_REVEALED', `the seed of layer ${layer} epoch ${launch.epoch} was revealed at log leaf ${launch.reveal.index}`, '/layer', 'nothing to do');
    const seed = toHex(await this.seed(launch));
    const entry = await this.log.appendEvent(() => canonicalJson({ type: 'seed-reveal', layer: launch.layer, epoch: launch.epoch, launch: { index: launch.index, leafHash: launch.leafHash }, seed, createdAt: now, author }));
    await this.refresh();
    return { layer: launch.layer, epoch: launch.epoch, seedCommit: launch.seedCommit, seed, layerKey: launch.key, logIndex: entry.index };
  }

  /** Every launch, newest last, with its status (no seed before its reveal). */
  async list(): Promise<Record<string, unknown>[]> {
    await this.refresh();
    const superseded = new Set([...this.state.byCommit.values()].flatMap((l) => (l.prev === null ? [] : [l.prev.index])));
    return [...this.state.byCommit.values()].map((l) => ({
      layer: l.layer,
      epoch: l.epoch,
      seedCommit: l.seedCommit,
      logIndex: l.index,
      relaunchOf: l.prev?.index ?? null,
      reason: l.reason,
      beacon: { chain: QUICKNET.hash, round: l.round, publishedAt: iso(roundTime(l.round)), supplied: l.beacon === null ? null : { source: l.beacon.source, verified: l.beacon.source === 'drand', logIndex: l.beacon.index } },
      revealed: l.reveal === null ? null : { logIndex: l.reveal.index, seed: l.reveal.seed },
      status: superseded.has(l.index) ? 'superseded' : l.reveal !== null ? 'revealed' : l.key !== null ? 'active' : l.keyError !== null ? 'unavailable' : 'awaiting-beacon',
    }));
  }

  /**
   * Experiments that only the service can evaluate: their layer (or a global holdout's layer) is
   * committed, so the key in the config is the seed commitment, not the secret key (spec §4.1). The
   * SDK payload lists them so a client never derives slots from the commitment.
   */
  serverOnlyExperiments(config: CompiledConfig): string[] {
    const committed = (layerKey: string): boolean => this.state.byCommit.has(layerKey);
    const out: string[] = [];
    for (const e of config.experiments.values()) {
      if (committed(e.layer.doc.key) || e.globalHoldouts.some((g) => committed(g.layer.doc.key))) out.push(e.key);
    }
    return out.sort();
  }

  /** The config evaluation uses: committed layers keyed with their derived keys; unusable ones reported. */
  serving(config: CompiledConfig): Serving {
    const cached = this.cache.get(config);
    if (cached?.version === this.state.version) return cached;
    const keys = new Map<string, string>();
    const blockedLayers = new Map<string, Blocked>();
    for (const layer of config.layers.values()) {
      const launch = this.state.byCommit.get(layer.doc.key);
      if (launch === undefined) continue;
      if (launch.layer !== layer.id || launch.epoch !== layer.epoch || launch.slots !== layer.slots || launch.unit !== layer.unit) {
        blockedLayers.set(layer.id, { layer: layer.id, code: 'COMMITTED_LAYER_MISMATCH', message: `layer ${layer.id} (epoch ${layer.epoch}) names the seed commitment of layer ${launch.layer} epoch ${launch.epoch} (log leaf ${launch.index}); a committed layer's config must match its launch` });
      } else if (launch.key !== null) keys.set(layer.id, launch.key);
      else if (launch.keyError !== null) blockedLayers.set(layer.id, { layer: layer.id, code: 'COMMITTED_LAYER_UNAVAILABLE', message: `committed layer ${layer.id}: ${launch.keyError}` });
      else blockedLayers.set(layer.id, { layer: layer.id, code: 'COMMITTED_LAYER_AWAITING_BEACON', message: `committed layer ${layer.id} waits for drand quicknet round ${launch.round} (due ${iso(roundTime(launch.round))}); it is evaluated once the beacon is supplied` });
    }
    let serving = config;
    if (keys.size > 0) {
      const doc = JSON.parse(JSON.stringify(config.doc)) as { layers: { id: string; key: string }[] };
      for (const l of doc.layers) l.key = keys.get(l.id) ?? l.key;
      const compiled = compileConfig(doc);
      if (!compiled.ok) throw new Error(`config version ${config.version} does not compile with its committed layer keys`);
      serving = compiled.config;
    }
    const blocked = new Map<string, Blocked>();
    if (blockedLayers.size > 0) {
      for (const e of config.experiments.values()) {
        const hit = blockedLayers.get(e.layer.id) ?? e.globalHoldouts.map((g) => blockedLayers.get(g.layer.id)).find((b) => b !== undefined);
        if (hit !== undefined) blocked.set(e.key, hit);
      }
    }
    const result = { version: this.state.version, config: serving, blocked };
    this.cache.set(config, result);
    return result;
  }

  /**
   * Evaluator.evaluate with committed layers: the keyed config, and for experiments that cannot be
   * evaluated yet an ERROR result with the reason (nothing stored). Without committed layers in the
   * config this is the plain call.
   */
  async evaluate(evaluator: Evaluator, config: CompiledConfig, request: EvaluateRequest, now: number): Promise<Assignment[]> {
    const s = this.serving(config);
    if (s.blocked.size === 0) return evaluator.evaluate(s.config, request, now);
    const keys = request.experiments ?? [...config.experiments.keys()];
    const open = keys.filter((k) => !s.blocked.has(k));
    const results = open.length === 0 ? [] : await evaluator.evaluate(s.config, { ...request, experiments: open }, now);
    let i = 0;
    return keys.map((k) => {
      const b = s.blocked.get(k);
      if (b === undefined) return results[i++]!;
      const error: Assignment['error'] = { code: b.code, message: b.message };
      return { experiment: k, variant: null, value: null, reason: 'ERROR', error, layer: config.experiments.get(k)?.layer.id ?? b.layer, slot: null, phase: null, configVersion: config.version, targeting: 'none', holdout: null, stickyStatus: 'none', stickyWrite: null, exposure: null };
    });
  }

  /** The log indices of a launch's leaves, for proof bundles. */
  leavesOf(launch: LaunchState): { launch: number; beacon?: number; reveal?: number } {
    return { launch: launch.index, ...(launch.beacon === null ? {} : { beacon: launch.beacon.index }), ...(launch.reveal === null ? {} : { reveal: launch.reveal.index }) };
  }
}
