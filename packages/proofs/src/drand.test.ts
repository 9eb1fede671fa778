import { describe, expect, it } from 'vitest';
import { QUICKNET, roundAt, roundMessage, roundTime, verifyBeacon } from './drand.js';

// Quicknet round 657413, from the README of mcdcam/python-drand-verify (a binding of
// noislabs/drand-verify), also cited in the research notes (section 2).
const ROUND_657413 = {
  round: 657413,
  signature: 'b713718a38ae728dfd477991af2822e08d2f305e47718cef9f7848ce4050e7be41076862b98fad56e91a6b85b89cd97b',
  randomness: 'fc1873a13f3545aeade8401532ef5519920652eee6b0d2b19ca12643b87b3587',
};
// Quicknet round 123, from the tests of noislabs/drand-verify (src/verify.rs).
const ROUND_123 = {
  round: 123,
  signature: 'b75c69d0b72a5d906e854e808ba7e2accb1542ac355ae486d591aa9d43765482e26cd02df835d3546d23c4b13e0dfc92',
};

describe('drand quicknet', () => {
  it('verifies round 657413 and returns its randomness', () => {
    const result = verifyBeacon(ROUND_657413);
    expect(result.ok).toBe(true);
    if (result.ok) expect(Buffer.from(result.randomness).toString('hex')).toBe(ROUND_657413.randomness);
  });

  it('verifies round 123 (signature only) and byte input', () => {
    expect(verifyBeacon(ROUND_123).ok).toBe(true);
    expect(verifyBeacon({ round: 123, signature: new Uint8Array(Buffer.from(ROUND_123.signature, 'hex')) }).ok).toBe(true);
  });

  it('rejects the signature presented as another round', () => {
    expect(verifyBeacon({ ...ROUND_657413, round: 657414 })).toMatchObject({ ok: false, reason: expect.stringMatching(/does not verify for round 657414/) });
    expect(verifyBeacon({ ...ROUND_657413, round: 657412 }).ok).toBe(false);
    expect(verifyBeacon({ round: 124, signature: ROUND_123.signature }).ok).toBe(false);
  });

  it('rejects tampered randomness and signatures', () => {
    const randomness = `${ROUND_657413.randomness.slice(0, -1)}8`;
    expect(verifyBeacon({ ...ROUND_657413, randomness })).toMatchObject({ ok: false, reason: expect.stringMatching(/randomness/) });
    const flipped = Buffer.from(ROUND_657413.signature, 'hex');
    flipped[20]! ^= 1;
    expect(verifyBeacon({ round: 657413, signature: flipped.toString('hex') }).ok).toBe(false);
    expect(verifyBeacon({ round: 657413, signature: ROUND_657413.signature.slice(2) }).ok).toBe(false);
    expect(verifyBeacon({ round: 0, signature: ROUND_657413.signature }).ok).toBe(false);
  });

  it('rejects a round verified against another key', () => {
    const other = { ...QUICKNET, publicKey: QUICKNET.publicKey.slice(0, -2) + '5b' };
    expect(verifyBeacon(ROUND_657413, other).ok).toBe(false);
  });

  it('computes the round message and round times', () => {
    expect(Buffer.from(roundMessage(1)).toString('hex')).toBe('cd2662154e6d76b2b2b92e70c0cac3ccf534f9b74eb5b89819ec509083d00a50');
    expect(roundTime(1)).toBe(1692803367000);
    expect(roundTime(657413)).toBe((1692803367 + 657412 * 3) * 1000);
    expect(roundAt(1692803367000)).toBe(1);
    expect(roundAt(1692803369999)).toBe(1);
    expect(roundAt(1692803370000)).toBe(2);
    expect(roundAt(roundTime(657413))).toBe(657413);
    expect(roundAt(roundTime(657413) + 2999)).toBe(657413);
    expect(() => roundAt(0)).toThrow(/genesis/);
    expect(() => roundTime(0)).toThrow(RangeError);
  });
});
