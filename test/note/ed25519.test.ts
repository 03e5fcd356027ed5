import { describe, expect, it } from 'vitest';
import {
  ed25519PublicKey,
  ed25519Sign,
  ed25519Verify,
  randomSeed,
} from '../../src/note/ed25519.js';
import { concatBytes, fromHex, toHex, utf8 } from '../../src/util/bytes.js';
import { GO } from './vectors.js';

// RFC 8032 §7.1 TEST 1 and TEST 2.
const RFC8032 = [
  {
    seed: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
    publicKey: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
    msg: '',
    sig:
      'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
  },
  {
    seed: '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb',
    publicKey: '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
    msg: '72',
    sig:
      '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00',
  },
];

// The group order L = 2^252 + 27742317777372353535851937790883648493, little-endian.
const L = 2n ** 252n + 27742317777372353535851937790883648493n;

function leToBig(b: Uint8Array): bigint {
  let n = 0n;
  for (let i = b.length - 1; i >= 0; i--) n = n * 256n + BigInt(b[i]!);
  return n;
}

function bigToLe(n: bigint, len: number): Uint8Array {
  const out = new Uint8Array(len);
  for (let i = 0; i < len; i++) {
    out[i] = Number(n % 256n);
    n /= 256n;
  }
  return out;
}

describe('ed25519', () => {
  it.each(RFC8032)('reproduces RFC 8032 §7.1 vector for seed $seed', (v) => {
    const seed = fromHex(v.seed);
    expect(toHex(ed25519PublicKey(seed))).toBe(v.publicKey);
    expect(toHex(ed25519Sign(seed, fromHex(v.msg)))).toBe(v.sig);
    expect(ed25519Verify(fromHex(v.publicKey), fromHex(v.msg), fromHex(v.sig))).toBe(true);
  });

  it('derives the Go sumdb/note test public key from its seed', () => {
    expect(toHex(ed25519PublicKey(fromHex(GO.seedHex)))).toBe(GO.publicKeyHex);
  });

  it('rejects a wrong message, key or signature', () => {
    const seed = fromHex(GO.seedHex);
    const pub = ed25519PublicKey(seed);
    const msg = utf8('hello\n');
    const sig = ed25519Sign(seed, msg);
    expect(ed25519Verify(pub, msg, sig)).toBe(true);
    expect(ed25519Verify(pub, utf8('hello!'), sig)).toBe(false);
    expect(ed25519Verify(ed25519PublicKey(randomSeed()), msg, sig)).toBe(false);
    for (let i = 0; i < 64; i++) {
      const bad = sig.slice();
      bad[i]! ^= 1;
      expect(ed25519Verify(pub, msg, bad)).toBe(false);
    }
  });

  it('never throws on bad input lengths or types', () => {
    const seed = fromHex(GO.seedHex);
    const pub = ed25519PublicKey(seed);
    const sig = ed25519Sign(seed, utf8('x'));
    expect(ed25519Verify(pub.subarray(1), utf8('x'), sig)).toBe(false);
    expect(ed25519Verify(pub, utf8('x'), sig.subarray(1))).toBe(false);
    expect(ed25519Verify(pub, utf8('x'), concatBytes(sig, Uint8Array.of(0)))).toBe(false);
    expect(ed25519Verify(new Uint8Array(32).fill(0xff), utf8('x'), sig)).toBe(false);
    expect(ed25519Verify(pub, 'x' as unknown as Uint8Array, sig)).toBe(false);
    expect(ed25519Verify(null as unknown as Uint8Array, utf8('x'), sig)).toBe(false);
  });

  it('rejects a non-canonical S (S + L), as Go crypto/ed25519 does', () => {
    const seed = fromHex(GO.seedHex);
    const msg = utf8('malleable?\n');
    const sig = ed25519Sign(seed, msg);
    const s = leToBig(sig.subarray(32));
    const mauled = concatBytes(sig.subarray(0, 32), bigToLe(s + L, 32));
    expect(ed25519Verify(ed25519PublicKey(seed), msg, mauled)).toBe(false);
  });

  it('uses strict mode: the identity key with an all-identity signature does not verify', () => {
    // Under ZIP-215 (noble's default) this verifies for every message.
    const identity = new Uint8Array(32);
    identity[0] = 1;
    const sig = concatBytes(identity, new Uint8Array(32));
    expect(ed25519Verify(identity, utf8('anything'), sig)).toBe(false);
  });

  it('rejects non-canonical point encodings (y >= p) that ZIP-215 would accept', () => {
    // y = p + 1 encodes the identity non-canonically; as key and R with S = 0 it verifies any
    // message under ZIP-215.
    const p = 2n ** 255n - 19n;
    const nonCanonicalIdentity = bigToLe(p + 1n, 32);
    const sig = concatBytes(nonCanonicalIdentity, new Uint8Array(32));
    expect(ed25519Verify(nonCanonicalIdentity, utf8('anything'), sig)).toBe(false);
  });

  it('signs deterministically and validates the seed length', () => {
    const seed = randomSeed();
    expect(seed).toHaveLength(32);
    expect(toHex(seed)).not.toBe(toHex(randomSeed()));
    expect(ed25519Sign(seed, utf8('a'))).toEqual(ed25519Sign(seed, utf8('a')));
    expect(() => ed25519Sign(seed.subarray(1), utf8('a'))).toThrow(TypeError);
    expect(() => ed25519PublicKey(new Uint8Array(64))).toThrow(TypeError);
  });
});
