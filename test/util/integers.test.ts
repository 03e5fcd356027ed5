import { describe, expect, it } from 'vitest';
import { bitLength, isPowerOfTwo, largestPowerOfTwoBelow, trailingZeros } from '../../src/util/integers.js';

const ref = (n: number): number => (n === 0 ? 0 : BigInt(n).toString(2).length);

describe('integer helpers are exact to 2^53', () => {
  const samples: number[] = [0, 1, 2, 3, 4, 5, 7, 8, 255, 256, 257, 65535, 65536, 65537];
  for (let k = 16; k <= 53; k++) samples.push(2 ** k - 1, 2 ** k, 2 ** k + 1);
  const values = samples.filter((n) => Number.isSafeInteger(n));

  it('bitLength, across the 32-bit boundary and beyond', () => {
    for (const n of values) expect(bitLength(n), String(n)).toBe(ref(n));
  });

  it('largestPowerOfTwoBelow and isPowerOfTwo', () => {
    for (const n of values.filter((v) => v >= 2)) {
      const k = largestPowerOfTwoBelow(n);
      expect(isPowerOfTwo(k)).toBe(true);
      expect(k < n && 2 * k >= n, String(n)).toBe(true);
    }
    expect(() => largestPowerOfTwoBelow(1)).toThrow(TypeError);
    expect(values.filter(isPowerOfTwo).every((n) => BigInt(n).toString(2).replace(/^10*$/, '') === '')).toBe(true);
  });

  it('trailingZeros', () => {
    for (let k = 0; k <= 52; k++) expect(trailingZeros(2 ** k * 3)).toBe(k);
  });
});
