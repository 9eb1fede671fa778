import type { StickyRecord } from '@sortition/core';
import { copyRecord, isStickyRecord, type StickyAdapter } from './types.js';

/** The part of the Web Storage API the adapter uses (window.localStorage satisfies it). */
export interface StorageLike {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
}

export interface LocalStorageStickyOptions {
  /** Key prefix (default "sortition:"). One storage item per unit: prefix + unitType + ":" + unit id. */
  readonly prefix?: string;
  /** Called when storage refuses a write (quota, private mode); the record is then kept in memory only. */
  readonly onError?: (error: unknown) => void;
}

/**
 * Records in a Storage (localStorage): one JSON item per unit holding its records by experiment.
 * Corrupt items are ignored (treated as no record), never thrown.
 */
export class LocalStorageStickyAdapter implements StickyAdapter {
  private readonly prefix: string;
  /** Writes storage refused, so the unit still stays sticky for this page's lifetime. */
  private readonly fallback = new Map<string, Record<string, StickyRecord>>();

  constructor(
    private readonly storage: StorageLike,
    private readonly options: LocalStorageStickyOptions = {},
  ) {
    this.prefix = options.prefix ?? 'sortition:';
  }

  private key(unitType: string, unit: string): string {
    return `${this.prefix}${encodeURIComponent(unitType)}:${unit}`;
  }

  private read(key: string): Record<string, StickyRecord> {
    const mem = this.fallback.get(key);
    if (mem !== undefined) return mem;
    let raw: string | null;
    try {
      raw = this.storage.getItem(key);
    } catch (error) {
      this.options.onError?.(error);
      return {};
    }
    if (raw === null) return {};
    try {
      const parsed: unknown = JSON.parse(raw);
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return {};
      const out: Record<string, StickyRecord> = {};
      for (const [experiment, record] of Object.entries(parsed as Record<string, unknown>)) {
        if (isStickyRecord(record) && record.experiment === experiment) out[experiment] = copyRecord(record);
      }
      return out;
    } catch (error) {
      if (error instanceof SyntaxError) return {};
      throw error;
    }
  }

  get(unitType: string, unit: string, experiment: string): StickyRecord | null {
    const records = this.read(this.key(unitType, unit));
    return Object.hasOwn(records, experiment) ? copyRecord(records[experiment]!) : null;
  }

  set(unitType: string, unit: string, record: StickyRecord): void {
    const key = this.key(unitType, unit);
    const records = { ...this.read(key), [record.experiment]: copyRecord(record) };
    try {
      this.storage.setItem(key, JSON.stringify(records));
      this.fallback.delete(key);
    } catch (error) {
      this.fallback.set(key, records);
      this.options.onError?.(error);
    }
  }
}
