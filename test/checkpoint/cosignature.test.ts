import { describe, expect, it } from 'vitest';
import {
  COSIGNATURE_V1_SIZE,
  cosignatureMessage,
  cosignatureTimestamp,
  cosignatureV1Signer,
  cosignatureV1Verifier,
  formatCosignerVerifierKey,
} from '../../src/checkpoint/cosignature.js';
import { openCheckpoint } from '../../src/checkpoint/checkpoint.js';
import { ed25519PublicKey, ed25519Sign } from '../../src/note/ed25519.js';
import {
  computeKeyId,
  ed25519Verifier,
  formatKeyId,
  formatSignerKey,
  formatVerifierKey,
  parseVerifierKey,
} from '../../src/note/keys.js';
import { formatSignatureLine, openNote, parseNote, signNote } from '../../src/note/note.js';
import { concatBytes, fromHex, toHex, u64be, utf8 } from '../../src/util/bytes.js';
import { isLogError } from '../../src/util/errors.js';
import { GO, LOG, REAL, SPEC_COSIG, WITNESS } from '../note/vectors.js';

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return isLogError(err) ? err.code : `non-LogError: ${String(err)}`;
  }
  return 'no error';
}

const seed = fromHex(GO.seedHex);
const publicKey = ed25519PublicKey(seed);
const witnessSkey = formatSignerKey(WITNESS.name, seed);
const LOG_NOTE = LOG.text + '\n' + LOG.line;
const COSIGNED = LOG_NOTE + WITNESS.line;

describe('cosignature/v1 vectors', () => {
  it('builds the spec example message', () => {
    expect(new TextDecoder().decode(cosignatureMessage(SPEC_COSIG.text, SPEC_COSIG.time))).toBe(
      SPEC_COSIG.message
    );
    expect(cosignatureMessage(utf8(SPEC_COSIG.text), SPEC_COSIG.time)).toEqual(utf8(SPEC_COSIG.message));
  });

  it('decodes the spec example line: key ID 8d66cf3f, time 1679315147', () => {
    const [sig] = parseNote(SPEC_COSIG.text + '\n' + SPEC_COSIG.line).signatures;
    expect(formatKeyId(sig!.keyId)).toBe(SPEC_COSIG.keyIdHex);
    expect(sig!.signature).toHaveLength(COSIGNATURE_V1_SIZE);
    expect(cosignatureTimestamp(sig!.signature)).toBe(SPEC_COSIG.time);
  });

  it('formats the §8.2 witness vkey and its key IDs over 0x04 and 0x01', () => {
    expect(formatCosignerVerifierKey(WITNESS.name, publicKey)).toBe(WITNESS.vkey);
    expect(formatKeyId(computeKeyId(WITNESS.name, 4, publicKey))).toBe(WITNESS.keyIdHex);
    expect(formatKeyId(computeKeyId(WITNESS.name, 1, publicKey))).toBe(WITNESS.keyIdOverType1Hex);
    expect(parseVerifierKey(WITNESS.vkey)).toMatchObject({ type: 4, keyId: 0xcc9a7044 });
  });

  it('reproduces the §8.2 cosignature line at time 1679315147 byte for byte', () => {
    const signer = cosignatureV1Signer(witnessSkey, () => WITNESS.time);
    expect(formatKeyId(signer.keyId)).toBe(WITNESS.keyIdHex);
    const existing = parseNote(LOG_NOTE).signatures;
    expect(signNote(LOG.text, [signer], existing)).toBe(COSIGNED);
    const [, sig] = parseNote(COSIGNED).signatures;
    expect(toHex(sig!.signature.subarray(0, 8))).toBe('00000000641850cb');
  });

  it('verifies the §8.2 cosignature with the log key, through openNote and openCheckpoint', () => {
    const witness = cosignatureV1Verifier(WITNESS.vkey);
    const opened = openNote(COSIGNED, [ed25519Verifier(LOG.vkey), witness]);
    expect(opened.verified.map((s) => s.name)).toEqual([LOG.origin, WITNESS.name]);
    expect(witness.lastTimestamp).toBe(WITNESS.time);
    expect(cosignatureTimestamp(opened.verified[1]!.signature)).toBe(WITNESS.time);
    // A client checking the log signature sees the cosignature as unverified.
    const { note } = openCheckpoint(COSIGNED, ed25519Verifier(LOG.vkey), { origin: LOG.origin });
    expect(note.unverified.map((s) => s.line)).toEqual([WITNESS.line]);
    // And a witness-only verifier list accepts the note on the cosignature alone.
    expect(openNote(COSIGNED, [witness]).verified).toHaveLength(1);
  });
});

describe('cosignature verifier key IDs (transparency-dev/formats behaviour)', () => {
  it('recomputes the key ID over 0x04 for a type-0x01 vkey', () => {
    const type1 = formatVerifierKey(WITNESS.name, 1, publicKey);
    expect(type1).toContain(`+${WITNESS.keyIdOverType1Hex}+A`);
    const v = cosignatureV1Verifier(type1);
    expect(formatKeyId(v.keyId)).toBe(WITNESS.keyIdHex);
    expect(openNote(COSIGNED, [v]).verified).toHaveLength(1);
  });

  it('gives sum.golang.org cosignature ID 4c98ea03 and quiet-hill b0162763', () => {
    expect(formatKeyId(cosignatureV1Verifier(REAL.sumdb).keyId)).toBe(REAL.sumdbCosignatureIdHex);
    expect(formatKeyId(cosignatureV1Verifier(REAL.quietHill).keyId)).toBe(REAL.quietHillCosignatureIdHex);
  });

  it('keeps the ID of a type-0x04 vkey (remora)', () => {
    expect(formatKeyId(cosignatureV1Verifier(REAL.remora).keyId)).toBe('da77ade7');
  });

  it('rejects malformed vkeys', () => {
    for (const vkey of GO.badVkeys) expect(codeOf(() => cosignatureV1Verifier(vkey))).toBe('MALFORMED');
  });
});

describe('cosignature verification failures', () => {
  const witness = (): ReturnType<typeof cosignatureV1Verifier> => cosignatureV1Verifier(WITNESS.vkey);
  const [, cosig] = parseNote(COSIGNED).signatures;
  const msg = utf8(LOG.text);

  it('fails when the timestamp, the signature or the text changes', () => {
    const v = witness();
    expect(v.verify(msg, cosig!.signature)).toBe(true);
    const retimed = concatBytes(u64be(WITNESS.time + 1), cosig!.signature.subarray(8));
    expect(v.verify(msg, retimed)).toBe(false);
    expect(v.verify(utf8(LOG.text.replace('\n8\n', '\n9\n')), cosig!.signature)).toBe(false);
    expect(v.verify(msg, cosig!.signature.subarray(8))).toBe(false);
    expect(v.verify(msg, concatBytes(cosig!.signature, Uint8Array.of(0)))).toBe(false);
  });

  it('rejects a plain Ed25519 note signature by the same key', () => {
    const plain = concatBytes(u64be(0), ed25519Sign(seed, msg));
    expect(witness().verify(msg, plain)).toBe(false);
  });

  it('fails the note when a known witness line is bad', () => {
    const bad = formatSignatureLine(WITNESS.name, 0xcc9a7044, new Uint8Array(72));
    expect(codeOf(() => openNote(LOG_NOTE + bad, [ed25519Verifier(LOG.vkey), witness()]))).toBe(
      'BAD_SIGNATURE'
    );
  });

  it('treats timestamps beyond 2^53 - 1 as invalid (the spec allows up to 2^63 - 1)', () => {
    const huge = concatBytes(fromHex('0020000000000000'), new Uint8Array(64));
    expect(witness().verify(msg, huge)).toBe(false);
    expect(codeOf(() => cosignatureTimestamp(huge))).toBe('MALFORMED');
    expect(codeOf(() => cosignatureTimestamp(new Uint8Array(71)))).toBe('MALFORMED');
  });

  it('does not update lastTimestamp on failure', () => {
    const v = witness();
    expect(v.lastTimestamp).toBeUndefined();
    v.verify(msg, new Uint8Array(72));
    expect(v.lastTimestamp).toBeUndefined();
  });
});

describe('cosignature signer', () => {
  it('signs with the injected clock and round-trips', () => {
    let now = 1_700_000_000;
    const signer = cosignatureV1Signer(witnessSkey, () => now++);
    const v = cosignatureV1Verifier(WITNESS.vkey);
    const first = signer.sign(utf8(LOG.text));
    const second = signer.sign(utf8(LOG.text));
    expect(cosignatureTimestamp(first)).toBe(1_700_000_000);
    expect(cosignatureTimestamp(second)).toBe(1_700_000_001);
    expect(v.verify(utf8(LOG.text), first)).toBe(true);
    expect(v.verify(utf8(LOG.text), second)).toBe(true);
  });

  it('refuses to sign text that is not a checkpoint', () => {
    const signer = cosignatureV1Signer(witnessSkey, () => WITNESS.time);
    expect(codeOf(() => signer.sign(utf8('hello\n')))).toBe('MALFORMED');
    expect(codeOf(() => signer.sign(Uint8Array.of(0xff, 0x0a)))).toBe('MALFORMED');
  });

  it('rejects a bad clock and a bad skey', () => {
    const signer = cosignatureV1Signer(witnessSkey, () => 1.5);
    expect(() => signer.sign(utf8(LOG.text))).toThrow(TypeError);
    expect(() => cosignatureMessage(LOG.text, -1)).toThrow(TypeError);
    expect(codeOf(() => cosignatureV1Signer(WITNESS.vkey, () => 0))).toBe('MALFORMED');
  });
});
