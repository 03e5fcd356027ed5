/**
 * HashIndex: where each hash first is in an array of hashes, for the append path.
 */
import { equalBytes } from './bytes.js';

/**
 * The first position of each hash in an array of 32-byte hashes (a batch's leaf hashes).
 * Keyed by the hash's first six bytes as a number (Map lookups on numbers are far cheaper
 * than building a string per hash); a full comparison settles every hit, and the rare
 * prefix collision between two different hashes falls back to a map keyed by the whole
 * hash.
 */
export class HashIndex {
  private readonly byPrefix = new Map<number, number>();
  private byHash: Map<string, number> | undefined;

  /** Where `h` first is among `hashes` (the array this index was built on), if there. */
  get(hashes: readonly Uint8Array[], h: Uint8Array): number | undefined {
    const first = this.byPrefix.get(prefixOf(h));
    if (first === undefined) return undefined;
    if (equalBytes(hashes[first]!, h)) return first;
    return this.byHash?.get(String.fromCharCode(...h));
  }

  /** An index of every hash of `hashes`. */
  static of(hashes: readonly Uint8Array[]): HashIndex {
    const index = new HashIndex();
    for (let i = 0; i < hashes.length; i++) index.addOrGet(hashes, i);
    return index;
  }

  /** Records hashes[i] if new and returns i, or returns where the same hash was first. */
  addOrGet(hashes: readonly Uint8Array[], i: number): number {
    const h = hashes[i]!;
    const prefix = prefixOf(h);
    const first = this.byPrefix.get(prefix);
    if (first === undefined) {
      this.byPrefix.set(prefix, i);
      return i;
    }
    if (equalBytes(hashes[first]!, h)) return first;
    this.byHash ??= new Map();
    const key = String.fromCharCode(...h);
    const seen = this.byHash.get(key);
    if (seen !== undefined) return seen;
    this.byHash.set(key, i);
    return i;
  }
}

/** The first six bytes of a hash as a number (exact: below 2^48). */
function prefixOf(h: Uint8Array): number {
  return ((((h[0]! * 256 + h[1]!) * 256 + h[2]!) * 256 + h[3]!) * 256 + h[4]!) * 256 + h[5]!;
}
