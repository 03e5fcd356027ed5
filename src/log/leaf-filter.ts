/**
 * A fixed-size Bloom filter of the leaf hashes in the log, in front of the store's dedup
 * index. A new entry whose hash the filter has never seen is certainly new, so the
 * integrator skips the store lookup for it (the lookup was a LevelDB getMany of every
 * hash of a batch, about 4–8 µs per hash and serialised before the commit); only the
 * filter's positives (real duplicates and false positives) go to the store.
 *
 * Memory is fixed when the log opens (`bytes`, 16 MiB by default) and does not grow with
 * the log: as the log grows past what the filter was sized for, its false-positive rate
 * rises and more lookups go to the store, which stays the only authority. Correctness
 * never depends on the filter: it only ever says "certainly absent" for hashes that were
 * never added, and every committed hash is added.
 *
 * Leaf hashes are SHA-256 outputs, so the filter takes its K bit positions straight from
 * the hash's bytes (bytes 4i..4i+3 for position i). Someone who grinds entries to collide
 * in the filter only turns its answers into "maybe", which costs a store lookup.
 *
 * A reopened log fills the filter from the level-0 hash tiles in the background
 * (`fill`); until that finishes, `ready` is false and every hash goes to the store.
 */
import { invariant } from '../util/errors.js';

/** Bit positions per hash. 7 is optimal at about 10 bits per hash (1% false positives). */
const K = 7;

// Bit masks within a byte, so no bitwise operators are needed (the lint forbids them here).
const BIT = [1, 2, 4, 8, 16, 32, 64, 128] as const;

export class LeafFilter {
  private readonly bits: Uint8Array;
  private readonly nbits: number;
  private filled = false;
  /** Hashes added (a measure of how full the filter is). */
  count = 0;

  /**
   * @param bytes size of the filter, a power of two from 1 KiB to 1 GiB.
   */
  constructor(bytes: number) {
    invariant(
      Number.isInteger(Math.log2(bytes)) && bytes >= 1024 && bytes <= 2 ** 30,
      'the leaf filter size must be a power of two from 1 KiB to 1 GiB'
    );
    this.bits = new Uint8Array(bytes);
    this.nbits = bytes * 8;
  }

  /** True once every hash of the log is in the filter, so a "no" is certain. */
  get ready(): boolean {
    return this.filled;
  }

  /** Marks the filter complete: everything logged before has been added. */
  markReady(): void {
    this.filled = true;
  }

  /** Adds a 32-byte leaf hash. */
  add(h: Uint8Array): void {
    const bits = this.bits;
    for (let i = 0; i < K; i++) {
      const pos = this.position(h, i);
      const byte = Math.floor(pos / 8);
      const mask = BIT[pos % 8]!;
      const v = bits[byte]!;
      if (Math.floor(v / mask) % 2 === 0) bits[byte] = v + mask;
    }
    this.count++;
  }

  /** False only when `h` was certainly never added (and the filter is ready). */
  mightContain(h: Uint8Array): boolean {
    if (!this.filled) return true;
    const bits = this.bits;
    for (let i = 0; i < K; i++) {
      const pos = this.position(h, i);
      if (Math.floor(bits[Math.floor(pos / 8)]! / BIT[pos % 8]!) % 2 === 0) return false;
    }
    return true;
  }

  private position(h: Uint8Array, i: number): number {
    const o = 4 * i;
    return (((h[o]! * 256 + h[o + 1]!) * 256 + h[o + 2]!) * 256 + h[o + 3]!) % this.nbits;
  }
}
