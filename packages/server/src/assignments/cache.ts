/**
 * A bounded map that keeps recently used entries: two generations of at most capacity / 2 entries
 * each. New entries go into the young generation; a hit in the old generation moves the entry to the
 * young one; when the young generation is full it becomes the old one and the previous old one is
 * dropped. So at most `capacity` entries are held, and an entry used at least once per
 * capacity / 2 insertions is never dropped.
 *
 * Unlike an exact LRU on a Map (delete and re-insert on every hit, which makes V8 compact the table
 * over and over), a hit in the young generation is a single lookup.
 */
export class GenerationalCache<K, V> {
  private young = new Map<K, V>();
  private old = new Map<K, V>();
  private readonly half: number;

  constructor(capacity: number) {
    if (!Number.isSafeInteger(capacity) || capacity < 2) throw new RangeError(`cache capacity must be an integer of at least 2, got ${capacity}`);
    this.half = Math.floor(capacity / 2);
  }

  get(key: K): V | undefined {
    const hit = this.young.get(key);
    if (hit !== undefined) return hit;
    const old = this.old.get(key);
    if (old !== undefined) {
      this.old.delete(key);
      this.insert(key, old);
    }
    return old;
  }

  set(key: K, value: V): void {
    if (this.young.has(key)) this.young.set(key, value);
    else {
      this.old.delete(key);
      this.insert(key, value);
    }
  }

  delete(key: K): void {
    this.young.delete(key);
    this.old.delete(key);
  }

  /** Entries held (both generations). */
  get size(): number {
    return this.young.size + this.old.size;
  }

  private insert(key: K, value: V): void {
    if (this.young.size >= this.half) {
      this.old = this.young;
      this.young = new Map();
    }
    this.young.set(key, value);
  }
}
