import { describe, expect, it } from 'vitest';
import { HashIndex } from '../../src/util/hash-index.js';

const hash = (first: number, last: number): Uint8Array => {
  const h = new Uint8Array(32).fill(first);
  h[31] = last;
  return h;
};

describe('HashIndex', () => {
  it('finds the first position of each hash, repeats and six-byte prefix collisions included', () => {
    // a and b share their first six bytes (and more) but differ: the collision path.
    const [a, b, c] = [hash(1, 1), hash(1, 2), hash(2, 1)];
    const hashes = [a, b, a.slice(), c, b.slice(), hash(1, 3)];
    const index = new HashIndex();
    expect(hashes.map((_, i) => index.addOrGet(hashes, i))).toEqual([0, 1, 0, 3, 1, 5]);
    expect(index.get(hashes, a)).toBe(0);
    expect(index.get(hashes, b)).toBe(1);
    expect(index.get(hashes, c)).toBe(3);
    expect(index.get(hashes, hash(1, 4))).toBeUndefined(); // same prefix, absent
    expect(index.get(hashes, hash(9, 9))).toBeUndefined();
    const built = HashIndex.of(hashes);
    expect([a, b, c, hash(1, 3)].map((h) => built.get(hashes, h))).toEqual([0, 1, 3, 5]);
  });
});
