/** Half-open integer slot ranges [from, to), as stored in config. */
export type SlotRange = readonly [number, number];

/** Why a range list is malformed for a layer of `slots` slots, or null when it is well formed. */
export function rangeListProblem(ranges: readonly SlotRange[], slots: number): { index: number; message: string; fix: string } | null {
  let previousEnd = -1;
  for (let index = 0; index < ranges.length; index++) {
    const [from, to] = ranges[index]!;
    if (!(from < to)) {
      return { index, message: `range [${from}, ${to}] is empty or reversed`, fix: 'write [from, to] with from < to' };
    }
    if (to > slots) {
      return {
        index,
        message: `range [${from}, ${to}] ends past the layer's ${slots} slots`,
        fix: `keep every range within [0, ${slots}]`,
      };
    }
    if (from < previousEnd) {
      return {
        index,
        message: `range [${from}, ${to}] overlaps or precedes the range before it`,
        fix: 'list ranges in ascending order without overlap',
      };
    }
    previousEnd = to;
  }
  return null;
}

/** Number of slots covered by a well-formed range list. */
export function countSlots(ranges: readonly SlotRange[]): number {
  let total = 0;
  for (const [from, to] of ranges) total += to - from;
  return total;
}

/** Writes `value` into `table` for every slot in `ranges`. */
export function paint(table: Uint8Array | Uint16Array, ranges: readonly SlotRange[], value: number): void {
  for (const [from, to] of ranges) table.fill(value, from, to);
}

/** The ranges (ascending, merged) of slots whose table entry equals `value`. */
export function rangesOf(table: ArrayLike<number>, value: number): SlotRange[] {
  const out: SlotRange[] = [];
  let start = -1;
  for (let slot = 0; slot <= table.length; slot++) {
    const hit = slot < table.length && table[slot] === value;
    if (hit && start < 0) start = slot;
    else if (!hit && start >= 0) {
      out.push([start, slot]);
      start = -1;
    }
  }
  return out;
}

/** Ascending, merged union of well-formed range lists. */
export function unionRanges(lists: readonly (readonly SlotRange[])[]): SlotRange[] {
  const all = lists.flat().map(([from, to]) => [from, to] as [number, number]);
  all.sort((a, b) => a[0] - b[0]);
  const out: [number, number][] = [];
  for (const range of all) {
    const last = out[out.length - 1];
    if (last !== undefined && range[0] <= last[1]) last[1] = Math.max(last[1], range[1]);
    else out.push(range);
  }
  return out;
}

/** The first overlap between two well-formed range lists, or null. */
export function firstOverlap(a: readonly SlotRange[], b: readonly SlotRange[]): SlotRange | null {
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const [af, at] = a[i]!;
    const [bf, bt] = b[j]!;
    const from = Math.max(af, bf);
    const to = Math.min(at, bt);
    if (from < to) return [from, to];
    if (at <= bt) i++;
    else j++;
  }
  return null;
}
