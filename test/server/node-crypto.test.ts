import { describe, expect, it } from 'vitest';
import { sha256 } from '@noble/hashes/sha2.js';
import { nodeEd25519Signer, nodeSha256 } from '../../src/server/node-crypto.js';
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
