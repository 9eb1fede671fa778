/**
 * Shapes of the service's answers that the dashboard reads (the service's own types live in
 * @sortition/server and @sortition/analysis, which are Node packages; config and planner types come
 * from @sortition/core, which is isomorphic).
 */
import type { ConfigDocument, PlanReport } from '@sortition/core';

export type KeyKind = 'admin' | 'read' | 'sdk';

export interface WhoAmI {
  readonly id: string;
  readonly kind: KeyKind;
  readonly label: string;
  readonly canWrite: boolean;
  readonly canExport: boolean;
}

export interface ConfigRecord {
  readonly version: number;
  readonly doc: ConfigDocument;
  readonly hash: string;
  readonly author: string;
  readonly reason: string;
  readonly createdAt: number;
  readonly impact: PlanReport | null;
}

export type ConfigSummary = Omit<ConfigRecord, 'doc' | 'impact'>;

export interface JsonChange {
  readonly path: string;
  readonly op: 'add' | 'remove' | 'replace';
  readonly from?: unknown;
  readonly to?: unknown;
}

export interface ExperimentVersion {
  readonly version: number;
  readonly createdAt: number;
  readonly author: string;
  readonly reason: string;
  readonly hash: string;
  readonly change: 'added' | 'modified' | 'removed';
  readonly changes: readonly JsonChange[];
  readonly verdict: string | null;
  readonly reasons: readonly string[];
  readonly transitions: PlanReport['experiments'][number]['transitions'];
}

/** POST /v1/config/plan: a plan, or the validation issues of an invalid config. */
export type PlanAnswer = PlanReport | { readonly verdict: 'invalid'; readonly issues: PlanReport['issues'] };

export interface PublishAnswer {
  readonly version: number;
  readonly hash: string;
  readonly createdAt: number;
  readonly impact: PlanReport | null;
}

export type SrmStatus = 'ok' | 'warn' | 'alert' | 'insufficient-data' | 'expected-split-unknown';

export interface ArmHealth {
  readonly variant: string;
  readonly units: number;
  readonly exposures: number;
  readonly observedShare: number;
  readonly expectedUnits: number | null;
  readonly expectedShare: number | null;
}

export interface PhaseHealth {
  readonly phase: string;
  readonly units: number;
  readonly arms: readonly ArmHealth[];
  readonly split: { readonly segments: readonly { readonly configVersions: readonly number[]; readonly units: number; readonly slots: Readonly<Record<string, number>> }[] } | null;
  readonly srm: {
    readonly chiSquare: number | null;
    readonly pValue: number | null;
    readonly status: SrmStatus;
    readonly sequential: { readonly logBayesFactor: number; readonly pValue: number | null; readonly status: string } | null;
  };
}

export interface CrossoverDay {
  readonly day: string;
  readonly exposedUnits: number;
  readonly exposedInOtherArm: number;
  readonly share: number;
  readonly newUnits: number;
  readonly newCrossovers: number;
  readonly cumulativeShare: number;
}

export interface CrossoverCause {
  readonly phase: string;
  readonly units: number;
  readonly kind: 'rerandomized' | 'undeclared';
  readonly rerandomizedBy: string | null;
  readonly version: { readonly version: number; readonly author: string; readonly reason: string; readonly createdAt: number } | null;
  readonly sources: readonly string[];
  readonly explanation: string;
}

export interface Warning {
  readonly code: string;
  readonly message: string;
}

export interface HealthReport {
  readonly experiment: string;
  readonly generatedAt: number;
  readonly exposureRows: number;
  readonly units: number;
  readonly phases: readonly PhaseHealth[];
  readonly crossovers: {
    readonly units: number;
    readonly crossoverUnits: number;
    readonly crossoverShare: number;
    readonly warning: boolean;
    readonly flipMatrix: readonly { readonly from: string; readonly to: string; readonly units: number }[];
    readonly firstFlipDay: string | null;
    readonly days: readonly CrossoverDay[];
    readonly causes: readonly CrossoverCause[];
  };
  readonly warnings: readonly Warning[];
}

export interface Interval {
  readonly estimate: number;
  readonly standardError: number;
  readonly lower: number;
  readonly upper: number;
  readonly confidence: number;
}

export interface ArmSummary {
  readonly n: number;
  readonly estimate: number;
  readonly standardError: number;
}

export interface Estimate {
  readonly control: ArmSummary;
  readonly treatment: ArmSummary;
  readonly difference: Interval;
  readonly relative: Interval | null;
  readonly pValue: number | null;
}

export interface Comparison {
  readonly control: string;
  readonly treatment: string;
  readonly primary: (Estimate & { readonly strata: readonly { readonly stratum: string; readonly weight: number }[] }) | null;
  readonly naiveEventTime: (Estimate & { readonly disagreesWithPrimary: boolean }) | null;
  readonly crossoversExcluded: Estimate | null;
}

export interface MetricResult {
  readonly metric: string;
  readonly kind: 'sum' | 'conversion';
  readonly comparisons: readonly Comparison[];
}

export interface ResultsReport {
  readonly experiment: string;
  readonly control: string;
  readonly variants: readonly string[];
  readonly strata: readonly string[];
  readonly confidence: number;
  readonly units: { readonly total: number };
  readonly metrics: readonly MetricResult[];
  readonly warnings: readonly Warning[];
  readonly exposureRows: number;
  readonly inputs: { readonly events: { readonly rows: number; readonly badRows: number; readonly source: 'store' | 'upload' } };
}

/** GET /v1/insights/metrics: the metric events stored for an experiment's unit type (POST /v1/metrics). */
export interface StoredMetrics {
  readonly experiment: string;
  readonly unitType: string;
  readonly metrics: readonly { readonly metric: string; readonly events: number; readonly firstAt: number; readonly lastAt: number }[];
}
