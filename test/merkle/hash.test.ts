import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { sha256 } from '@noble/hashes/sha2.js';
import { EMPTY_ROOT, HASH_SIZE, leafHash, nodeHash, useSha256 } from '../../src/merkle/hash.js';
import { fromHex, toHex } from '../../src/util/bytes.js';
import { refLeafHash, refNodeHash } from '../helpers/reference-tree.js';

// Returns a Node Buffer, as a server plug-in would.
const nodeSha256 = (data: Uint8Array): Uint8Array => createHash('sha256').update(data).digest();

describe('hash', () => {
  afterEach(() => useSha256(sha256));

  it('has the RFC 6962 empty root, SHA-256 of ""', () => {
    expect(HASH_SIZE).toBe(32);
    expect(toHex(EMPTY_ROOT)).toBe(
      'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'
    );
  });

  it('hashes the §8.1 leaves and level-1 nodes to the transparency-dev constants', () => {
    const l0 = leafHash(new Uint8Array(0));
    const l1 = leafHash(fromHex('00'));
    expect(toHex(l0)).toBe('6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d');
    expect(toHex(l1).slice(0, 8)).toBe('96a296d2');
    expect(toHex(nodeHash(l0, l1))).toBe(
      'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125'
    );
  });

  it('agrees with node:crypto for many lengths, including past the scratch buffer', () => {
    for (const len of [0, 1, 31, 32, 33, 63, 64, 65, 1023, 1024, 1025, 5000, 65535, 65536, 70000]) {
      const data = new Uint8Array(len).map((_, i) => (i * 7 + len) & 255);
      expect(toHex(leafHash(data))).toBe(toHex(refLeafHash(data)));
    }
    const a = leafHash(fromHex('aa'));
    const b = leafHash(fromHex('bb'));
    expect(toHex(nodeHash(a, b))).toBe(toHex(refNodeHash(a, b)));
    expect(toHex(nodeHash(b, a))).not.toBe(toHex(nodeHash(a, b)));
  });

  it('returns fresh arrays that later calls do not overwrite', () => {
    const a = leafHash(fromHex('01'));
    const b = leafHash(fromHex('02'));
    const n1 = nodeHash(a, b);
    const copy = n1.slice();
    const n2 = nodeHash(b, a);
    expect(n1).not.toBe(n2);
    expect(n1).toEqual(copy);
    const l1 = leafHash(fromHex('03'));
    const before = l1.slice();
    leafHash(fromHex('04'));
    expect(l1).toEqual(before);
  });

  it('does not let the input change after hashing affect the result', () => {
    const data = fromHex('0102030405');
    const h = leafHash(data);
    data[0] = 9;
    expect(toHex(h)).toBe(toHex(refLeafHash(fromHex('0102030405'))));
  });

  it('rejects interior children that are not 32 bytes', () => {
    const h = leafHash(new Uint8Array(0));
    expect(() => nodeHash(h, new Uint8Array(31))).toThrow(TypeError);
    expect(() => nodeHash(new Uint8Array(33), h)).toThrow(TypeError);
  });

  it('uses a plugged-in SHA-256 and gives the same hashes', () => {
    let calls = 0;
    useSha256((data) => {
      calls++;
      return nodeSha256(data);
    });
    calls = 0;
    const l = leafHash(fromHex('2021'));
    expect(calls).toBe(1);
    // Buffers are turned into plain Uint8Arrays (Buffer#slice would be a view, not a copy).
    expect(Object.getPrototypeOf(l)).toBe(Uint8Array.prototype);
    expect(l).toEqual(refLeafHash(fromHex('2021')));
    expect(toHex(l)).toBe(toHex(refLeafHash(fromHex('2021'))));
    expect(toHex(nodeHash(l, l))).toBe(toHex(refNodeHash(l, l)));
    expect(calls).toBe(2);
  });

  it('refuses a plug-in that is not SHA-256', () => {
    expect(() => useSha256(() => new Uint8Array(32))).toThrow(TypeError);
    // The previous implementation stays in place.
    expect(toHex(leafHash(new Uint8Array(0))).slice(0, 8)).toBe('6e340b9c');
  });
});
