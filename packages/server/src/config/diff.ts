/** A structural diff of two JSON documents, as a list of changes at JSON pointers. */
export interface JsonChange {
  readonly path: string;
  readonly op: 'add' | 'remove' | 'replace';
  readonly from?: unknown;
  readonly to?: unknown;
}

const escape = (key: string): string => key.replace(/~/g, '~0').replace(/\//g, '~1');
const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * Changes that turn `a` into `b`. Arrays of objects with an identifying key (`id` or `key`) are
 * matched by that key, so reordering or inserting an experiment reads as what it is.
 */
export function diffJson(a: unknown, b: unknown, path = ''): JsonChange[] {
  if (isObject(a) && isObject(b)) {
    const out: JsonChange[] = [];
    for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
      const p = `${path}/${escape(key)}`;
      if (!(key in b)) out.push({ path: p, op: 'remove', from: a[key] });
      else if (!(key in a)) out.push({ path: p, op: 'add', to: b[key] });
      else out.push(...diffJson(a[key], b[key], p));
    }
    return out;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    const idOf = (v: unknown): string | undefined => {
      if (!isObject(v)) return undefined;
      const id = v['id'] ?? v['key'];
      return typeof id === 'string' ? id : undefined;
    };
    const keyed = a.every((v) => idOf(v) !== undefined) && b.every((v) => idOf(v) !== undefined);
    if (keyed) {
      const out: JsonChange[] = [];
      const before = new Map(a.map((v) => [idOf(v)!, v]));
      const after = new Map(b.map((v) => [idOf(v)!, v]));
      for (const [id, v] of before) if (!after.has(id)) out.push({ path: `${path}/${escape(id)}`, op: 'remove', from: v });
      for (const [id, v] of after) {
        if (!before.has(id)) out.push({ path: `${path}/${escape(id)}`, op: 'add', to: v });
        else out.push(...diffJson(before.get(id), v, `${path}/${escape(id)}`));
      }
      const order = (xs: unknown[]): string => xs.map(idOf).join('\u0000');
      if (out.length === 0 && order(a) !== order(b)) out.push({ path, op: 'replace', from: a.map(idOf), to: b.map(idOf) });
      return out;
    }
    if (JSON.stringify(a) === JSON.stringify(b)) return [];
    return [{ path, op: 'replace', from: a, to: b }];
  }
  if (JSON.stringify(a) === JSON.stringify(b)) return [];
  return [{ path, op: 'replace', from: a, to: b }];
}
