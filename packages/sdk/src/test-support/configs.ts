/** Small configs for SDK tests. */
export const KEY_A = '49c44a7d9ac84d469105548d341dae62fbbbb822e25a13aef27ef625c0e22e64';
export const KEY_B = '843e0bed88eb9397f8e2ad4dd570a477ba395793f748f6f4e6c6e1060a0f98e7';

/** Two layers: "user" buckets by userId, "device" by anonymousId. */
export function testConfig(version = 1, overrides: { userAllocation?: Record<string, [number, number][]>; extraPhase?: boolean } = {}): Record<string, unknown> {
  const userPhases: unknown[] = [
    {
      id: 'main',
      startsAt: '2026-01-01T00:00:00Z',
      allocation: overrides.userAllocation ?? { control: [[0, 5000]], treatment: [[5000, 10000]] },
    },
  ];
  if (overrides.extraPhase === true) {
    userPhases.push({ id: 'second', startsAt: '2026-02-01T00:00:00Z', carryover: 'rerandomize', reason: 'test', allocation: { control: [[0, 5000]], treatment: [[5000, 10000]] } });
  }
  return {
    schema: 'sortition/config/v1',
    version,
    layers: [
      { id: 'user', algorithm: 'v1', slots: 10000, key: KEY_A, unit: 'userId', normalization: 'nfc' },
      { id: 'device', algorithm: 'v1', slots: 10000, key: KEY_B, unit: 'anonymousId', normalization: 'nfc' },
    ],
    experiments: [
      {
        key: 'button',
        layer: 'user',
        variants: [
          { key: 'control', value: 'blue' },
          { key: 'treatment', value: 'green' },
        ],
        targeting: { attr: 'country', op: 'in', value: ['DE', 'FR'] },
        phases: userPhases,
      },
      {
        key: 'layout',
        layer: 'device',
        variants: [
          { key: 'control', value: { columns: 1 } },
          { key: 'treatment', value: { columns: 2 } },
        ],
        phases: [{ id: 'main', startsAt: '2026-01-01T00:00:00Z', allocation: { control: [[0, 4500]], treatment: [[4500, 9000]] } }],
      },
      {
        key: 'later',
        layer: 'device',
        variants: [{ key: 'a' }, { key: 'b' }],
        phases: [{ id: 'main', startsAt: '2030-01-01T00:00:00Z', allocation: { a: [[9000, 9010]], b: [[9010, 9020]] } }],
      },
    ],
  };
}

export const NOW = Date.parse('2026-01-15T00:00:00Z');
