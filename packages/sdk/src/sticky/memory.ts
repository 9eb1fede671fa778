import type { StickyRecord } from '@sortition/core';
import { copyRecord, type StickyAdapter } from './types.js';

const SEP = '\u0000';

/** Records in process memory (tests, short-lived servers, or a cache in front of another adapter). */
export class MemoryStickyAdapter implements StickyAdapter {
  private readonly records = new Map<string, StickyRecord>();

  get(unitType: string, unit: string, experiment: string): StickyRecord | null {
    const r = this.records.get(unitType + SEP + unit + SEP + experiment);
    return r === undefined ? null : copyRecord(r);
  }

  set(unitType: string, unit: string, record: StickyRecord): void {
    this.records.set(unitType + SEP + unit + SEP + record.experiment, copyRecord(record));
  }

  get size(): number {
    return this.records.size;
  }
}
