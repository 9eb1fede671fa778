/**
 * Turns the per-implementation measurements into the summary (ratios, target checks) and the
 * printed table.
 */
import { VARIANTS } from '../impls/shared.mjs';

/** Ours must do at least this many times the fastest peer's assignments per second. */
export const PEER_TARGET = 2;
/** Ours must take at most this many times the bare PRF's time. */
export const FLOOR_TARGET = 1.3;

/**
 * A split passes when there are no other outcomes and each variant's share is within five binomial
 * standard deviations of one half (at least 0.1 percentage points).
 */
export function checkSplit(split) {
  const total = VARIANTS.reduce((sum, v) => sum + split[v], 0) + split.other;
  const tolerance = Math.max(5 * Math.sqrt(0.25 / Math.max(total, 1)), 0.001);
  const shares = Object.fromEntries(VARIANTS.map((v) => [v, total === 0 ? 0 : split[v] / total]));
  const ok = total > 0 && split.other === 0 && VARIANTS.every((v) => Math.abs(shares[v] - 0.5) <= tolerance);
  return { total, shares, tolerance, ok };
}

export function median(values) {
  const sorted = [...values].sort((x, y) => x - y);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** The target checks; also sets each result's ratioToOurs (its time over ours). */
export function summarize(results) {
  const ok = results.filter((r) => r.ok);
  const ours = ok.find((r) => r.kind === 'ours');
  const floor = ok.find((r) => r.kind === 'floor');
  const peers = ok.filter((r) => r.kind === 'peer');
  const validPeers = peers.filter((r) => r.splitCheck.ok);
  const fastestPeer = validPeers.reduce((best, r) => (best === undefined || r.nsPerAssignment < best.nsPerAssignment ? r : best), undefined);

  for (const r of results) {
    r.ratioToOurs = r.ok && ours !== undefined ? r.nsPerAssignment / ours.nsPerAssignment : null;
  }

  const vsPeer =
    ours !== undefined && fastestPeer !== undefined
      ? {
          required: PEER_TARGET,
          fastestPeer: fastestPeer.id,
          speedup: fastestPeer.nsPerAssignment / ours.nsPerAssignment,
          pass: fastestPeer.nsPerAssignment / ours.nsPerAssignment >= PEER_TARGET,
        }
      : { required: PEER_TARGET, fastestPeer: null, speedup: null, pass: null };
  const vsFloor =
    ours !== undefined && floor !== undefined
      ? {
          required: FLOOR_TARGET,
          ratio: ours.nsPerAssignment / floor.nsPerAssignment,
          pass: ours.nsPerAssignment / floor.nsPerAssignment <= FLOOR_TARGET,
        }
      : { required: FLOOR_TARGET, ratio: null, pass: null };
  return {
    vsFastestPeer: vsPeer,
    vsBarePrf: vsFloor,
    peersMeasured: peers.length,
    peersExcluded: peers.filter((r) => !r.splitCheck.ok).map((r) => r.id),
    failed: results.filter((r) => !r.ok).map((r) => r.id),
  };
}

function fmt(n, digits) {
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function pct(x) {
  return `${(x * 100).toFixed(2)}%`;
}

function table(header, rows) {
  const widths = header.map((h, i) => Math.max(h.text.length, ...rows.map((row) => row[i].length)));
  const line = (cells) =>
    cells.map((c, i) => (header[i].right ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd();
  return [line(header.map((h) => h.text)), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export function formatReport(report) {
  const { environment: env, options, results, summary } = report;
  const out = [];
  out.push(
    `Sortition assignment benchmark: ${fmt(options.ids, 0)} distinct ids, 50/50 experiment, ` +
      `${options.warmup} warm-up + ${options.passes} timed pass${options.passes === 1 ? '' : 'es'} each (median),`,
  );
  out.push(
    `one child process per implementation, passes interleaved round-robin, loop yields to the event loop every ${fmt(options.chunk, 0)} ids`,
  );
  out.push(`node ${env.node} (V8 ${env.v8}), ${env.platform}/${env.arch}, ${env.cpu}`);
  out.push('');

  const header = [
    { text: 'implementation' },
    { text: 'version' },
    { text: 'ns/assign', right: true },
    { text: 'passes min-max', right: true },
    { text: 'assign/s', right: true },
    { text: 'vs ours', right: true },
    { text: `${VARIANTS[0]} / ${VARIANTS[1]} (other)` },
    { text: 'split' },
  ];
  const rows = results.map((r) => {
    if (!r.ok) return [r.label, r.version ?? '-', 'FAILED', '-', '-', '-', r.error ?? '', '-'];
    const s = r.splitCheck;
    return [
      r.label,
      r.version ?? '-',
      fmt(r.nsPerAssignment, 1),
      `${fmt(Math.min(...r.nsPasses), 0)}-${fmt(Math.max(...r.nsPasses), 0)}`,
      fmt(1e9 / r.nsPerAssignment, 0),
      `${r.ratioToOurs === null ? '-' : fmt(r.ratioToOurs, 2)}x`,
      `${pct(s.shares[VARIANTS[0]])} / ${pct(s.shares[VARIANTS[1]])} (${r.split.other})`,
      (s.ok ? 'ok' : 'BAD') + (r.deterministic ? '' : ', not deterministic'),
    ];
  });
  out.push(table(header, rows));
  out.push('');

  const ours = results.find((r) => r.kind === 'ours' && r.ok);
  const floor = results.find((r) => r.kind === 'floor' && r.ok);
  if (ours !== undefined && floor !== undefined) {
    out.push(`ours vs bare PRF floor: ${fmt(ours.nsPerAssignment, 1)} / ${fmt(floor.nsPerAssignment, 1)} ns = ${fmt(summary.vsBarePrf.ratio, 2)}x`);
  }
  const vp = summary.vsFastestPeer;
  if (vp.pass === null) {
    out.push(`target 1 (>= ${vp.required}x the fastest peer's throughput): n/a (no peer with a valid split measured)`);
  } else {
    const peer = results.find((r) => r.id === vp.fastestPeer);
    out.push(
      `target 1 (>= ${vp.required}x the fastest peer's throughput): ${vp.pass ? 'PASS' : 'MISS'}: ` +
        `${fmt(vp.speedup, 2)}x ${peer.label} (${fmt(peer.nsPerAssignment, 1)} ns vs ours ${fmt(ours.nsPerAssignment, 1)} ns)` +
        (vp.pass ? '' : `; ours needs <= ${fmt(peer.nsPerAssignment / vp.required, 1)} ns`),
    );
  }
  const vf = summary.vsBarePrf;
  if (vf.pass === null) {
    out.push(`target 2 (<= ${vf.required}x the bare PRF's time): n/a (ours or the PRF not measured)`);
  } else {
    out.push(
      `target 2 (<= ${vf.required}x the bare PRF's time): ${vf.pass ? 'PASS' : 'MISS'}: ${fmt(vf.ratio, 2)}x` +
        (vf.pass ? '' : `; ours needs <= ${fmt(floor.nsPerAssignment * vf.required, 1)} ns`),
    );
  }
  if (summary.peersExcluded.length > 0) out.push(`excluded from target 1 (bad split): ${summary.peersExcluded.join(', ')}`);
  if (summary.failed.length > 0) out.push(`failed: ${summary.failed.join(', ')}`);

  const notes = [];
  for (const r of results) {
    const timedNet = (r.network ?? []).filter((c) => c.phase !== 'setup');
    const setupNet = (r.network ?? []).filter((c) => c.phase === 'setup');
    const parts = [...(r.notes ?? [])];
    if (r.async) parts.push('promise API: each assignment awaited');
    if (setupNet.length > 0) parts.push(`setup connections: ${setupNet.map((c) => c.target).join(', ')}`);
    if (timedNet.length > 0) parts.push(`CONNECTIONS WHILE TIMED: ${timedNet.map((c) => c.target).join(', ')}`);
    if (r.ok && r.firstOther !== undefined) parts.push(`unexpected result ${JSON.stringify(r.firstOther)}`);
    if (parts.length > 0) notes.push(`  ${r.id}: ${parts.join('; ')}`);
  }
  if (notes.length > 0) out.push('', 'notes:', ...notes);
  return out.join('\n');
}
