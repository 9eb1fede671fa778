/** The verifier's steps, their verdicts, and the recorder that fills in what was not reached. */

export const STEP_NAMES = ['bundle', 'checkpoint', 'leaf', 'inclusion', 'in-force', 'consistency', 'receipt', 'commitment', 'beacon', 'derivation'] as const;
export type StepName = (typeof STEP_NAMES)[number];

/**
 * PASS: checked and holds. WARN: holds, with a weaker guarantee that the message names (e.g. an
 * operator-supplied beacon). FAIL: does not hold; the bundle proves nothing. N/A: nothing to check.
 */
export type Verdict = 'PASS' | 'WARN' | 'FAIL' | 'N/A';

export interface VerificationStep {
  readonly step: number;
  readonly name: StepName;
  readonly verdict: Verdict;
  readonly message: string;
}

/** What a verified bundle states (null when the derivation step did not run). */
export interface BundleStatement {
  readonly unit: string;
  readonly experiment: string;
  /** RFC 3339. */
  readonly at: string;
  readonly reason: string;
  readonly variant: string | null;
  readonly slot: number | null;
  readonly phase: string | null;
  readonly configVersion: number;
  /** For a committed layer: where the beacon came from ("operator" is the weaker guarantee). */
  readonly beacon?: 'drand' | 'operator';
}

export interface BundleVerification {
  /** No step failed (WARN and N/A do not fail a bundle). */
  readonly ok: boolean;
  readonly steps: readonly VerificationStep[];
  readonly statement: BundleStatement | null;
}

export class StepRecorder {
  readonly steps: VerificationStep[] = [];

  record(name: StepName, verdict: Verdict, message: string): void {
    this.steps.push({ step: STEP_NAMES.indexOf(name), name, verdict, message });
  }

  /** Runs `f`; a thrown error becomes a FAIL of `name` with its message. */
  attempt<T>(name: StepName, f: () => T): { ok: true; value: T } | { ok: false } {
    try {
      return { ok: true, value: f() };
    } catch (error) {
      this.record(name, 'FAIL', error instanceof Error ? error.message : String(error));
      return { ok: false };
    }
  }

  /** The outcome; steps not reached are N/A, naming the step that failed. */
  done(statement: BundleStatement | null = null): BundleVerification {
    const failed = this.steps.find((x) => x.verdict === 'FAIL');
    for (let s = this.steps.length; s < STEP_NAMES.length; s++) {
      this.steps.push({ step: s, name: STEP_NAMES[s]!, verdict: 'N/A', message: `not checked: step ${failed?.step ?? '?'} (${failed?.name ?? '?'}) failed` });
    }
    return { ok: this.steps.every((s) => s.verdict !== 'FAIL'), steps: this.steps, statement };
  }
}

/** One line per step, then VERIFIED / FAILED (as `sortition verify` prints it). */
export function formatVerification(outcome: BundleVerification): string {
  const lines = outcome.steps.map((s) => `${s.verdict.padEnd(4)} ${s.step} ${s.name}: ${s.message}`);
  const failed = outcome.steps.find((s) => s.verdict === 'FAIL');
  const warned = outcome.steps.filter((s) => s.verdict === 'WARN');
  lines.push('', failed !== undefined ? `FAILED at step ${failed.step} (${failed.name})` : warned.length === 0 ? 'VERIFIED' : `VERIFIED with weaker guarantees at ${warned.map((s) => `step ${s.step} (${s.name})`).join(', ')}`);
  return lines.join('\n');
}
