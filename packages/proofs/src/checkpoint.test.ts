import { createHash, createPrivateKey, sign as nodeSign } from 'node:crypto';
import { ed25519 } from '@noble/curves/ed25519.js';
import { describe, expect, it } from 'vitest';
import {
  formatCheckpoint,
  formatVerifierKey,
  noteKeyId,
  openNote,
  parseCheckpoint,
  parseNote,
  parseVerifierKey,
  signCheckpoint,
  signNote,
  verifyCheckpoint,
  type NoteVerifierKey,
} from './checkpoint.js';
import { leafHash, rootFromLeafHashes } from './merkle.js';

function mustKey(text: string): NoteVerifierKey {
  const parsed = parseVerifierKey(text);
  if (!parsed.ok) throw new Error(parsed.reason);
  return parsed.key;
}

const seed = (byte: number): Uint8Array => new Uint8Array(32).fill(byte);

describe('signed note: golang.org/x/mod/sumdb/note reference vector', () => {
  // From the package documentation and note_test.go of golang.org/x/mod/sumdb/note.
  const skey = 'PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz';
  const vkey = 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW';
  const text = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
  const signed = `${text}\n— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n`;
  const secretKey = new Uint8Array(Buffer.from(skey.split('+').slice(4).join('+'), 'base64')).subarray(1);

  it('parses the verifier key and reproduces its key ID', () => {
    const key = mustKey(vkey);
    expect(key.name).toBe('PeterNeumann');
    expect(noteKeyId(key.name, key.publicKey).toString(16)).toBe('c74f20a3');
    expect(formatVerifierKey(key)).toBe(vkey);
    expect(ed25519.getPublicKey(secretKey)).toEqual(key.publicKey);
  });

  it('signs byte-identically and verifies', () => {
    expect(signNote(text, [{ name: 'PeterNeumann', secretKey }])).toBe(signed);
    const opened = openNote(signed, [mustKey(vkey)]);
    expect(opened).toMatchObject({ ok: true, text });
  });

  it('rejects mangled verifier keys', () => {
    expect(parseVerifierKey('PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW')).toMatchObject({ ok: false, reason: expect.stringMatching(/does not match/) });
    expect(parseVerifierKey('PeterNeumann+c74f20a3+AhpC2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW').ok).toBe(false);
    expect(parseVerifierKey('PeterNeumann+c74f20a3').ok).toBe(false);
  });
});

describe('checkpoints', () => {
  it('verifies real sum.golang.org checkpoints under the published key', () => {
    // The Go checksum database key (cmd/go) and two of its signed tree heads, a C2SP checkpoint
    // with origin "go.sum database tree", as served by sum.golang.org and quoted in public tests.
    const key = mustKey('sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8');
    const notes = [
      'go.sum database tree\n31700353\nqINS1GRFhWHwdkUeqLEoP4yEMkTBBzxBkGwGQlVlVcs=\n\n— sum.golang.org Az3grnmrIUEDFqHzAElIQCPNoRFRAAdFo47fooyWKMHb89k11GJh5zHIfNCOBmwn/C3YI8oW9/C8DJ87F61QqspBYwM=\n',
      'go.sum database tree\n65209736\n5+uGFjx6xBZG8ip1+wi77v+grwbhhukIrxEUS8PXvRo=\n\n— sum.golang.org Az3grnbssgK7ubgFX36gVETtNv0U23qxyAhAMai2QUfeGa3nB/akvkMdlUErfcZz7l/R3cVtYspg3dxXABkGZZKdsQ8=\n',
    ];
    const first = verifyCheckpoint(notes[0]!, [key], { origin: 'go.sum database tree' });
    expect(first.ok && first.checkpoint.size).toBe(31700353);
    const second = verifyCheckpoint(notes[1]!, [key]);
    expect(second.ok && second.checkpoint.size).toBe(65209736);
    expect(verifyCheckpoint(notes[0]!.replace('31700353', '31700354'), [key])).toMatchObject({ ok: false, reason: expect.stringMatching(/does not verify/) });
  });

  const log = { name: 'sortition.example/log', secretKey: seed(7) };
  const logKey: NoteVerifierKey = { name: log.name, publicKey: ed25519.getPublicKey(log.secretKey) };
  const root = rootFromLeafHashes([leafHash(Uint8Array.of(1)), leafHash(Uint8Array.of(2)), leafHash(Uint8Array.of(3))]);

  it('round-trips with and without extension lines', () => {
    for (const extensions of [undefined, ['anchor drand 657413', 'x']]) {
      const checkpoint = extensions ? { origin: log.name, size: 3, rootHash: root, extensions } : { origin: log.name, size: 3, rootHash: root };
      const note = signCheckpoint(checkpoint, [log]);
      const result = verifyCheckpoint(note, [logKey], { origin: log.name });
      expect(result).toEqual({ ok: true, checkpoint, verifiedBy: [logKey] });
    }
  });

  it('has the C2SP layout and a signature node:crypto agrees with', () => {
    const note = signCheckpoint({ origin: log.name, size: 3, rootHash: root }, [log]);
    const lines = note.split('\n');
    expect(lines.slice(0, 4)).toEqual([log.name, '3', Buffer.from(root).toString('base64'), '']);
    expect(lines[4]).toMatch(/^— sortition\.example\/log [A-Za-z0-9+/]{91}=$/);
    expect(lines[5]).toBe('');
    const raw = Buffer.from(lines[4]!.split(' ')[2]!, 'base64');
    const id = createHash('sha256').update(Buffer.concat([Buffer.from(`${log.name}\n`), Buffer.of(1), logKey.publicKey])).digest().subarray(0, 4);
    expect(raw.subarray(0, 4)).toEqual(id);
    const pkcs8 = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), log.secretKey]);
    const expected = nodeSign(null, Buffer.from(formatCheckpoint({ origin: log.name, size: 3, rootHash: root })), createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' }));
    expect(raw.subarray(4)).toEqual(expected);
  });

  it('ignores unknown keys, rejects a bad signature from a known key, and needs one trusted signature', () => {
    const other = { name: 'witness.example/w1', secretKey: seed(9) };
    const otherKey: NoteVerifierKey = { name: other.name, publicKey: ed25519.getPublicKey(other.secretKey) };
    const note = signCheckpoint({ origin: log.name, size: 3, rootHash: root }, [log, other]);
    expect(verifyCheckpoint(note, [logKey]).ok).toBe(true);
    expect(verifyCheckpoint(note, [logKey, otherKey])).toMatchObject({ ok: true, verifiedBy: [logKey, otherKey] });
    expect(verifyCheckpoint(note, [{ name: 'nobody', publicKey: logKey.publicKey }])).toMatchObject({ ok: false, reason: 'note has no signature from a trusted key' });
    // Same name, different key (so a different key ID): ignored, hence untrusted.
    expect(verifyCheckpoint(note, [{ name: log.name, publicKey: otherKey.publicKey }]).ok).toBe(false);
    const otherText = signCheckpoint({ origin: log.name, size: 4, rootHash: root }, [log]);
    const spliced = note.replace(note.split('\n')[4]!, otherText.split('\n')[4]!);
    expect(verifyCheckpoint(spliced, [logKey])).toMatchObject({ ok: false, reason: expect.stringMatching(/does not verify/) });
    expect(verifyCheckpoint(note, [logKey], { origin: 'elsewhere' })).toMatchObject({ ok: false, reason: expect.stringMatching(/origin/) });
  });

  it('rejects any changed character of a signed checkpoint', () => {
    const note = signCheckpoint({ origin: log.name, size: 3, rootHash: root }, [log]);
    for (let i = 0; i < note.length; i++) {
      const c = note[i]!;
      const replacement = c === 'A' ? 'B' : c === '\n' ? ' ' : 'A';
      const tampered = note.slice(0, i) + replacement + note.slice(i + 1);
      expect(verifyCheckpoint(tampered, [logKey]).ok, `character ${i}`).toBe(false);
    }
  });

  it('names what is wrong in a malformed checkpoint or note', () => {
    const b64 = Buffer.from(root).toString('base64');
    const cases: [string, RegExp][] = [
      [`o\n3\n${b64}`, /does not end with a newline/],
      [`o\n3\n`, /2 lines/],
      [`\n3\n${b64}\n`, /origin \(line 1\) is empty/],
      [`o\n03\n${b64}\n`, /tree size \(line 2\) "03"/],
      [`o\n-1\n${b64}\n`, /tree size \(line 2\)/],
      [`o\n99999999999999999\n${b64}\n`, /exceeds 2\^53/],
      [`o\n3\n${b64.slice(0, -1)}\n`, /root hash \(line 3\).*not canonical base64/],
      [`o\n3\nAAAA\n`, /root hash \(line 3\) has 3 bytes/],
      [`o\n3\n${b64}\next\n\n`, /extension line 5 is empty/],
      [`o\t\n3\n${b64}\n`, /control character U\+0009/],
    ];
    for (const [text, reason] of cases) {
      const parsed = parseCheckpoint(text);
      expect(parsed.ok, text).toBe(false);
      if (!parsed.ok) expect(parsed.reason, JSON.stringify(text)).toMatch(reason);
    }
    const noteCases: [string, RegExp][] = [
      ['text\n', /no blank line/],
      ['text\n\n', /no signature lines/],
      ['text\n\n- name AAAAAAA=\n', /em dash/],
      ['text\n\n— name\n', /is not "— <name> <base64>"/],
      ['text\n\n— na+me AAAAAAA=\n', /space or '\+'/],
      ['text\n\n— name AAAA\n', /fewer than a key ID/],
      ['text\n\n— name AAAAAA!=\n', /not canonical base64/],
    ];
    for (const [note, reason] of noteCases) {
      const parsed = parseNote(note);
      expect(parsed.ok, note).toBe(false);
      if (!parsed.ok) expect(parsed.reason).toMatch(reason);
    }
    expect(() => signNote('no newline', [log])).toThrow(/newline/);
    expect(() => formatCheckpoint({ origin: 'o', size: 1.5, rootHash: root })).toThrow(/tree size/);
  });
});
