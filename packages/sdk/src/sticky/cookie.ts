import type { StickyRecord } from '@sortition/core';
import { copyRecord, type StickyAdapter } from './types.js';

/**
 * Reads and writes the raw cookie value (the part after "name="). In a browser use
 * `documentCookie(document, name)`; on a server, read the request's Cookie header and write a
 * Set-Cookie header, so a page rendered on the server hands its assignments to the browser.
 */
export interface CookieIO {
  read(): string | null | undefined;
  write(value: string): void;
}

export interface CookieStickyOptions {
  /** Largest cookie value written, in bytes (default 3 000; browsers allow about 4 096 per cookie including name and attributes). */
  readonly maxBytes?: number;
  /** Called with each record dropped to stay under maxBytes (oldest assignedAt first). */
  readonly onEvict?: (unitType: string, unit: string, record: StickyRecord) => void;
}

const VERSION = 's1';

interface Entry {
  readonly unitType: string;
  readonly unit: string;
  readonly record: StickyRecord;
}

// Cookie values allow neither "," ";" whitespace nor quotes. encodeURIComponent escapes all of those and
// also ":" and "|", which are cookie-safe and so serve as field and record separators.
function encodeEntry(e: Entry): string {
  const r = e.record;
  return [
    encodeURIComponent(e.unitType),
    encodeURIComponent(e.unit),
    encodeURIComponent(r.experiment),
    encodeURIComponent(r.phase),
    encodeURIComponent(r.variant),
    r.slot.toString(36),
    r.layerEpoch.toString(36),
    r.configVersion.toString(36),
    Math.trunc(r.assignedAt).toString(36),
  ].join(':');
}

function int36(text: string | undefined): number | null {
  if (text === undefined || !/^-?[0-9a-z]{1,12}$/.test(text)) return null;
  const n = parseInt(text, 36);
  return Number.isSafeInteger(n) ? n : null;
}

function decodeEntry(text: string): Entry | null {
  const f = text.split(':');
  if (f.length !== 9) return null;
  try {
    const [unitType, unit, experiment, phase, variant] = f.slice(0, 5).map((s) => decodeURIComponent(s)) as [string, string, string, string, string];
    const slot = int36(f[5]);
    const layerEpoch = int36(f[6]);
    const configVersion = int36(f[7]);
    const assignedAt = int36(f[8]);
    if (slot === null || layerEpoch === null || configVersion === null || assignedAt === null) return null;
    return { unitType, unit, record: { experiment, phase, variant, slot, layerEpoch, configVersion, assignedAt } };
  } catch (error) {
    if (error instanceof URIError) return null;
    throw error;
  }
}

/** Parses a cookie value into entries; malformed entries are skipped, never thrown. */
export function parseStickyCookie(value: string | null | undefined): Entry[] {
  if (value === null || value === undefined || value === '') return [];
  const parts = value.split('|');
  if (parts[0] !== VERSION) return [];
  const out: Entry[] = [];
  for (const p of parts.slice(1)) {
    const e = decodeEntry(p);
    if (e !== null) out.push(e);
  }
  return out;
}

function byteLength(text: string): number {
  // Encoded values are ASCII: one byte per character.
  return text.length;
}

/**
 * Records serialised into one compact cookie value:
 * `s1|unitType:unit:experiment:phase:variant:slot:epoch:version:assignedAt|...` (strings
 * percent-encoded, numbers base 36). Bounded by maxBytes: the oldest records are dropped first.
 */
export class CookieStickyAdapter implements StickyAdapter {
  private readonly maxBytes: number;
  private lastRaw: string | null | undefined = undefined;
  private lastParsed: Entry[] = [];
  private evicted = 0;

  constructor(
    private readonly io: CookieIO,
    private readonly options: CookieStickyOptions = {},
  ) {
    this.maxBytes = options.maxBytes ?? 3000;
  }

  /** Records dropped so far to respect maxBytes. */
  get evictions(): number {
    return this.evicted;
  }

  private entries(): Entry[] {
    let raw: string | null | undefined;
    try {
      raw = this.io.read();
    } catch {
      raw = null;
    }
    if (raw !== this.lastRaw) {
      this.lastRaw = raw;
      this.lastParsed = parseStickyCookie(raw);
    }
    return this.lastParsed;
  }

  get(unitType: string, unit: string, experiment: string): StickyRecord | null {
    for (const e of this.entries()) {
      if (e.unitType === unitType && e.unit === unit && e.record.experiment === experiment) return copyRecord(e.record);
    }
    return null;
  }

  set(unitType: string, unit: string, record: StickyRecord): void {
    const others = this.entries().filter((e) => !(e.unitType === unitType && e.unit === unit && e.record.experiment === record.experiment));
    const mine: Entry = { unitType, unit, record: copyRecord(record) };
    // Keep the newest records that fit; the one being written always counts as newest.
    const ordered = [...others].sort((a, b) => b.record.assignedAt - a.record.assignedAt);
    const kept: Entry[] = [];
    let size = VERSION.length;
    const mineText = encodeEntry(mine);
    if (size + 1 + byteLength(mineText) <= this.maxBytes) {
      kept.push(mine);
      size += 1 + byteLength(mineText);
    } else {
      this.evicted++;
      this.options.onEvict?.(unitType, unit, record);
    }
    for (const e of ordered) {
      const len = 1 + byteLength(encodeEntry(e));
      if (size + len <= this.maxBytes) {
        kept.push(e);
        size += len;
      } else {
        this.evicted++;
        this.options.onEvict?.(e.unitType, e.unit, e.record);
      }
    }
    const value = [VERSION, ...kept.map(encodeEntry)].join('|');
    this.io.write(value);
    this.lastRaw = value;
    this.lastParsed = kept;
  }
}

export interface DocumentCookieOptions {
  /** Days the cookie lives (default 400, the most browsers accept). */
  readonly maxAgeDays?: number;
  readonly path?: string;
  readonly domain?: string;
  readonly sameSite?: 'Lax' | 'Strict' | 'None';
  readonly secure?: boolean;
}

/** CookieIO over `document.cookie` (browsers). */
export function documentCookie(doc: { cookie: string }, name = 'sortition', options: DocumentCookieOptions = {}): CookieIO {
  return {
    read() {
      for (const part of doc.cookie.split(';')) {
        const i = part.indexOf('=');
        if (i >= 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
      }
      return null;
    },
    write(value) {
      const attrs = [`${name}=${value}`, `Max-Age=${Math.round((options.maxAgeDays ?? 400) * 86400)}`, `Path=${options.path ?? '/'}`, `SameSite=${options.sameSite ?? 'Lax'}`];
      if (options.domain !== undefined) attrs.push(`Domain=${options.domain}`);
      if (options.secure === true || options.sameSite === 'None') attrs.push('Secure');
      doc.cookie = attrs.join('; ');
    },
  };
}
