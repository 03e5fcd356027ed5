import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { sha256 as noble } from '@noble/hashes/sha2.js';
import { sha256 } from '../../src/merkle/sha256.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('SHA-256 (src/merkle/sha256.ts)', () => {
  it('matches the FIPS 180-2 vectors', () => {
    const enc = new TextEncoder();
    expect(hex(sha256(new Uint8Array(0)))).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(hex(sha256(enc.encode('abc')))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(hex(sha256(enc.encode('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq')))).toBe(
      '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1'
    );
    expect(hex(sha256(new Uint8Array(1_000_000).fill(0x61)))).toBe('cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0');
  });

  it('matches node:crypto and @noble/hashes on every length to 1 KiB, on varied bytes', () => {
    for (let n = 0; n <= 1024; n++) {
      const data = new Uint8Array(n).map((_, i) => (i * 131 + n * 17 + (i >> 3)) & 0xff);
      const want = createHash('sha256').update(data).digest('hex');
      expect(hex(sha256(data)), `length ${n}`).toBe(want);
      if (n % 61 === 0) expect(hex(noble(data))).toBe(want);
    }
  });

  it('returns a fresh array each time and reads its input only', () => {
    const data = new Uint8Array(65).fill(1);
    const copy = data.slice();
    const a = sha256(data);
    const b = sha256(data);
    expect(a).toEqual(b);
    expect(a).not.toBe(b);
    a[0]! ^= 1;
    expect(sha256(data)).toEqual(b);
    expect(data).toEqual(copy);
  });
});
