import { fileURLToPath } from 'node:url';
import { plan, type PlanReport } from '@sortition/core';
import { readConfigDocument } from '../config-file.js';
import { runAssign, type AssignCommandResult } from './assign.js';

/** Where the bundled examples live, relative to this module (src/ or dist/). */
export function examplesDir(): string {
  return fileURLToPath(new URL('../../../../examples/', import.meta.url));
}

export interface DemoResult {
  readonly config: string;
  readonly now: string;
  readonly assignments: readonly (AssignCommandResult & { readonly unit: string })[];
  readonly plans: readonly { readonly proposed: string; readonly report: PlanReport }[];
}

/** The quick-start tour: assign a few users from the example config and preview three changes. */
export async function runDemo(): Promise<DemoResult> {
  const dir = examplesDir();
  const config = `${dir}checkout.yaml`;
  const now = '2026-04-15T00:00:00Z';
  const units = ['8821', '4410', 'user_1', 'José', '小明', 'user_😀'];
  const assignments = [];
  for (const unit of units) {
    const a = await runAssign({ config, experiment: 'checkout_v2', unit, attrs: ['country=DE', 'appVersion=4.3.1'], now, clock: () => Date.parse(now) });
    assignments.push({ unit, ...a });
  }
  const current = await readConfigDocument(config);
  const plans = [];
  for (const name of ['checkout-ramp.yaml', 'checkout-reweight.yaml', 'checkout-rerandomize.yaml']) {
    const proposed = await readConfigDocument(`${dir}${name}`);
    plans.push({ proposed: name, report: plan(current, proposed, { now: Date.parse(now) }) });
  }
  return { config, now, assignments, plans };
}
