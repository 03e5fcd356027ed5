import { describe, expect, it } from 'vitest';
import {
  computeKeyId,
  ed25519Signer,
  ed25519Verifier,
  formatKeyId,
  formatSignerKey,
  formatVerifierKey,
  generateSignerKey,
  isValidKeyName,
  parseSignerKey,
  parseVerifierKey,
  validateKeyName,
} from '../../src/note/keys.js';
import { openNote } from '../../src/note/note.js';
import { ed25519PublicKey } from '../../src/note/ed25519.js';
import { fromHex, toHex, utf8 } from '../../src/util/bytes.js';
import { isLogError } from '../../src/util/errors.js';
import { C2SP, GO, LOG, REAL } from './vectors.js';

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return isLogError(err) ? err.code : `non-LogError: ${String(err)}`;
  }
  return 'no error';
}

describe('key IDs', () => {
  it('computes SHA-256(name ‖ 0x0A ‖ type ‖ key)[:4] for the vectors', () => {
    expect(formatKeyId(computeKeyId('PeterNeumann', 1, fromHex(GO.publicKeyHex)))).toBe('c74f20a3');
    expect(formatKeyId(computeKeyId('example.com/foo', 1, fromHex(C2SP.publicKeyHex)))).toBe(
      '530d903a'
    );
  });

  it('formats 8 lowercase hex digits and rejects non-uint32 values', () => {
    expect(formatKeyId(0)).toBe('00000000');
    expect(formatKeyId(0xffffffff)).toBe('ffffffff');
    expect(formatKeyId(0xabc)).toBe('00000abc');
    for (const bad of [-1, 2 ** 32, 1.5, NaN]) expect(() => formatKeyId(bad)).toThrow(TypeError);
  });
});

describe('key names', () => {
  it.each([
    'example.com/log',
    'DEV:ArmoredWitness-quiet-hill',
    'ключ',
    'a\ufeffb', // U+FEFF is not White_Space, so Go accepts it too
    'sigsum.org/v1/tree/4d6d',
  ])('accepts %j', (name) => {
    expect(isValidKeyName(name)).toBe(true);
    expect(() => validateKeyName(name)).not.toThrow();
  });

  it.each([
    ['empty', ''],
    ['space', 'a b'],
    ['plus', 'a+b'],
    ['tab', 'a\tb'],
    ['newline', 'a\nb'],
    ['NBSP', 'a\u00a0b'],
    ['NEL', 'a\u0085b'],
    ['ideographic space', 'a\u3000b'],
    ['line separator', 'a\u2028b'],
    ['en quad', 'a\u2000b'],
    ['control character', 'a\u0001b'],
    ['lone surrogate', 'a\ud800b'],
  ])('rejects a name with %s', (_desc, name) => {
    expect(isValidKeyName(name)).toBe(false);
    expect(codeOf(() => validateKeyName(name))).toBe('MALFORMED');
  });
});

describe('verifier keys', () => {
  it('parses the Go and C2SP vkeys', () => {
    const go = parseVerifierKey(GO.vkey);
    expect(go).toMatchObject({ name: 'PeterNeumann', keyId: 0xc74f20a3, type: 1 });
    expect(toHex(go.publicKey)).toBe(GO.publicKeyHex);
    const c2sp = parseVerifierKey(C2SP.vkey);
    expect(c2sp).toMatchObject({ name: 'example.com/foo', keyId: 0x530d903a, type: 1 });
    expect(toHex(c2sp.publicKey)).toBe(C2SP.publicKeyHex);
  });

  it('parses sum.golang.org, whose base64 contains "+"', () => {
    const k = parseVerifierKey(REAL.sumdb);
    expect(k).toMatchObject({ name: 'sum.golang.org', keyId: 0x033de0ae, type: 1 });
    expect(formatVerifierKey(k.name, k.type, k.publicKey)).toBe(REAL.sumdb);
  });

  it('parses type-0x04 (remora) and colon-named (quiet-hill) keys', () => {
    expect(parseVerifierKey(REAL.remora)).toMatchObject({
      name: 'remora.n621.de',
      keyId: 0xda77ade7,
      type: 4,
    });
    expect(parseVerifierKey(REAL.quietHill)).toMatchObject({ keyId: 0x36ccdbc6, type: 1 });
  });

  it.each(GO.badVkeys)('rejects the Go negative vkey %s', (vkey) => {
    expect(codeOf(() => parseVerifierKey(vkey))).toBe('MALFORMED');
    expect(codeOf(() => ed25519Verifier(vkey))).toBe('MALFORMED');
  });

  it.each([
    ['no separators', 'PeterNeumann'],
    ['one separator', 'PeterNeumann+c74f20a3'],
    ['empty name', '+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW'],
    ['uppercase key ID', 'PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW'],
    ['7-digit key ID', 'PeterNeumann+74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW'],
    ['9-digit key ID', 'PeterNeumann+0c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW'],
    ['wrong key ID', 'PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW'],
    ['name with space', 'Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW'],
    ['empty key', 'PeterNeumann+c74f20a3+'],
    ['key without type byte', 'PeterNeumann+c74f20a3+Glza'],
    ['trailing space', `${GO.vkey} `],
    ['trailing newline', `${GO.vkey}\n`],
  ])('rejects a vkey with %s', (_desc, vkey) => {
    expect(codeOf(() => parseVerifierKey(vkey))).toBe('MALFORMED');
  });

  it('rejects type 0x04 in ed25519Verifier', () => {
    expect(codeOf(() => ed25519Verifier(REAL.remora))).toBe('MALFORMED');
  });

  it('rejects every single-character change, deletion or truncation of a vkey, or the result does not verify', () => {
    const note = GO.text + '\n' + GO.line;
    const check = (mangled: string): void => {
      let verifier;
      try {
        verifier = ed25519Verifier(mangled);
      } catch (err) {
        expect(isLogError(err, 'MALFORMED')).toBe(true);
        return;
      }
      expect(mangled).not.toBe(GO.vkey);
      expect(codeOf(() => openNote(note, [verifier]))).toBe('BAD_SIGNATURE');
    };
    for (let i = 0; i < GO.vkey.length; i++) {
      for (let c = 0; c < 256; c++) {
        if (c === GO.vkey.charCodeAt(i)) continue;
        check(GO.vkey.slice(0, i) + String.fromCharCode(c) + GO.vkey.slice(i + 1));
      }
      check(GO.vkey.slice(0, i) + GO.vkey.slice(i + 1));
      check(GO.vkey.slice(0, i));
    }
  });
});

describe('signer keys', () => {
  it('parses the Go skey and re-derives its key ID and public key', () => {
    const k = parseSignerKey(GO.skey);
    expect(k).toMatchObject({ name: 'PeterNeumann', keyId: 0xc74f20a3 });
    expect(toHex(k.seed)).toBe(GO.seedHex);
    expect(toHex(ed25519PublicKey(k.seed))).toBe(GO.publicKeyHex);
  });

  it('formats and generates the Go and §8.2 keys byte for byte', () => {
    const seed = fromHex(GO.seedHex);
    expect(formatSignerKey('PeterNeumann', seed)).toBe(GO.skey);
    expect(formatVerifierKey('PeterNeumann', 1, ed25519PublicKey(seed))).toBe(GO.vkey);
    expect(generateSignerKey('example.com/testlog', seed)).toEqual({
      signerKey: LOG.skey,
      verifierKey: LOG.vkey,
    });
  });

  it('generates random keys that sign and verify', () => {
    const { signerKey, verifierKey } = generateSignerKey('example.com/random');
    const signer = ed25519Signer(signerKey);
    const verifier = ed25519Verifier(verifierKey);
    expect(signer.keyId).toBe(verifier.keyId);
    const msg = utf8('text\n');
    expect(verifier.verify(msg, signer.sign(msg))).toBe(true);
    expect(verifier.verify(utf8('other\n'), signer.sign(msg))).toBe(false);
  });

  it.each([
    ['lowercase prefix', GO.skey.replace('PRIVATE+KEY', 'private+key')],
    ['missing KEY', GO.skey.replace('PRIVATE+KEY+', 'PRIVATE+')],
    ['wrong key ID', GO.skey.replace('c74f20a3', 'c74f20a4')],
    ['vkey instead of skey', GO.vkey],
    ['type 0x04 seed', GO.skey.replace('+AYEK', '+BIEK')],
    ['short seed', 'PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKA=='],
    ['non-canonical base64', GO.skey.replace('DFz', 'DF0')],
  ])('rejects an skey with %s, without echoing the key', (_desc, skey) => {
    let message = '';
    try {
      parseSignerKey(skey);
    } catch (err) {
      expect(isLogError(err, 'MALFORMED')).toBe(true);
      message = (err as Error).message;
    }
    expect(message).not.toBe('');
    expect(message).not.toContain('AYEKFALVFGyNhPJEMzD1QIDr');
  });

  it('signs the Go test text reproducing the published signature', () => {
    const signer = ed25519Signer(GO.skey);
    expect(signer).toMatchObject({ name: 'PeterNeumann', keyId: 0xc74f20a3 });
    const sig = signer.sign(utf8(GO.text));
    const verifier = ed25519Verifier(GO.vkey);
    expect(verifier.verify(utf8(GO.text), sig)).toBe(true);
  });
});
