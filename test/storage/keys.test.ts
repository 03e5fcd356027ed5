import { describe, expect, it } from 'vitest';
import * as keys from '../../src/storage/keys.js';
import { isLogError } from '../../src/util/errors.js';

/** Bytewise comparison, as LevelDB orders keys. */
function compare(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

const numbers = [0, 1, 255, 256, 65_535, 65_536, 2 ** 32 - 1, 2 ** 32, 2 ** 40 + 5, 2 ** 53 - 1];

describe('storage keys', () => {
  it('has distinct one-character sublevel names', () => {
    const names = Object.values(keys.SUBLEVEL);
    expect(new Set(names).size).toBe(names.length);
    for (const n of names) expect(n).toMatch(/^[a-z]$/);
  });

  it('orders checkpoint and chunk keys bytewise as the numbers, and decodes them back', () => {
    for (let i = 0; i + 1 < numbers.length; i++) {
      expect(compare(keys.checkpointKey(numbers[i]!), keys.checkpointKey(numbers[i + 1]!))).toBeLessThan(0);
      const [a, b] = [Math.floor(numbers[i]! / 256), Math.floor(numbers[i + 1]! / 256)];
      if (a < b) expect(compare(keys.chunkKey(a, 255), keys.chunkKey(b, 0))).toBeLessThan(0);
    }
    for (const n of numbers) {
      expect(keys.checkpointKey(n)).toHaveLength(8);
      expect(keys.decodeU64Key(keys.checkpointKey(n), 'checkpoint')).toBe(n);
      const bundle = Math.floor(n / 256);
      expect(keys.decodeChunkKey(keys.chunkKey(bundle, n % 256))).toEqual({ bundle, offset: n % 256 });
    }
    expect(compare(keys.chunkKey(7, 3), keys.chunkKey(7, 4))).toBeLessThan(0);
    expect(() => keys.checkpointKey(-1)).toThrow(TypeError);
    expect(() => keys.checkpointKey(2 ** 53)).toThrow(TypeError);
    expect(() => keys.chunkKey(1, 256)).toThrow(TypeError);
  });

  it('rejects undecodable u64 keys with CORRUPT', () => {
    for (const bad of [new Uint8Array(7), new Uint8Array(9), new Uint8Array(8).fill(0xff)]) {
      let err: unknown;
      try {
        keys.decodeU64Key(bad, 'entry');
      } catch (e) {
        err = e;
      }
      expect(isLogError(err, 'CORRUPT')).toBe(true);
    }
  });

  it('encodes tile keys as level byte then big-endian index, ordered by (level, index)', () => {
    expect([...keys.tileKey(3, 258)]).toEqual([3, 0, 0, 0, 0, 0, 0, 1, 2]);
    const ordered = [[0, 0], [0, 2 ** 40], [1, 0], [63, 1]].map(([l, i]) => keys.tileKey(l!, i!));
    for (let i = 0; i + 1 < ordered.length; i++) {
      expect(compare(ordered[i]!, ordered[i + 1]!)).toBeLessThan(0);
    }
    for (const [level, index] of [[64, 0], [-1, 0], [1.5, 0], [0, -1], [0, 2 ** 53]] as const) {
      expect(() => keys.tileKey(level, index)).toThrow(TypeError);
    }
  });

  it('uses the 32-byte leaf hash itself as the dedup key', () => {
    const h = new Uint8Array(32).fill(9);
    expect(keys.dedupKey(h)).toBe(h);
    expect(() => keys.dedupKey(new Uint8Array(31))).toThrow(TypeError);
  });
});
