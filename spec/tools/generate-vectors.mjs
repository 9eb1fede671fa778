#!/usr/bin/env node
// Authoring tool for spec/vectors/: computes expected results with the TypeScript implementation and
// writes one JSON file per scenario, each result with its explanation. The committed vectors, not
// this script, are the reference: every implementation (TypeScript, the independent Python one in
// spec/reference/, SQL) is tested against the files. Re-run only to add scenarios, then review the diff:
//   npm run build && node spec/tools/generate-vectors.mjs
import { writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { assign, compileConfigOrThrow, createSlotFunction, parseTimestamp, plan, toHex, unitIdBytes } from '../../packages/core/dist/index.js';

const out = new URL('../vectors/', import.meta.url);
const keyOf = (label) => createHash('sha256').update(label, 'utf8').digest('hex');
const TEST_KEY = keyOf('sortition/v1 test key');
const OTHER_KEY = keyOf('sortition/v1 other test key');

function write(vector) {
  const file = new URL(`${vector.name}.json`, out);
  writeFileSync(file, `${JSON.stringify({ $schema: '../schema/vector.schema.json', ...vector }, null, 2)}\n`);
  console.log(`wrote ${vector.name}.json`);
}

// ---------- slot vectors ----------

function slotCases(layers, rows) {
  const fns = Object.fromEntries(
    Object.entries(layers).map(([name, l]) => [name, createSlotFunction('v1', { layerId: l.id, key: Buffer.from(l.key, 'hex'), slots: l.slots })]),
  );
  return rows.map(([layer, unit, why]) => {
    const slot = fns[layer](unit);
    if (typeof slot !== 'number') return { layer, unit, expected: { error: slot.code }, explanation: `${why}: ${slot.message}` };
    const bytes = unitIdBytes(unit);
    return { layer, unit, expected: { slot, canonicalUtf8Hex: toHex(bytes) }, explanation: `${why}; canonical UTF-8 is ${bytes.length} bytes, slot ${slot} of ${layers[layer].slots}` };
  });
}

const checkout10k = { id: 'checkout', algorithm: 'v1', slots: 10000, key: TEST_KEY };
const checkout100k = { id: 'checkout', algorithm: 'v1', slots: 100000, key: TEST_KEY };

write({
  name: 'slot-ascii',
  kind: 'slot',
  description: 'Printable ASCII ids in a 10,000-slot layer: the common case, including the worked example of §3.3.',
  spec: '§2.1, §3',
  layers: { checkout: checkout10k },
  cases: slotCases({ checkout: checkout10k }, [
    ['checkout', 'user_8821', 'the worked example of §3.3: chunk 0 of the MAC is accepted'],
    ['checkout', 'user_1', 'sequential id'],
    ['checkout', 'user_2', 'sequential id differing in one character'],
    ['checkout', 'a', 'single character'],
    ['checkout', 'a:b', 'colons are ordinary bytes (the message is length-prefixed, not delimited)'],
    ['checkout', '8821', 'an integer id converted per §2.3'],
    ['checkout', '-5', 'a negative integer id converted per §2.3'],
    ['checkout', 'alice@example.com', 'e-mail-like id'],
    ['checkout', '3f2504e0-4f89-41d3-9a0c-0305e82c3301', 'UUID id (36 bytes)'],
    ['checkout', ' padded ', 'spaces are part of the id; nothing is trimmed'],
    ['checkout', '~!#$%^&*()', 'punctuation'],
  ]),
});

write({
  name: 'slot-n100000',
  kind: 'slot',
  description: 'The same ids in a 100,000-slot layer with the same key: a different N changes the modulus (and the rejection limit), not the MAC.',
  spec: '§3.2',
  layers: { checkout: checkout100k },
  cases: slotCases({ checkout: checkout100k }, [
    ['checkout', 'user_8821', 'worked example with N = 100000 (§3.3)'],
    ['checkout', 'user_1', 'sequential id'],
    ['checkout', 'user_2', 'sequential id'],
    ['checkout', 'José', 'Latin-1 letter'],
    ['checkout', '小明', 'CJK'],
  ]),
});

write({
  name: 'slot-unicode-normalization',
  kind: 'slot',
  description: 'Canonically equivalent spellings of the same name are one unit: NFC and NFD forms land in the same slot.',
  spec: '§2.1 step 5',
  layers: { checkout: checkout10k },
  cases: slotCases({ checkout: checkout10k }, [
    ['checkout', 'Jos\u00e9', '"José" with precomposed U+00E9 (already NFC)'],
    ['checkout', 'Jose\u0301', '"José" as e + U+0301 COMBINING ACUTE (NFD): normalises to the same bytes, so the same slot as the case above'],
    ['checkout', '\u00c5ngstr\u00f6m', 'Å and ö precomposed'],
    ['checkout', 'A\u030angstro\u0308m', 'the same name decomposed: same slot as above'],
    ['checkout', '\u212bngstr\u00f6m', 'U+212B ANGSTROM SIGN normalises to U+00C5: same slot as above'],
    ['checkout', '\ud55c\uad6d', 'Hangul syllables 한국 (NFC)'],
    ['checkout', '\u1112\u1161\u11ab\u1100\u116e\u11a8', 'the same word as conjoining jamo (NFD): same slot as above'],
  ]),
});

write({
  name: 'slot-non-ascii',
  kind: 'slot',
  description: 'Ids outside ASCII are hashed as UTF-8 bytes of their NFC form, never as UTF-16 code units or code points.',
  spec: '§2.1 step 6, §3.1',
  layers: { checkout: checkout10k },
  cases: slotCases({ checkout: checkout10k }, [
    ['checkout', 'Łukasz', 'Polish: Ł is U+0141, two UTF-8 bytes'],
    ['checkout', 'müller', 'Latin-1 ü'],
    ['checkout', 'straße', 'Latin-1 ß (no case folding: ids are case- and form-exact apart from NFC)'],
    ['checkout', 'STRASSE', 'a different id from straße'],
    ['checkout', '小明', 'CJK, three UTF-8 bytes per character'],
    ['checkout', 'ユーザー', 'Katakana'],
    ['checkout', 'user_😀', 'emoji outside the BMP: a surrogate pair in UTF-16, four bytes in UTF-8'],
    ['checkout', '👩‍💻', 'emoji ZWJ sequence: three code points joined by U+200D'],
    ['checkout', 'Иван', 'Cyrillic'],
    ['checkout', 'محمد', 'Arabic (right-to-left; bytes are in logical order)'],
    ['checkout', '\u00a0nbsp', 'U+00A0 NO-BREAK SPACE is not a control character'],
  ]),
});

write({
  name: 'slot-unit-id-errors',
  kind: 'slot',
  description: 'Ids that cannot be hashed faithfully are rejected with a code, never repaired.',
  spec: '§2.1, §2.2, §2.3',
  layers: { checkout: checkout10k },
  cases: slotCases({ checkout: checkout10k }, [
    ['checkout', 'id\ud800', 'a lone high surrogate: a UTF-8 encoder would emit U+FFFD and collide with "id\\ufffd"'],
    ['checkout', 'id\udc00x', 'a lone low surrogate'],
    ['checkout', '\ud83d', 'half of an emoji'],
    ['checkout', 'id\ufffd', 'a real U+FFFD REPLACEMENT CHARACTER is well-formed and accepted'],
    ['checkout', '', 'the empty string'],
    ['checkout', 'line\nbreak', 'a control character (U+000A)'],
    ['checkout', 'nul\u0000', 'U+0000, which PostgreSQL text cannot store'],
    ['checkout', 'del\u007f', 'U+007F DELETE'],
    ['checkout', 8821, 'a JSON number: ids must be strings (convert integers explicitly, §2.3)'],
    ['checkout', null, 'null'],
  ]),
});

write({
  name: 'slot-length-limits',
  kind: 'slot',
  description: 'The 256-byte limit applies to the UTF-8 bytes of the NFC form.',
  spec: '§2.1 step 6',
  layers: { checkout: checkout10k },
  cases: slotCases({ checkout: checkout10k }, [
    ['checkout', 'a'.repeat(256), '256 ASCII bytes: the longest allowed id'],
    ['checkout', 'a'.repeat(257), '257 ASCII bytes: one too many'],
    ['checkout', 'é'.repeat(128), '128 × U+00E9 is 256 bytes of UTF-8: allowed'],
    ['checkout', `${'é'.repeat(128)}a`, '257 bytes of UTF-8: too long'],
    ['checkout', 'e\u0301'.repeat(100), '300 bytes as written (NFD) but 200 bytes in NFC: allowed, because the limit applies to the NFC form'],
    ['checkout', '😀'.repeat(64), '64 four-byte emoji: 256 bytes, allowed'],
    ['checkout', '😀'.repeat(65), '260 bytes: too long'],
  ]),
});

const layerA = { id: 'ab', algorithm: 'v1', slots: 10000, key: TEST_KEY };
const layerB = { id: 'a', algorithm: 'v1', slots: 10000, key: TEST_KEY };
const layerOther = { id: 'checkout', algorithm: 'v1', slots: 10000, key: OTHER_KEY };
write({
  name: 'slot-layer-separation',
  kind: 'slot',
  description: 'Layer id and unit id are length-prefixed, so no two (layer, unit) pairs share a message; different keys give independent slots.',
  spec: '§3.1',
  layers: { ab: layerA, a: layerB, checkout: checkout10k, 'checkout-other-key': layerOther },
  cases: slotCases({ ab: layerA, a: layerB, checkout: checkout10k, 'checkout-other-key': layerOther }, [
    ['ab', 'c', 'layer "ab", unit "c": message 01 02 6162 0001 63 00000000'],
    ['a', 'bc', 'layer "a", unit "bc": plain concatenation would equal the case above; the length prefixes make it 01 01 61 0002 6263 00000000'],
    ['checkout', 'user_8821', 'the worked example'],
    ['checkout-other-key', 'user_8821', 'same layer id and unit under another key: an unrelated slot'],
  ]),
});

// ---------- assign vectors ----------

const at = (t) => parseTimestamp(t);

function explainAssign(config, input, r) {
  const e = config.experiments.get(input.experiment);
  switch (r.reason) {
    case 'ERROR':
      return `${r.error.code}: ${r.error.message}`;
    case 'NOT_STARTED':
      return `now is before the first phase of ${input.experiment} starts (${e.phases[0].doc.startsAt})`;
    case 'ENDED':
      return `now is at or after endsAt ${e.doc.endsAt}`;
    case 'PHASE_EXCLUDED': {
      const p = e.phases.find((x) => x.id === r.phase);
      return `phase ${r.phase} excludes phases [${[...p.excludedPhases].join(', ')}]; slot ${r.slot} lies in their allocation${input.sticky ? ` or the stored record was made in phase ${input.sticky.phase}` : ''}`;
    }
    case 'STICKY':
      return `the stored record (phase ${input.sticky.phase}, variant ${input.sticky.variant}) is honored in phase ${r.phase}: no re-randomizing phase came after it`;
    case 'TARGETING_EXCLUDED':
      return `targeting is false for attributes ${JSON.stringify(input.attributes ?? {})}`;
    case 'HOLDOUT':
      return `the unit is in holdout ${r.holdout}`;
    case 'NOT_ALLOCATED':
      return `slot ${r.slot} is not allocated to any variant in phase ${r.phase}`;
    default: {
      const p = e.phases.find((x) => x.id === r.phase);
      const ranges = JSON.stringify(p.doc.allocation[r.variant]);
      return `slot ${r.slot} lies in ${r.variant}'s ranges ${ranges} of phase ${r.phase}`;
    }
  }
}

function assignCases(configDoc, inputs) {
  const config = compileConfigOrThrow(configDoc);
  return inputs.map(({ why, ...input }) => {
    const sticky = input.sticky === undefined ? undefined : { ...input.sticky, assignedAt: at(input.sticky.assignedAt) };
    const r = assign(config, { ...input, now: at(input.now), sticky });
    return {
      input,
      expected: {
        variant: r.variant,
        reason: r.reason,
        error: r.error?.code ?? null,
        slot: r.slot,
        layer: r.layer,
        phase: r.phase,
        targeting: r.targeting,
        holdout: r.holdout,
        stickyStatus: r.stickyStatus,
        writesSticky: r.stickyWrite !== null,
        emitsExposure: r.exposure !== null,
      },
      explanation: `${why ? `${why}. ` : ''}${explainAssign(config, input, r)}`,
    };
  });
}

/** The first `count` ids user_0, user_1, ... whose slot in `layerDoc` satisfies `predicate`. */
function findUnits(layerDoc, predicate, count, prefix = 'user_') {
  const f = createSlotFunction('v1', { layerId: layerDoc.id, key: Buffer.from(layerDoc.key, 'hex'), slots: layerDoc.slots });
  const out = [];
  for (let i = 0; out.length < count; i++) if (predicate(f(`${prefix}${i}`))) out.push(`${prefix}${i}`);
  return out;
}

const layer = (id, key, extra = {}) => ({ id, algorithm: 'v1', slots: 10000, key, unit: 'userId', normalization: 'nfc', ...extra });
const users = (n, from = 0) => Array.from({ length: n }, (_, i) => `user_${from + i}`);

const basic = {
  schema: 'sortition/config/v1',
  version: 3,
  layers: [layer('checkout', TEST_KEY)],
  experiments: [
    {
      key: 'button_color',
      layer: 'checkout',
      variants: [{ key: 'control', value: 'blue' }, { key: 'treatment', value: 'green' }],
      phases: [{ id: 'main', startsAt: '2026-03-01T00:00:00Z', allocation: { control: [[0, 5000]], treatment: [[5000, 10000]] } }],
    },
  ],
};
write({
  name: 'assign-two-variants',
  kind: 'assign',
  description: 'A 50/50 experiment over the whole layer: the variant is the one whose range holds the slot.',
  spec: '§5.4, §7 steps 3, 4, 11',
  config: basic,
  cases: assignCases(basic, [
    ...users(8).map((u) => ({ experiment: 'button_color', units: { userId: u }, now: '2026-03-14T12:00:00Z' })),
    { experiment: 'button_color', units: { userId: 'user_8821' }, now: '2026-03-14T12:00:00Z', mode: 'peek', why: 'peek mode: the same answer and no effects' },
    { experiment: 'button_color', units: { userId: 'user_8821' }, now: '2026-02-28T23:59:59Z', why: 'one second before the phase starts' },
    { experiment: 'button_color', units: { userId: 'user_8821' }, now: '2026-03-01T00:00:00Z', why: 'exactly when the phase starts' },
  ]),
});

const multi = {
  schema: 'sortition/config/v1',
  version: 1,
  layers: [layer('search', OTHER_KEY, { slots: 100000 })],
  experiments: [
    {
      key: 'ranking',
      layer: 'search',
      variants: [{ key: 'baseline' }, { key: 'bm25' }, { key: 'dense' }, { key: 'hybrid' }],
      phases: [
        {
          id: 'p1',
          startsAt: '2026-01-01T00:00:00Z',
          allocation: { baseline: [[0, 40000]], bm25: [[40000, 60000]], dense: [[60000, 70000], [90000, 95000]], hybrid: [[70000, 90000]] },
        },
      ],
    },
  ],
};
write({
  name: 'assign-multi-variant',
  kind: 'assign',
  description: 'Four variants with unequal, non-contiguous ranges in a 100,000-slot layer; 5% of slots unallocated.',
  spec: '§5.1, §5.4, §7 step 11',
  config: multi,
  cases: assignCases(multi, users(24).map((u) => ({ experiment: 'ranking', units: { userId: u }, now: '2026-02-01T00:00:00Z' }))),
});

const holdouts = {
  schema: 'sortition/config/v1',
  version: 5,
  layers: [layer('global-holdout', OTHER_KEY), layer('checkout', TEST_KEY), layer('devices', TEST_KEY, { unit: 'deviceId' })],
  holdouts: [
    { id: 'global-10pct', layer: 'global-holdout', scope: 'global', ranges: [[0, 1000]] },
    { id: 'checkout-5pct', layer: 'checkout', scope: 'layer', ranges: [[9500, 10000]] },
  ],
  experiments: [
    {
      key: 'checkout_v2',
      layer: 'checkout',
      variants: [{ key: 'control' }, { key: 'treatment' }],
      phases: [{ id: 'main', startsAt: '2026-03-01T00:00:00Z', allocation: { control: [[0, 4750]], treatment: [[4750, 9500]] } }],
    },
    {
      key: 'device_theme',
      layer: 'devices',
      variants: [{ key: 'light' }, { key: 'dark' }],
      phases: [{ id: 'main', startsAt: '2026-03-01T00:00:00Z', allocation: { light: [[0, 5000]], dark: [[5000, 10000]] } }],
    },
  ],
};
write({
  name: 'assign-holdouts',
  kind: 'assign',
  description: 'A global holdout (its own layer, evaluated first, for every experiment bucketing by userId) and a layer holdout (the top 5% of the checkout layer). The deviceId experiment is not subject to the userId global holdout.',
  spec: '§5.3, §7 steps 9, 10',
  config: holdouts,
  cases: assignCases(holdouts, [
    ...users(30).map((u) => ({ experiment: 'checkout_v2', units: { userId: u }, now: '2026-03-14T00:00:00Z' })),
    ...['dev-1', 'dev-2', 'dev-3', 'dev-4'].map((d) => ({ experiment: 'device_theme', units: { deviceId: d, userId: 'user_0' }, now: '2026-03-14T00:00:00Z' })),
    ...findUnits(holdouts.layers[0], (slot) => slot < 1000, 2).map((u) => ({
      experiment: 'device_theme',
      units: { deviceId: 'dev-1', userId: u },
      now: '2026-03-14T00:00:00Z',
      why: `${u} is in the userId global holdout, but device_theme buckets by deviceId, so the global holdout does not apply`,
    })),
    ...findUnits(holdouts.layers[1], (slot) => slot >= 9500, 40)
      .filter((u) => findUnits(holdouts.layers[0], (slot) => slot < 1000, 400).includes(u))
      .slice(0, 1)
      .map((u) => ({ experiment: 'checkout_v2', units: { userId: u }, now: '2026-03-14T00:00:00Z', why: `${u} falls in both holdouts; the global one is evaluated first, so it is the one reported` })),
  ]),
});

const phased = {
  schema: 'sortition/config/v1',
  version: 9,
  layers: [layer('checkout', TEST_KEY)],
  experiments: [
    {
      key: 'checkout_v2',
      layer: 'checkout',
      variants: [{ key: 'control' }, { key: 'treatment' }],
      endsAt: '2026-06-01T00:00:00Z',
      phases: [
        { id: 'canary', startsAt: '2026-03-01T00:00:00Z', allocation: { control: [[0, 500]], treatment: [[500, 1000]] } },
        { id: 'full', startsAt: '2026-03-08T00:00:00Z', reason: 'canary reviewed; full ramp without canary units', exclude: ['canary'], allocation: { control: [[0, 5000]], treatment: [[5000, 10000]] } },
      ],
    },
  ],
};
const phasedCases = [];
const canaryUnits = findUnits(phased.layers[0], (slot) => slot < 1000, 6);
for (const u of [...users(10), ...canaryUnits]) phasedCases.push({ experiment: 'checkout_v2', units: { userId: u }, now: '2026-03-02T00:00:00Z', why: 'during the canary, which allocates slots [0, 1000)' });
for (const u of [...users(10), ...canaryUnits]) phasedCases.push({ experiment: 'checkout_v2', units: { userId: u }, now: '2026-03-20T00:00:00Z', why: 'during the full ramp, whose allocation covers every slot but excludes the canary\'s [0, 1000)' });
phasedCases.push(
  { experiment: 'checkout_v2', units: { userId: 'user_8821' }, now: '2026-03-20T00:00:00Z', sticky: { experiment: 'checkout_v2', phase: 'canary', variant: 'treatment', slot: 2117, layerEpoch: 1, configVersion: 8, assignedAt: '2026-03-02T00:00:00Z' }, why: 'a record made in the canary (as if the canary had been larger): excluded by record as well as by slot' },
  { experiment: 'checkout_v2', units: { userId: 'user_8821' }, now: '2026-06-01T00:00:00Z', why: 'at endsAt' },
  { experiment: 'checkout_v2', units: { userId: 'user_8821' }, now: '2026-02-01T00:00:00Z', why: 'before the first phase' },
);
write({
  name: 'assign-phases-partitioned-ramp',
  kind: 'assign',
  description: 'A 10% canary, then a full ramp that excludes the canary partition by slot (seed 001): canary units never spill into the full ramp.',
  spec: '§5.4, §7 steps 4, 6',
  config: phased,
  cases: assignCases(phased, phasedCases),
});

const targeted = {
  schema: 'sortition/config/v1',
  version: 2,
  layers: [layer('checkout', TEST_KEY)],
  experiments: [
    {
      key: 'new_flow',
      layer: 'checkout',
      variants: [{ key: 'control' }, { key: 'treatment' }],
      targeting: {
        all: [
          { attr: 'country', op: 'in', value: ['DE', 'FR'] },
          { attr: 'appVersion', op: 'semver_gte', value: '4.2.0' },
          { any: [{ attr: 'age', op: 'gte', value: 18 }, { attr: 'verified', op: 'eq', value: true }] },
          { not: { attr: 'plan', op: 'eq', value: 'enterprise' } },
        ],
      },
      phases: [{ id: 'main', startsAt: '2026-03-01T00:00:00Z', allocation: { control: [[0, 5000]], treatment: [[5000, 10000]] } }],
    },
  ],
};
const t = (attributes, why) => ({ experiment: 'new_flow', units: { userId: 'user_8821' }, now: '2026-03-14T00:00:00Z', attributes, why });
write({
  name: 'assign-targeting',
  kind: 'assign',
  description: 'Targeting with in, semver, numeric, boolean, and/or/not. No coercion: "30" is not 30; a missing attribute makes a comparison false.',
  spec: '§6, §7 step 8',
  config: targeted,
  cases: assignCases(targeted, [
    t({ country: 'DE', appVersion: '4.2.0', age: 30 }, 'all conditions hold'),
    t({ country: 'US', appVersion: '4.2.0', age: 30 }, 'country not in [DE, FR]'),
    t({ country: 'DE', appVersion: '4.1.9', age: 30 }, '4.1.9 < 4.2.0'),
    t({ country: 'DE', appVersion: '4.10.0', age: 30 }, '4.10.0 > 4.2.0 by SemVer (not by string order)'),
    t({ country: 'DE', appVersion: '4.2.0-beta.1', age: 30 }, 'a pre-release precedes its release: 4.2.0-beta.1 < 4.2.0'),
    t({ country: 'DE', appVersion: 'v4.2.0', age: 30 }, 'a leading v is not SemVer 2.0.0: the comparison is false'),
    t({ country: 'DE', appVersion: '4.2.0', age: '30' }, 'age is the string "30", not a number: gte is false; verified is missing: eq is false'),
    t({ country: 'DE', appVersion: '4.2.0', age: 16, verified: true }, 'under 18 but verified'),
    t({ country: 'DE', appVersion: '4.2.0', age: 30, plan: 'enterprise' }, 'not(plan = enterprise) fails'),
    t({ country: 'DE', appVersion: '4.2.0', age: 30, plan: null }, 'plan is null: eq is false, so not(...) holds'),
    t({}, 'no attributes at all'),
  ]),
});

const opsConfig = structuredClone(basic);
opsConfig.experiments = [];
opsConfig.layers = [];
const opCases = [];
const ops = [
  ['eq', 'plan', 'pro', [['pro', true], ['PRO', false], [null, false]]],
  ['eq', 'beta', true, [[true, true], [1, false], ['true', false]]],
  ['eq', 'seats', 1, [[1, true], [true, false], ['1', false], [1.0, true]]],
  ['ne', 'plan', 'free', [['pro', true], ['free', false], [undefined, true], [null, true]]],
  ['in', 'country', ['DE', 'FR'], [['DE', true], ['de', false], [undefined, false], [null, false]]],
  ['nin', 'country', ['DE', 'FR'], [['US', true], ['FR', false], [undefined, true]]],
  ['gt', 'age', 18, [[18.5, true], [18, false], ['19', false]]],
  ['gte', 'age', 18, [[18, true], [17.999, false]]],
  ['lt', 'age', 18, [[-1, true], [18, false], [true, false]]],
  ['lte', 'age', 18, [[18, true], [18.0001, false]]],
  ['semver_eq', 'v', '1.2.3', [['1.2.3', true], ['1.2.3+build.7', true], ['1.2.3-rc.1', false], ['1.2', false]]],
  ['semver_gt', 'v', '1.2.3', [['1.10.0', true], ['1.2.3', false], ['1.2.4-alpha', true]]],
  ['semver_gte', 'v', '1.2.3', [['1.2.3', true], ['1.2.3-alpha.10', false]]],
  ['semver_lt', 'v', '1.0.0', [['1.0.0-alpha', true], ['1.0.0-alpha.beta', true], ['0.9.99', true], ['1.0.0', false]]],
  ['semver_lte', 'v', '1.0.0-beta.11', [['1.0.0-beta.2', true], ['1.0.0-beta.11', true], ['1.0.0-rc.1', false]]],
  ['exists', 'email', undefined, [['a@b.c', true], ['', true], [null, false], [undefined, false], [0, true]]],
];
ops.forEach(([op, attr, value, rows], i) => {
  const key = `op_${i}_${op}`;
  opsConfig.layers.push(layer(`ops-${i}`, TEST_KEY));
  opsConfig.experiments.push({
    key,
    layer: `ops-${i}`,
    variants: [{ key: 'on' }],
    targeting: value === undefined ? { attr, op } : { attr, op, value },
    phases: [{ id: 'main', startsAt: '2026-03-01T00:00:00Z', allocation: { on: [[0, 10000]] } }],
  });
  for (const [actual, holds] of rows) {
    opCases.push({
      experiment: key,
      units: { userId: 'user_8821' },
      now: '2026-03-14T00:00:00Z',
      attributes: actual === undefined ? {} : { [attr]: actual },
      why: `${attr} ${op} ${JSON.stringify(value)} with ${attr} = ${actual === undefined ? '(absent)' : JSON.stringify(actual)} is ${holds}`,
    });
  }
});
write({
  name: 'assign-targeting-operators',
  kind: 'assign',
  description: 'Every operator of §6 on matching, non-matching, mistyped and missing attributes. Each experiment covers all slots, so the reason shows the condition alone.',
  spec: '§6',
  config: opsConfig,
  cases: assignCases(opsConfig, opCases),
});

const precedence = structuredClone(holdouts);
precedence.experiments[0].targeting = { attr: 'country', op: 'eq', value: 'DE' };
const heldOut = findUnits(precedence.layers[1], (slot) => slot >= 9500, 1)[0];
const inArm = findUnits(precedence.layers[1], (slot) => slot < 9500, 1)[0];
const record = (unit, variant) => ({ experiment: 'checkout_v2', phase: 'main', variant, slot: 0, layerEpoch: 1, configVersion: 4, assignedAt: '2026-03-02T00:00:00Z' });
write({
  name: 'assign-sticky-precedence',
  kind: 'assign',
  description: 'A stored record is honored before targeting and holdouts are consulted (§7 step 7): a unit already assigned is not evicted by a later targeting or holdout change; the planner refuses such changes instead.',
  spec: '§7 steps 5-10',
  config: precedence,
  cases: assignCases(precedence, [
    { experiment: 'checkout_v2', units: { userId: inArm }, attributes: { country: 'US' }, now: '2026-03-14T00:00:00Z', why: 'no record: targeting excludes' },
    { experiment: 'checkout_v2', units: { userId: inArm }, attributes: { country: 'US' }, now: '2026-03-14T00:00:00Z', sticky: record(inArm, 'treatment'), why: 'with a record: the record decides even though targeting now fails (reported as excluded)' },
    { experiment: 'checkout_v2', units: { userId: heldOut }, attributes: { country: 'DE' }, now: '2026-03-14T00:00:00Z', why: 'no record: the layer holdout takes the unit' },
    { experiment: 'checkout_v2', units: { userId: heldOut }, attributes: { country: 'DE' }, now: '2026-03-14T00:00:00Z', sticky: record(heldOut, 'control'), why: 'with a record: the record decides even though the slot is now in a holdout' },
  ]),
});

const rerand = {
  schema: 'sortition/config/v1',
  version: 12,
  layers: [layer('checkout', TEST_KEY)],
  experiments: [
    {
      key: 'pricing',
      layer: 'checkout',
      variants: [{ key: 'a' }, { key: 'b' }],
      phases: [
        { id: 'p1', startsAt: '2026-03-01T00:00:00Z', allocation: { a: [[0, 5000]], b: [[5000, 10000]] } },
        { id: 'p2', startsAt: '2026-04-01T00:00:00Z', reason: 'ramp note', carryover: 'sticky', allocation: { a: [[0, 5000]], b: [[5000, 10000]] } },
        { id: 'p3', startsAt: '2026-05-01T00:00:00Z', reason: 'shift to 20/80, deliberately re-randomized', carryover: 'rerandomize', allocation: { a: [[0, 2000]], b: [[2000, 10000]] } },
      ],
    },
  ],
};
const rec = (phase, variant) => ({ experiment: 'pricing', phase, variant, slot: 2117, layerEpoch: 1, configVersion: 11, assignedAt: '2026-03-02T00:00:00Z' });
const s = (now, sticky, why, extra = {}) => ({ experiment: 'pricing', units: { userId: 'user_8821' }, now, ...(sticky ? { sticky } : {}), why, ...extra });
write({
  name: 'assign-sticky-records',
  kind: 'assign',
  description: 'How a stored record is treated: honored across sticky phases, superseded by a re-randomizing phase, ignored when it names an unknown phase or variant or another experiment.',
  spec: '§5.4 carryover, §7 steps 5, 7',
  config: rerand,
  cases: assignCases(rerand, [
    s('2026-03-10T00:00:00Z', undefined, 'no record: assigned from the slot, and a record is written'),
    s('2026-03-10T00:00:00Z', rec('p1', 'b'), 'a record made in the same phase: honored even though the slot would give another variant (the record, not a re-evaluation, decides)'),
    s('2026-04-10T00:00:00Z', rec('p1', 'b'), 'p2 carries over sticky records from p1'),
    s('2026-05-10T00:00:00Z', rec('p1', 'b'), 'p3 re-randomizes: the p1 record is superseded and the unit is assigned afresh'),
    s('2026-05-10T00:00:00Z', rec('p3', 'b'), 'a record made in p3 itself is honored'),
    s('2026-04-10T00:00:00Z', rec('p3', 'b'), 'a record from a later phase than the active one is unknown and ignored'),
    s('2026-04-10T00:00:00Z', rec('p0', 'b'), 'a record naming a phase that does not exist is ignored'),
    s('2026-04-10T00:00:00Z', rec('p1', 'c'), 'a record naming a variant that does not exist is ignored'),
    s('2026-04-10T00:00:00Z', { ...rec('p1', 'b'), experiment: 'other' }, 'a record for another experiment is ignored'),
    s('2026-04-10T00:00:00Z', rec('p1', 'b'), 'peek: same answer, no exposure', { mode: 'peek' }),
  ]),
});

write({
  name: 'assign-errors',
  kind: 'assign',
  description: 'Input errors are returned as codes with reason ERROR; nothing is thrown and no effect is emitted.',
  spec: '§2.2, §7 steps 1, 2',
  config: basic,
  cases: assignCases(basic, [
    { experiment: 'no_such_experiment', units: { userId: 'user_1' }, now: '2026-03-14T00:00:00Z', why: 'unknown experiment' },
    { experiment: 'button_color', units: { deviceId: 'd1' }, now: '2026-03-14T00:00:00Z', why: 'the layer buckets by userId, which is missing' },
    { experiment: 'button_color', units: { userId: '' }, now: '2026-03-14T00:00:00Z', why: 'empty id' },
    { experiment: 'button_color', units: { userId: 'x\ud800' }, now: '2026-03-14T00:00:00Z', why: 'lone surrogate' },
    { experiment: 'button_color', units: { userId: 8821 }, now: '2026-03-14T00:00:00Z', why: 'a number where an id belongs' },
    { experiment: 'button_color', units: { userId: 'a'.repeat(257) }, now: '2026-03-14T00:00:00Z', why: '257 bytes' },
  ]),
});

// ---------- change vectors ----------

function changeVector({ name, description, spec, current, proposed, now, experiment, explanation, count = 200 }) {
  const cur = compileConfigOrThrow(current);
  const next = compileConfigOrThrow(proposed);
  const units = users(count);
  const unitType = cur.experiments.get(experiment).layer.unit;
  const moved = [];
  const entered = [];
  for (const u of units) {
    const q = { experiment, units: { [unitType]: u }, now: at(now), mode: 'peek' };
    const a = assign(cur, q).variant;
    const b = assign(next, q).variant;
    if (a !== null && a !== b) moved.push({ unit: u, from: a, to: b });
    if (a === null && b !== null) entered.push({ unit: u, to: b });
  }
  const report = plan(current, proposed, { now: at(now) });
  const ex = report.experiments.find((e) => e.experiment === experiment);
  const movedSlots = ex?.transitions[0]?.movedSlots ?? 0;
  write({
    name,
    kind: 'change',
    description,
    spec,
    current,
    proposed,
    now,
    experiment,
    unitType,
    units,
    expected: { verdict: report.verdict, movedSlots, moved, entered },
    explanation: `${explanation} Of the ${units.length} listed units, ${moved.length} move and ${entered.length} enter; the planner's verdict is ${report.verdict}.`,
  });
}

const base2 = (allocation, extra = {}) => ({
  schema: 'sortition/config/v1',
  version: 1,
  layers: [layer('checkout', TEST_KEY)],
  experiments: [{ key: 'exp', layer: 'checkout', variants: [{ key: 'control' }, { key: 'treatment' }], phases: [{ id: 'main', startsAt: '2026-03-01T00:00:00Z', allocation }], ...extra }],
});
const withVersion = (c, v) => ({ ...c, version: v });
const NOW = '2026-04-01T00:00:00Z';

changeVector({
  name: 'change-ramp-up',
  description: 'Ramp a 50/50 experiment from 20% to 60% of the layer by extending each variant into unallocated slots.',
  spec: '§8.1, §8.2',
  current: base2({ control: [[0, 1000]], treatment: [[1000, 2000]] }),
  proposed: withVersion(base2({ control: [[0, 1000], [2000, 4000]], treatment: [[1000, 2000], [4000, 6000]] }), 2),
  now: NOW,
  experiment: 'exp',
  explanation: 'Only unallocated slots join the experiment, so nobody already in a variant moves.',
});
changeVector({
  name: 'change-reweight-in-phase',
  description: 'Change 50/50 to 40/60 inside the running phase with the minimal move: slots [4000, 5000) pass from control to treatment.',
  spec: '§8.1, §8.2',
  current: base2({ control: [[0, 5000]], treatment: [[5000, 10000]] }),
  proposed: withVersion(base2({ control: [[0, 4000]], treatment: [[4000, 10000]] }), 2),
  now: NOW,
  experiment: 'exp',
  explanation: 'Exactly 10% of slots (the shrinking variant\'s delta) move, and because they may hold exposed units the change is refused unless declared as a re-randomizing phase.',
});
const rerandProposed = base2({ control: [[0, 5000]], treatment: [[5000, 10000]] });
rerandProposed.version = 2;
rerandProposed.experiments[0].phases.push({ id: 'reweighted', startsAt: NOW, reason: 'shift to 40/60, deliberately re-randomized', carryover: 'rerandomize', allocation: { control: [[0, 4000]], treatment: [[4000, 10000]] } });
changeVector({
  name: 'change-reweight-declared',
  description: 'The same 40/60 shift declared as a new phase with carryover rerandomize and a reason, starting at publish.',
  spec: '§5.4, §8.1',
  current: base2({ control: [[0, 5000]], treatment: [[5000, 10000]] }),
  proposed: rerandProposed,
  now: NOW,
  experiment: 'exp',
  explanation: 'The same units move as in change-reweight-in-phase, but the move is declared, so the planner allows it.',
});
const reordered = base2({ control: [[0, 5000]], treatment: [[5000, 10000]] });
reordered.version = 2;
reordered.experiments[0].variants.reverse();
changeVector({
  name: 'change-reorder-variants',
  description: 'Reverse the order of the variants list; ranges are keyed by variant key, so nothing changes for any unit.',
  spec: '§1, §5.4',
  current: base2({ control: [[0, 5000]], treatment: [[5000, 10000]] }),
  proposed: reordered,
  now: NOW,
  experiment: 'exp',
  explanation: 'Order never decides assignment.',
});
const threeArm = {
  schema: 'sortition/config/v1',
  version: 2,
  layers: [layer('checkout', TEST_KEY)],
  experiments: [
    {
      key: 'exp',
      layer: 'checkout',
      variants: [{ key: 'control' }, { key: 'treatment' }, { key: 'treatment_b' }],
      phases: [
        { id: 'main', startsAt: '2026-03-01T00:00:00Z', allocation: { control: [[0, 3000]], treatment: [[3000, 6000]] } },
        { id: 'three-arm', startsAt: NOW, reason: 'add treatment_b in the unallocated 30%', allocation: { control: [[0, 3000]], treatment: [[3000, 6000]], treatment_b: [[6000, 9000]] } },
      ],
    },
  ],
};
changeVector({
  name: 'change-add-variant',
  description: 'Add a third variant in unallocated slots through a new sticky phase: no existing unit moves.',
  spec: '§8.1, §8.2',
  current: { ...base2({ control: [[0, 3000]], treatment: [[3000, 6000]] }) },
  proposed: threeArm,
  now: NOW,
  experiment: 'exp',
  explanation: 'treatment_b takes only slots nobody held.',
});
const rekeyed = base2({ control: [[0, 5000]], treatment: [[5000, 10000]] });
rekeyed.version = 2;
rekeyed.layers[0] = { ...rekeyed.layers[0], key: OTHER_KEY, epoch: 2 };
changeVector({
  name: 'change-layer-key',
  description: 'Rotate the layer key (the salt rotation of seed 000) without declaring a re-randomizing phase.',
  spec: '§4, §8.1',
  current: base2({ control: [[0, 5000]], treatment: [[5000, 10000]] }),
  proposed: rekeyed,
  now: NOW,
  experiment: 'exp',
  explanation: 'A new key redraws every slot, so about half of all units switch arms; the planner refuses.',
});
const canaryCurrent = structuredClone(phased);
canaryCurrent.experiments[0].phases = [canaryCurrent.experiments[0].phases[0]];
delete canaryCurrent.experiments[0].endsAt;
const canaryProposed = structuredClone(phased);
delete canaryProposed.experiments[0].endsAt;
canaryProposed.version = 10;
canaryProposed.experiments[0].phases[1].startsAt = '2026-03-08T00:00:00Z';
changeVector({
  name: 'change-partitioned-ramp',
  description: 'From the 10% canary to the full ramp that excludes the canary partition.',
  spec: '§5.4 exclude, §8.1',
  current: canaryCurrent,
  proposed: canaryProposed,
  now: '2026-03-08T00:00:00Z',
  experiment: 'checkout_v2',
  explanation: 'Canary units leave the experiment (to none) by explicit exclusion, which declares the move; everyone else enters the full ramp.',
});
