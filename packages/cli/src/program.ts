/**
 * The sortition program: commands return data; `main` prints it and returns the exit code.
 * Only main.ts (the bin entry) touches process.exitCode.
 */
import { randomFillSync } from 'node:crypto';
import { Command, CommanderError } from 'commander';
import { registerAnalyze } from './commands/analyze.js';
import { runAssign } from './commands/assign.js';
import { runDemo } from './commands/demo.js';
import { runKeygen } from './commands/keygen.js';
import { formatPlan, runPlan } from './commands/plan.js';
import { runProve } from './commands/prove.js';
import { runRotateKey } from './commands/rotate-key.js';
import { runServe, serveDefaults } from './commands/serve.js';
import { registerSimulate } from './commands/simulate.js';
import { runValidate } from './commands/validate.js';
import { formatVerify, readVerifyFiles, verifyBundle } from './commands/verify.js';
import { CliError } from './config-file.js';

interface Output {
  stdout: string;
  exitCode: number;
  /** A long-running service: main waits for SIGINT/SIGTERM, then closes it. */
  wait?: { close(): Promise<void> };
}

const json = (value: unknown): string => JSON.stringify(value, null, 2);
const collect = (value: string, previous: string[]): string[] => [...previous, value];

export function buildProgram(emit: (out: Output) => void): Command {
  const program = new Command('sortition')
    .description('Experiment assignment that never drifts unless deliberately re-randomized.')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });

  program
    .command('assign')
    .description('assign one unit to an experiment (read-only: nothing is enrolled) and print JSON')
    .requiredOption('--config <file>', 'config file (YAML or JSON)')
    .requiredOption('--experiment <key>', 'experiment key')
    .requiredOption('--unit <id>', 'unit id (a string; used as given, after NFC normalisation)')
    .option('--attr <k=v>', 'attribute: k=v for a string, k:=json for a number, boolean or null (repeatable)', collect, [])
    .option('--now <time>', 'evaluation time (RFC 3339 UTC or epoch ms); default: the clock')
    .action(async (o: { config: string; experiment: string; unit: string; attr: string[]; now?: string }) => {
      const result = await runAssign({ config: o.config, experiment: o.experiment, unit: o.unit, attrs: o.attr, now: o.now, clock: Date.now });
      emit({ stdout: json(result), exitCode: result.reason === 'ERROR' ? 1 : 0 });
    });

  program
    .command('plan')
    .description('show who would move if PROPOSED replaced CURRENT; exit 1 if the change would be refused')
    .argument('<current>', 'config in force')
    .argument('<proposed>', 'proposed config')
    .option('--now <time>', 'publish time (RFC 3339 UTC or epoch ms); default: the clock')
    .option('--exposed <file>', 'exposed units, JSON Lines of {"experiment", "unit_id"}')
    .option('--json', 'print the report as JSON')
    .action(async (current: string, proposed: string, o: { now?: string; exposed?: string; json?: boolean }) => {
      const report = await runPlan({ current, proposed, now: o.now, exposed: o.exposed, clock: Date.now });
      emit({ stdout: o.json === true ? json(report) : formatPlan(report), exitCode: report.verdict === 'invalid' ? 2 : report.allowed ? 0 : 1 });
    });

  program
    .command('validate')
    .description('validate a config file against the schema and the cross-field rules')
    .argument('<file>', 'config file (YAML or JSON)')
    .option('--json', 'print the result as JSON')
    .action(async (file: string, o: { json?: boolean }) => {
      const r = await runValidate(file);
      const text = r.valid
        ? `${file}: valid (${r.summary?.layers} layers, ${r.summary?.experiments} experiments, ${r.summary?.holdouts} holdouts)`
        : `${file}: invalid\n${r.issues.map((i) => `  ${i.path || '/'}: ${i.message}\n    fix: ${i.fix}`).join('\n')}`;
      emit({ stdout: o.json === true ? json(r) : text, exitCode: r.valid ? 0 : 1 });
    });

  registerAnalyze(program, emit);
  registerSimulate(program, emit);

  program
    .command('prove')
    .description('fetch a proof bundle for one unit, experiment and time from the service (GET /v1/proofs)')
    .requiredOption('--url <url>', 'service URL, e.g. http://127.0.0.1:8080')
    .requiredOption('--key <key>', 'API key with read access')
    .requiredOption('--unit <id>', 'unit id')
    .requiredOption('--experiment <key>', 'experiment key')
    .requiredOption('--at <time>', 'time (RFC 3339 UTC or epoch ms)')
    .option('--unit-type <type>', 'unit type (default: the experiment layer\'s)')
    .option('--receipt <jws>', 'attach a receipt (compact JWS, or @FILE)')
    .option('--attr <k=v>', 'targeting attribute to attach: k=v for a string, k:=json otherwise (repeatable)', collect, [])
    .option('--out <file>', 'write the bundle to FILE instead of stdout')
    .action(async (o: { url: string; key: string; unit: string; experiment: string; at: string; unitType?: string; receipt?: string; attr: string[]; out?: string }) => {
      const r = await runProve({ url: o.url, key: o.key, unit: o.unit, experiment: o.experiment, at: o.at, unitType: o.unitType, receipt: o.receipt, attrs: o.attr, out: o.out });
      emit({ stdout: r.file === null ? json(r.bundle) : `wrote ${r.file}`, exitCode: 0 });
    });

  program
    .command('rotate-key')
    .description('rotate the service\'s checkpoint or receipt signing key (POST /v1/signing-keys/rotate); the old key stays published')
    .requiredOption('--url <url>', 'service URL, e.g. http://127.0.0.1:8080')
    .requiredOption('--key <key>', 'admin API key')
    .requiredOption('--purpose <purpose>', 'checkpoint or receipt')
    .requiredOption('--reason <text>', 'why the key is rotated (logged in the transparency log)')
    .action(async (o: { url: string; key: string; purpose: string; reason: string }) => {
      emit({ stdout: json(await runRotateKey({ url: o.url, key: o.key, purpose: o.purpose, reason: o.reason })), exitCode: 0 });
    });

  program
    .command('verify')
    .description('verify a proof bundle offline; prints every step with PASS, FAIL or N/A; exit 1 on any FAIL')
    .argument('<bundle>', 'bundle file (sortition-proof-bundle/v1)')
    .option('--keys <file>', 'trusted key set (/.well-known/sortition-keys.json); default: the keys in the bundle')
    .option('--checkpoint <file>', 'a later signed checkpoint to check consistency against')
    .option('--consistency <file>', 'consistency proof between the two checkpoints (JSON of GET /v1/log/proof/consistency)')
    .option('--json', 'print the result as JSON')
    .action(async (file: string, o: { keys?: string; checkpoint?: string; consistency?: string; json?: boolean }) => {
      const outcome = verifyBundle(await readVerifyFiles({ bundle: file, keys: o.keys, checkpoint: o.checkpoint, consistency: o.consistency }));
      emit({ stdout: o.json === true ? json(outcome) : formatVerify(outcome), exitCode: outcome.ok ? 0 : 1 });
    });

  const defaults = serveDefaults(process.env);
  program
    .command('serve')
    .description('run the assignment service (HTTP API, sticky store, config history)')
    .option('--host <host>', 'address to listen on (env SORTITION_HOST)', defaults.host)
    .option('--port <port>', 'port to listen on (env SORTITION_PORT)', String(defaults.port))
    .option('--db <location>', 'SQLite file, sqlite:PATH, postgres://... or memory: (env SORTITION_DB)', defaults.db)
    .option('--log', 'log requests as JSON lines', defaults.logger)
    .action(async (o: { host: string; port: string; db: string; log: boolean }) => {
      const port = Number(o.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new CliError('INVALID_ARGUMENT', `--port ${o.port} is not a port; use 0-65535`);
      const { service, db } = await runServe({ host: o.host, port, db: o.db, logger: o.log });
      const lines = [`Sortition is listening on ${service.url}`, `  store: ${service.store.driver} (${db})`, `  config version in force: ${service.history.current()?.record.version ?? 'none'}${service.bootstrapped ? ' (example experiments loaded on first start)' : ''}`, `  API description: ${service.url}/openapi.json`];
      if (service.createdAdminKey !== null) lines.push('', `Admin key (shown once, stored hashed): ${service.createdAdminKey}`, `  try: curl -s -H "Authorization: Bearer ${service.createdAdminKey}" ${service.url}/v1/config/versions`);
      else lines.push('  admin key: already created on an earlier start (keys are stored hashed and cannot be shown again)');
      emit({ stdout: lines.join('\n'), exitCode: 0, wait: service });
    });

  program
    .command('keygen')
    .description('print a fresh 32-byte layer key (hex) from the system CSPRNG')
    .action(() => emit({ stdout: runKeygen((b) => randomFillSync(b)).key, exitCode: 0 }));

  program
    .command('demo')
    .description('assign a few users from examples/checkout.yaml and preview three config changes')
    .option('--json', 'print the result as JSON')
    .action(async (o: { json?: boolean }) => {
      const d = await runDemo();
      if (o.json === true) return emit({ stdout: json(d), exitCode: 0 });
      const lines = [`Sortition demo: ${d.config} at ${d.now}`, '', 'Assignments to checkout_v2 (country=DE, appVersion=4.3.1):'];
      for (const a of d.assignments) lines.push(`  ${a.unit.padEnd(10)} slot ${String(a.slot).padStart(4)}  ${a.reason.padEnd(18)} ${a.variant ?? '-'}${a.holdout === null ? '' : ` (${a.holdout})`}`);
      for (const p of d.plans) lines.push('', `=== sortition plan checkout.yaml ${p.proposed}`, formatPlan(p.report));
      emit({ stdout: lines.join('\n'), exitCode: 0 });
    });

  return program;
}

export async function main(argv: readonly string[]): Promise<number> {
  let exitCode = 0;
  let wait: Output['wait'];
  const program = buildProgram((out) => {
    process.stdout.write(`${out.stdout}\n`);
    exitCode = out.exitCode;
    wait = out.wait;
  });
  try {
    await program.parseAsync([...argv], { from: 'user' });
    if (wait !== undefined) {
      const service = wait;
      await new Promise<void>((resolve) => {
        const stop = (): void => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          resolve();
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
      await service.close();
    }
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    if (error instanceof CliError) {
      process.stderr.write(`sortition: ${error.message}\n`);
      return error.exitCode;
    }
    process.stderr.write(`sortition: unexpected error: ${(error as Error).stack ?? String(error)}\n`);
    return 70;
  }
}

