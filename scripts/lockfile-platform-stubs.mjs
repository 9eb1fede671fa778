#!/usr/bin/env node
// The npm registry this project is built against serves only the linux-x64 builds of some native
// packages (DuckDB's bindings). npm then leaves the other platforms' optional dependencies out of
// package-lock.json, and `npm ci` refuses such a lockfile ("Missing: ... from lock file"). This
// adds a stub entry (version, optional, os, cpu) for each missing optional platform package, which
// npm ci skips on a non-matching platform. Run after any `npm install`:
//   node scripts/lockfile-platform-stubs.mjs [--check]
// With --check it changes nothing and exits 1 if a stub is missing (CI runs this via a test).
import { readFileSync, writeFileSync } from 'node:fs';

const file = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(file, 'utf8'));
const packages = lock.packages;
const missing = [];
for (const [path, entry] of Object.entries(packages)) {
  for (const [dep, version] of Object.entries(entry.optionalDependencies ?? {})) {
    const nested = `${path}/node_modules/${dep}`;
    const hoisted = `node_modules/${dep}`;
    if (packages[nested] !== undefined || packages[hoisted] !== undefined) continue;
    const platform = /-(darwin|linux|win32|freebsd|android|openharmony)-(x64|arm64|arm|ia32|ppc64|s390x|riscv64|loong64)(?:-|$)/.exec(dep);
    if (platform === null) {
      console.error(`${dep} (optional dependency of ${path}) is missing from the lockfile and is not a platform package`);
      process.exitCode = 1;
      continue;
    }
    missing.push({ key: hoisted, entry: { version, dev: entry.dev === true ? true : undefined, optional: true, os: [platform[1]], cpu: [platform[2]] } });
  }
}
if (process.argv.includes('--check')) {
  for (const m of missing) console.error(`missing lockfile stub: ${m.key}`);
  if (missing.length > 0) process.exitCode = 1;
} else {
  for (const m of missing) packages[m.key] = JSON.parse(JSON.stringify(m.entry));
  writeFileSync(file, `${JSON.stringify(lock, null, 2)}\n`);
  console.log(`added ${missing.length} platform stub(s)`);
}
