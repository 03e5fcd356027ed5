import { describe, expect, it } from 'vitest';
import { sha256 } from '@noble/hashes/sha2.js';
import { nodeEd25519Backend, nodeEd25519Signer, nodeSha256 } from '../../src/server/node-crypto.js';
import { ed25519PublicKey, ed25519Sign, ed25519Verify, useEd25519 } from '../../src/note/ed25519.js';
import { ed25519Signer, generateSignerKey } from '../../src/note/keys.js';

describe('node:crypto backends', () => {
  it('SHA-256 matches @noble/hashes on many lengths', () => {
    for (let n = 0; n < 300; n++) {
      const data = new Uint8Array(n).map((_, i) => (i * 7 + n) % 256);
      expect(nodeSha256(data)).toEqual(sha256(data));
    }
  });

  it('Ed25519 signatures are byte-identical to @noble/ed25519 (the Go sumdb test key too)', () => {
    const keys = [
      'PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz',
      generateSignerKey('a.example/log').signerKey,
      generateSignerKey('b.example/log').signerKey,
    ];
    const msg = new TextEncoder().encode('example.com/log\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n');
    for (const k of keys) {
      const a = nodeEd25519Signer(k);
      const b = ed25519Signer(k);
      expect([a.name, a.keyId]).toEqual([b.name, b.keyId]);
      expect(a.sign(msg)).toEqual(b.sign(msg));
    }
  });
});

describe('Ed25519 on node:crypto as the process backend', () => {
  const seed = new Uint8Array(32).map((_, i) => i * 5 + 1);
  const pub = ed25519PublicKey(seed);
  const msg = new TextEncoder().encode('example.com/log\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n');
  const node = nodeEd25519Backend();

  it('signs byte-identically and agrees with @noble on every one-bit change of the signature', () => {
    const sig = ed25519Sign(seed, msg); // noble: no backend installed yet
    expect(node.sign(seed, msg)).toEqual(sig);
    expect(node.verify(pub, msg, sig)).toBe(true);
    for (let bit = 0; bit < 512; bit++) {
      const bad = sig.slice();
      bad[bit >> 3]! ^= 1 << (bit & 7);
      expect(node.verify(pub, msg, bad)).toBe(ed25519Verify(pub, msg, bad));
      expect(node.verify(pub, msg, bad)).toBe(false);
    }
    const other = msg.slice();
    other[3]! ^= 0x20;
    expect(node.verify(pub, other, sig)).toBe(false);
    expect(node.verify(ed25519PublicKey(seed.map((b) => b ^ 1)), msg, sig)).toBe(false);
  });

  it('rejects a signature whose S is not reduced (S + L), as @noble strict mode does', () => {
    const sig = ed25519Sign(seed, msg);
    const L = 2n ** 252n + 27742317777372353535851937790883648493n;
    let s = 0n;
    for (let i = 31; i >= 0; i--) s = s * 256n + BigInt(sig[32 + i]!);
    let big = s + L;
    const bad = sig.slice();
    for (let i = 0; i < 32; i++) {
      bad[32 + i] = Number(big % 256n);
      big /= 256n;
    }
    expect(ed25519Verify(pub, msg, bad)).toBe(false);
    expect(node.verify(pub, msg, bad)).toBe(false);
  });

  it('once installed, serves ed25519Sign/Verify, still refusing small-order keys', () => {
    useEd25519(node);
    const sig = ed25519Sign(seed, msg);
    expect(ed25519Verify(pub, msg, sig)).toBe(true);
    // The identity point (small order): any message "verifies" under the bare equation
    // with S = 0 and R = identity. OpenSSL alone accepts this forgery; the key check
    // ed25519Verify makes before asking the backend refuses it.
    const identity = new Uint8Array(32);
    identity[0] = 1;
    const forged = new Uint8Array(64);
    forged[0] = 1;
    expect(ed25519Verify(identity, msg, forged)).toBe(false);
    expect(ed25519Verify(pub, msg, sig.subarray(0, 63))).toBe(false);
  });

  it('refuses a backend that is not RFC 8032 Ed25519', () => {
    const lax = { sign: node.sign, verify: () => true };
    expect(() => useEd25519(lax)).toThrow(TypeError);
    const wrong = { sign: (s: Uint8Array, m: Uint8Array) => node.sign(s, new Uint8Array([...m, 0])), verify: node.verify };
    expect(() => useEd25519(wrong)).toThrow(TypeError);
  });
});
