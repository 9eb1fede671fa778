/**
 * Where the Sortition side of a simulation runs: the library (the core's assign() with a sticky
 * store and plan() before every publish, in memory) or a live service (../service-backend.ts). The
 * orchestration in sortition-stack.ts drives either through this interface.
 */
import { assign, compileConfigOrThrow, plan, type CompiledConfig, type ConfigDocument, type ExposureEvent, type PlanReport, type StickyRecord } from '@sortition/core';
import { UNIT_TYPE, type ConfigPart } from './sortition-config.js';

export interface Served {
  readonly variant: string | null;
  readonly phase: string | null;
  readonly slot: number | null;
  readonly reason: string;
  readonly configVersion: number;
}

/** An exposure as the service exports it (GET /v1/export/exposures), the first per unit and phase. */
export interface ExposureRow {
  readonly unitType: string;
  readonly unit: string;
  readonly experiment: string;
  readonly phase: string;
  readonly variant: string;
  readonly slot: number;
  readonly configVersion: number;
  readonly at: number;
}

export interface PublishResult {
  readonly version: number;
  readonly createdAt: number;
  readonly report: PlanReport;
}

export interface Backend {
  readonly kind: 'library' | 'service';
  /** The backend's clock at sim time `t`: sim time for the library; the service's clock otherwise. */
  advanceTo(t: number): Promise<number>;
  /** Plans `part` against the config in force and publishes it; throws when the planner refuses. */
  publish(part: ConfigPart, reason: string): Promise<PublishResult>;
  /** The planner's verdict on `part` without publishing. */
  dryRun(part: ConfigPart): Promise<PlanReport>;
  /** Serves each unit once (enroll; the sticky store decides returning units) at the backend's current time. */
  serve(units: readonly string[]): Promise<Served[]>;
  /** Reports exposures observed by the sessions served; the first per unit and phase is kept. */
  expose(exposures: readonly ExposureEvent[]): Promise<void>;
  /** Every stored exposure of the experiment. */
  exposures(): Promise<ExposureRow[]>;
  close(): Promise<void>;
}

export const EMPTY_CONFIG: ConfigDocument = { schema: 'sortition/config/v1', version: 0, layers: [], experiments: [] };

/** `base` with the simulation's layer and experiment put in (replacing earlier versions of them), as version `version`. */
export function mergeConfig(base: ConfigDocument, part: ConfigPart, version: number): ConfigDocument {
  return {
    ...base,
    version,
    layers: [...base.layers.filter((l) => l.id !== part.layer.id), part.layer],
    experiments: [...base.experiments.filter((e) => e.key !== part.experiment.key), part.experiment],
  };
}

/** Exposed units per slot of the experiment's layer, counting each unit once (as the service's store does). */
export function exposedSlotCounts(rows: readonly ExposureRow[], experiment: string, slots: number): Uint32Array {
  const counts = new Uint32Array(slots);
  const seen = new Set<string>();
  for (const r of rows) {
    if (r.experiment !== experiment || seen.has(r.unit) || r.slot >= slots) continue;
    seen.add(r.unit);
    counts[r.slot]! += 1;
  }
  return counts;
}

export class PlanRefusedError extends Error {
  override readonly name = 'PlanRefusedError';
  constructor(
    message: string,
    readonly report: PlanReport,
  ) {
    super(message);
  }
}

export function refusalReasons(report: PlanReport): string[] {
  return [...report.layers.flatMap((l) => l.reasons), ...report.experiments.flatMap((e) => e.reasons), ...report.issues.map((i) => `${i.path}: ${i.message}`)];
}

/** The library: assign() with an in-memory sticky store, and plan() (with the stored exposures) before every publish. */
export class LibraryBackend implements Backend {
  readonly kind = 'library';
  private now = 0;
  private doc: ConfigDocument = EMPTY_CONFIG;
  private compiled: CompiledConfig | null = null;
  private experiment = '';
  private readonly sticky = new Map<string, StickyRecord>();
  /** First exposure per phase and unit. */
  private readonly stored = new Map<string, Map<string, ExposureRow>>();

  async advanceTo(t: number): Promise<number> {
    this.now = Math.max(this.now, t);
    return this.now;
  }

  private candidate(part: ConfigPart): { next: ConfigDocument; report: PlanReport } {
    const next = mergeConfig(this.doc, part, this.doc.version + 1);
    const exposed = this.compiled === null ? undefined : new Map([[part.experiment.key, { slotCounts: exposedSlotCounts([...this.stored.values()].flatMap((units) => [...units.values()]), part.experiment.key, part.layer.slots) }]]);
    return { next, report: plan(this.doc, next, { now: this.now, ...(exposed === undefined ? {} : { exposed }) }) };
  }

  async dryRun(part: ConfigPart): Promise<PlanReport> {
    return this.candidate(part).report;
  }

  async publish(part: ConfigPart, reason: string): Promise<PublishResult> {
    const { next, report } = this.candidate(part);
    if (!report.allowed) throw new PlanRefusedError(`the planner refused "${reason}": ${refusalReasons(report).join('; ')}`, report);
    this.doc = next;
    this.compiled = compileConfigOrThrow(next);
    this.experiment = part.experiment.key;
    return { version: next.version, createdAt: this.now, report };
  }

  async serve(units: readonly string[]): Promise<Served[]> {
    const config = this.compiled;
    if (config === null) throw new Error('nothing is published yet');
    return units.map((unit) => {
      const r = assign(config, { experiment: this.experiment, units: { [UNIT_TYPE]: unit }, now: this.now, sticky: this.sticky.get(unit) ?? null });
      if (r.stickyWrite !== null) this.sticky.set(unit, r.stickyWrite);
      return { variant: r.variant, phase: r.phase, slot: r.slot, reason: r.reason, configVersion: r.configVersion };
    });
  }

  async expose(exposures: readonly ExposureEvent[]): Promise<void> {
    for (const e of exposures) {
      let units = this.stored.get(e.phase);
      if (units === undefined) this.stored.set(e.phase, (units = new Map()));
      if (units.has(e.unit)) continue;
      units.set(e.unit, { unitType: e.unitType, unit: e.unit, experiment: e.experiment, phase: e.phase, variant: e.variant, slot: e.slot, configVersion: e.configVersion, at: e.at });
    }
  }

  async exposures(): Promise<ExposureRow[]> {
    return [...this.stored.values()].flatMap((units) => [...units.values()]);
  }

  async close(): Promise<void> {
    // Nothing to release: everything is in memory.
  }
}
