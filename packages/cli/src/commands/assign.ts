import { assign, type Assignment, type AttributeValue } from '@sortition/core';
import { CliError, loadConfig, parseNow } from '../config-file.js';

export interface AssignOptions {
  readonly config: string;
  readonly experiment: string;
  readonly unit: string;
  readonly attrs: readonly string[];
  readonly now?: string | undefined;
  readonly clock: () => number;
}

/**
 * Attribute values on the command line: `k=v` is a string, `k:=json` is a JSON value (number,
 * boolean, null). No guessing: `--attr age=30` is the string "30"; write `--attr age:=30`.
 */
export function parseAttributes(pairs: readonly string[]): Record<string, AttributeValue> {
  const out: Record<string, AttributeValue> = {};
  for (const pair of pairs) {
    const json = /^([^=:]+):=(.*)$/s.exec(pair);
    const text = /^([^=:]+)=(.*)$/s.exec(pair);
    if (json !== null) {
      let value: unknown;
      try {
        value = JSON.parse(json[2]!);
      } catch (error) {
        throw new CliError('INVALID_ARGUMENT', `--attr ${pair}: the value after := must be JSON (e.g. 30, true, null)`, { cause: error });
      }
      if (value !== null && !['string', 'number', 'boolean'].includes(typeof value)) {
        throw new CliError('INVALID_ARGUMENT', `--attr ${pair}: attribute values are strings, numbers, booleans or null`);
      }
      out[json[1]!] = value as AttributeValue;
    } else if (text !== null) out[text[1]!] = text[2]!;
    else throw new CliError('INVALID_ARGUMENT', `--attr ${pair}: write key=value (string) or key:=json (number, boolean, null)`);
  }
  return out;
}

export interface AssignCommandResult {
  readonly variant: string | null;
  readonly value: unknown;
  readonly reason: string;
  readonly error: Assignment['error'];
  readonly slot: number | null;
  readonly layer: string | null;
  readonly phase: string | null;
  readonly configVersion: number;
  readonly targeting: string;
  readonly holdout: string | null;
}

export async function runAssign(options: AssignOptions): Promise<AssignCommandResult> {
  const config = await loadConfig(options.config);
  const experiment = config.experiments.get(options.experiment);
  const unitType = experiment?.layer.unit ?? 'unit';
  const a = assign(config, {
    experiment: options.experiment,
    units: { [unitType]: options.unit },
    attributes: parseAttributes(options.attrs),
    now: parseNow(options.now, options.clock),
    mode: 'peek',
  });
  return {
    variant: a.variant,
    value: a.value,
    reason: a.reason,
    error: a.error,
    slot: a.slot,
    layer: a.layer,
    phase: a.phase,
    configVersion: a.configVersion,
    targeting: a.targeting,
    holdout: a.holdout,
  };
}
