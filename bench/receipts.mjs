#!/usr/bin/env node
/**
 * Receipt signing and verification per second (issue: "measure receipt signing and verification
 * per second in the benchmark"): @sortition/proofs (Ed25519 on @noble/curves, isomorphic) beside
 * node:crypto's Ed25519 over the same signing input (and signReceipt with the node:crypto signer, as
 * the service signs), and jose's verifier for the same token.
 *
 * Then the service itself (`sortition serve` on SQLite as its own process, autocannon from this one,
 * as bench/server.mjs does): POST /v1/evaluate for returning units and for fresh units, with
 * "receipt": true and without, in pairs of runs whose order alternates, so drift hits both equally. Receipts are
 * made only for first assignments, so returning units must not pay for them (target: at most 10%
 * slower with receipts on).
 *   npm run bench:receipts [-- --n 2000 --duration 5 --pairs 5 --connections 64 --no-http]
 */
import { execFileSync, spawn } from 'node:child_process';
import { createPrivateKey, createPublicKey, sign as nodeSign, verify as nodeVerify } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { attrsHash, signReceipt, unitHash, verifyReceipt } from '@sortition/proofs';
import autocannon from 'autocannon';
import { compactVerify, importJWK } from 'jose';
import { ed25519 } from '@noble/curves/ed25519.js';

const { values } = parseArgs({ options: { n: { type: 'string', default: '2000' }, duration: { type: 'string', default: '5' }, connections: { type: 'string', default: '64' }, pairs: { type: 'string', default: '5' }, 'no-http': { type: 'boolean', default: false } } });
const n = Number(values.n);
const secretKey = new Uint8Array(32).map((_, i) => (i * 37 + 11) & 0xff);
const publicKey = ed25519.getPublicKey(secretKey);
const payload = (i) => ({ experiment: 'checkout_v2', phase: 'full', variant: 'treatment', slot: i % 10000, unitHash: unitHash(`user_${i}`), attrsHash: attrsHash({ country: 'DE' }), configVersion: 7, checkpoint: { size: 12, rootHash: 'ab'.repeat(32) }, issuedAt: 1773446400000 + i });

function time(label, fn) {
  fn(0);
  const t = process.hrtime.bigint();
  for (let i = 0; i < n; i++) fn(i);
  const us = Number(process.hrtime.bigint() - t) / n / 1000;
  console.log(`${label.padEnd(58)} ${us.toFixed(1).padStart(8)} us  ${Math.round(1e6 / us).toLocaleString('en-US').padStart(9)} /s`);
  return us;
}

const jwk = { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(publicKey).toString('base64url'), d: Buffer.from(secretKey).toString('base64url') };
const nodePrivate = createPrivateKey({ key: jwk, format: 'jwk' });
const nodePublic = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: jwk.x }, format: 'jwk' });
const tokens = Array.from({ length: n }, (_, i) => signReceipt(payload(i), { kid: 'k1', secretKey }));
const keys = { k1: publicKey };

console.log(`Receipt signing and verification, ${n.toLocaleString('en-US')} receipts, node ${process.versions.node}`);
time('sign: @sortition/proofs signReceipt (@noble/curves)', (i) => signReceipt(payload(i), { kid: 'k1', secretKey }));
time('sign: node:crypto Ed25519 over the same signing input', (i) => {
  const [h, p] = tokens[i].split('.');
  nodeSign(null, Buffer.from(`${h}.${p}`), nodePrivate);
});
const nodeSigner = (message) => new Uint8Array(nodeSign(null, message, nodePrivate));
time('sign: signReceipt with the node:crypto signer (the service)', (i) => signReceipt(payload(i), { kid: 'k1', secretKey, sign: nodeSigner }));
time('verify: @sortition/proofs verifyReceipt (@noble/curves)', (i) => {
  if (!verifyReceipt(tokens[i], keys).ok) throw new Error('receipt did not verify');
});
time('verify: node:crypto Ed25519', (i) => {
  const [h, p, s] = tokens[i].split('.');
  if (!nodeVerify(null, Buffer.from(`${h}.${p}`), nodePublic, Buffer.from(s, 'base64url'))) throw new Error('bad');
});
const joseKey = await importJWK({ kty: 'OKP', crv: 'Ed25519', x: jwk.x }, 'Ed25519');
const t = process.hrtime.bigint();
for (let i = 0; i < n; i++) await compactVerify(tokens[i], joseKey);
const us = Number(process.hrtime.bigint() - t) / n / 1000;
console.log(`${'verify: jose compactVerify (WebCrypto, awaited)'.padEnd(58)} ${us.toFixed(1).padStart(8)} us  ${Math.round(1e6 / us).toLocaleString('en-US').padStart(9)} /s`);

if (!values['no-http']) await benchHttp();

async function benchHttp() {
  const duration = Number(values.duration);
  const pairs_ = Number(values.pairs);
  const connections = Number(values.connections);
  const RETURNING = 20_000;
  const ATTRS = { country: 'DE', appVersion: '4.3.1' };
  const bin = fileURLToPath(new URL('../packages/cli/dist/main.js', import.meta.url));
  const dir = mkdtempSync(join(tmpdir(), 'sortition-bench-receipts-'));
  const child = spawn(process.execPath, [bin, 'serve', '--port', '0', '--db', join(dir, 'bench.db')], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    let out = '';
    await new Promise((resolve, reject) => {
      child.stdout.on('data', (d) => {
        out += d.toString();
        if (/Admin key \(shown once, stored hashed\): \S+\n/.test(out)) resolve();
      });
      child.on('exit', (code) => reject(new Error(`serve exited with ${code}:\n${out}`)));
    });
    const url = /listening on (http:\/\/[\d.:]+)/.exec(out)[1];
    const admin = /Admin key \(shown once, stored hashed\): (\S+)/.exec(out)[1];
    const post = async (key, path, body) => {
      const r = await fetch(`${url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      if (!r.ok) throw new Error(`${path}: ${r.status} ${await r.text()}`);
      return r.json();
    };
    const sdk = (await post(admin, '/v1/keys', { kind: 'sdk', label: 'bench' })).secret;
    for (let i = 0; i < RETURNING; i += 500) {
      await post(sdk, '/v1/evaluate/batch', { requests: Array.from({ length: 500 }, (_, k) => ({ units: { userId: `ret_${i + k}` }, attributes: ATTRS })) });
    }
    const headers = { authorization: `Bearer ${sdk}`, 'content-type': 'application/json' };
    // The server's CPU time (user + system, from /proc) per request: what a request costs the server,
    // which unlike wall-clock throughput hardly depends on what else the machine runs.
    const hz = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim());
    const cpuMs = () => {
      const fields = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1].split(' ');
      return ((Number(fields[11]) + Number(fields[12])) * 1000) / hz;
    };
    const cannon = async (body) => {
      const before = cpuMs();
      const res = await new Promise((resolve, reject) => {
        autocannon({ url: `${url}/v1/evaluate`, connections, duration, pipelining: 1, requests: [{ method: 'POST', headers, setupRequest: (req) => ({ ...req, body: JSON.stringify(body()) }) }] }, (e, r) => (e ? reject(e) : resolve(r)));
      });
      res.cpuUsPerRequest = ((cpuMs() - before) * 1000) / res.requests.total;
      return res;
    };
    let r = 0;
    let f = 0;
    const returning = (receipt) => () => ({ units: { userId: `ret_${r++ % RETURNING}` }, attributes: ATTRS, ...(receipt ? { receipt: true } : {}) });
    const fresh = (receipt) => () => ({ units: { userId: `fresh_${receipt ? 'r' : 'n'}_${f++}` }, attributes: ATTRS, ...(receipt ? { receipt: true } : {}) });
    await cannon(returning(false)); // warm-up
    await cannon(fresh(true));
    // Pairs of runs, receipts off and on, the order swapped every other pair; each pair's ratio
    // compares two runs made seconds apart, and the median ratio is what is reported (the machine
    // may be shared: absolute numbers drift, pairs drift together).
    const rows = [];
    const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    for (const [name, make] of [['returning units', returning], ['fresh units', fresh]]) {
      const pairs = [];
      for (let i = 0; i < pairs_; i++) {
        const order = i % 2 === 0 ? [false, true] : [true, false];
        const got = {};
        for (const receipt of order) {
          const res = await cannon(make(receipt));
          if (res.non2xx + res.errors + res.timeouts > 0) throw new Error(`${name}: ${res.non2xx + res.errors + res.timeouts} failed requests`);
          got[receipt ? 'on' : 'off'] = res;
        }
        pairs.push({ off: got.off.requests.average, on: got.on.requests.average, p99Off: got.off.latency.p99, p99On: got.on.latency.p99, cpuOff: got.off.cpuUsPerRequest, cpuOn: got.on.cpuUsPerRequest });
      }
      rows.push({
        name,
        pairs,
        off: median(pairs.map((x) => x.off)),
        on: median(pairs.map((x) => x.on)),
        ratio: median(pairs.map((x) => x.on / x.off)),
        p99Off: median(pairs.map((x) => x.p99Off)),
        p99On: median(pairs.map((x) => x.p99On)),
        cpuOff: median(pairs.map((x) => x.cpuOff)),
        cpuOn: median(pairs.map((x) => x.cpuOn)),
        cpuRatio: median(pairs.map((x) => x.cpuOn / x.cpuOff)),
      });
    }
    console.log(`\nPOST /v1/evaluate on sortition serve (SQLite), autocannon ${connections} connections, ${pairs_} pairs of ${duration} s runs (receipts off/on, order alternating); medians`);
    for (const row of rows) {
      const change = (row.ratio - 1) * 100;
      const cpu = (row.cpuRatio - 1) * 100;
      console.log(`${row.name.padEnd(16)} throughput off ${Math.round(row.off).toLocaleString('en-US').padStart(6)} req/s (p99 ${row.p99Off} ms), on ${Math.round(row.on).toLocaleString('en-US').padStart(6)} req/s (p99 ${row.p99On} ms): on/off ${change >= 0 ? '+' : ''}${change.toFixed(1)}%   [pairs off/on: ${row.pairs.map((x) => `${Math.round(x.off)}/${Math.round(x.on)}`).join(' ')}]`);
      console.log(`${''.padEnd(16)} server CPU per request off ${row.cpuOff.toFixed(0)} us, on ${row.cpuOn.toFixed(0)} us: on/off ${cpu >= 0 ? '+' : ''}${cpu.toFixed(1)}%   [pairs: ${row.pairs.map((x) => `${x.cpuOff.toFixed(0)}/${x.cpuOn.toFixed(0)}`).join(' ')}]`);
    }
    const cut = (1 - rows[0].ratio) * 100;
    const cpuCut = (1 - 1 / rows[0].cpuRatio) * 100;
    console.log(`returning units: receipts cost ${cut.toFixed(1)}% of measured throughput and ${cpuCut.toFixed(1)}% of CPU-bound capacity (1 / server CPU per request); target <= 10%: ${cpuCut <= 10 ? 'PASS' : 'MISS'}`);
    if (cpuCut > 10) process.exitCode = 1;
  } finally {
    child.kill('SIGTERM');
    await new Promise((resolve) => child.on('exit', resolve));
    rmSync(dir, { recursive: true, force: true });
  }
}
