/**
 * Integer helpers for tree sizes and indices. JavaScript's bitwise operators truncate to
 * 32 bits, so tree arithmetic never uses them: everything here is plain arithmetic on
 * safe integers (below 2^53), exact for any log this process could hold.
 */
import { LogError } from './errors.js';

/** The largest tree size or index accepted anywhere: 2^53 - 1. */
export const MAX_SAFE = Number.MAX_SAFE_INTEGER;

/** Throws a TypeError unless `n` is a non-negative safe integer. For programmer errors. */
export function assertIndex(n: number, what = 'value'): void {
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new TypeError(`${what} must be a non-negative safe integer, got ${String(n)}`);
  }
}

/**
 * Parses a canonical non-negative decimal (no sign, no leading zeros, no spaces, at most
 * 2^53 - 1). Throws LogError MALFORMED otherwise. Use for every number that comes from
 * outside: URLs, request bodies, checkpoints.
 */
export function parseDecimal(text: string, what = 'number'): number {
  if (!/^(0|[1-9][0-9]{0,15})$/.test(text)) {
    throw new LogError('MALFORMED', `${what} must be a canonical non-negative decimal integer`);
  }
  const n = Number(text);
  if (!Number.isSafeInteger(n)) {
    throw new LogError('MALFORMED', `${what} is larger than 2^53 - 1`);
  }
  return n;
}

/** 2^k for 0 <= k <= 53. */
export function pow2(k: number): number {
  return 2 ** k;
}

/** Number of bits needed to represent n (bitLength(0) = 0, bitLength(1) = 1, bitLength(8) = 4). */
export function bitLength(n: number): number {
  // Below 2^32, Math.clz32 counts exactly (it converts to uint32, which is lossless there).
  if (n >= 0 && n < 4294967296) return 32 - Math.clz32(n);
  let len = 0;
  // Peel 16 bits at a time for speed, then single bits.
  while (n >= 65536) {
    n = Math.floor(n / 65536);
    len += 16;
  }
  while (n > 0) {
    n = Math.floor(n / 2);
    len += 1;
  }
  return len;
}

/** Number of set bits in n. */
export function onesCount(n: number): number {
  let count = 0;
  while (n > 0) {
    if (n % 2 === 1) count += 1;
    n = Math.floor(n / 2);
  }
  return count;
}

/** Number of trailing zero bits of n > 0 (trailingZeros(8) = 3). */
export function trailingZeros(n: number): number {
  if (n <= 0) throw new TypeError('trailingZeros needs n > 0');
  let count = 0;
  while (n % 2 === 0) {
    n /= 2;
    count += 1;
  }
  return count;
}

/** True when n is 2^k for some k >= 0. */
export function isPowerOfTwo(n: number): boolean {
  return n > 0 && n === pow2(bitLength(n) - 1);
}

/** The largest power of two strictly smaller than n, for n >= 2 (RFC 6962 §2.1's k). */
export function largestPowerOfTwoBelow(n: number): number {
  if (n < 2) throw new TypeError('largestPowerOfTwoBelow needs n >= 2');
  return pow2(bitLength(n - 1) - 1);
}

/** floor(n / 2^k). */
export function shiftRight(n: number, k: number): number {
  return Math.floor(n / pow2(k));
}

/** n XOR m for safe non-negative integers, without 32-bit truncation. */
export function xor(n: number, m: number): number {
  let result = 0;
  let bit = 1;
  while (n > 0 || m > 0) {
    if (n % 2 !== m % 2) result += bit;
    n = Math.floor(n / 2);
    m = Math.floor(m / 2);
    bit *= 2;
  }
  return result;
}
