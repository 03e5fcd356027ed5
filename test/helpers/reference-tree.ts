/**
 * A naive RFC 6962 §2.1 implementation, written straight from the recursive definitions
 * of MTH, PATH and PROOF/SUBPROOF, as the test oracle for candor's tree code (style P13).
 * It uses node:crypto for SHA-256 and no candor code at all, so it also cross-checks
 * src/merkle/hash.ts. Leaves here are leaf hashes (the output of leafHash).
 */
import { createHash } from 'node:crypto';

function sha256(...parts: Uint8Array[]): Uint8Array {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

/** SHA-256(0x00 ‖ data): the RFC 6962 leaf hash. */
export function refLeafHash(data: Uint8Array): Uint8Array {
  return sha256(Uint8Array.of(0), data);
}

/** SHA-256(0x01 ‖ left ‖ right): the RFC 6962 interior node hash. */
export function refNodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  return sha256(Uint8Array.of(1), left, right);
}

/** MTH({}) = SHA-256(""). */
export const REF_EMPTY_ROOT = sha256();

/** The largest power of two strictly below n (n ≥ 2): RFC 6962's k. */
function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** MTH over a list of leaf hashes (no memo: linear hashing, log-depth recursion). */
export function referenceRoot(leaves: readonly Uint8Array[]): Uint8Array {
  const mth = (lo: number, hi: number): Uint8Array => {
    if (hi - lo === 1) return leaves[lo]!;
    const k = splitPoint(hi - lo);
    return refNodeHash(mth(lo, lo + k), mth(lo + k, hi));
  };
  return leaves.length === 0 ? REF_EMPTY_ROOT : mth(0, leaves.length);
}

/**
 * The RFC 6962 recursions over a tree given by its leaf hashes, memoizing MTH of every range
 * it has hashed so that exhaustive tests over many sizes stay fast.
 */
export class ReferenceTree {
  private readonly memo = new Map<string, Uint8Array>();
  private readonly leafAt: (i: number) => Uint8Array;

  constructor(leafAt: (i: number) => Uint8Array) {
    this.leafAt = leafAt;
  }

  /** A reference tree over a fixed list of leaf hashes (prefixes give the smaller trees). */
  static of(leaves: readonly Uint8Array[]): ReferenceTree {
    return new ReferenceTree((i) => {
      const leaf = leaves[i];
      if (leaf === undefined) throw new Error(`reference tree has no leaf ${i}`);
      return leaf;
    });
  }

  /** MTH(D[lo:hi]) for hi > lo. */
  mth(lo: number, hi: number): Uint8Array {
    const key = `${lo}:${hi}`;
    let h = this.memo.get(key);
    if (h === undefined) {
      h = this.shortcut(lo, hi);
      if (h === undefined) {
        if (hi - lo === 1) h = this.leafAt(lo);
        else {
          const k = splitPoint(hi - lo);
          h = refNodeHash(this.mth(lo, lo + k), this.mth(lo + k, hi));
        }
      }
      this.memo.set(key, h);
    }
    return h;
  }

  /** MTH(D[0:size]), the empty hash for 0. */
  root(size: number): Uint8Array {
    return size === 0 ? REF_EMPTY_ROOT : this.mth(0, size);
  }

  /** The hash of perfect node (level, index). */
  node(level: number, index: number): Uint8Array {
    return this.mth(index * 2 ** level, (index + 1) * 2 ** level);
  }

  /** PATH(m, D[0:size]). */
  inclusion(m: number, size: number): Uint8Array[] {
    return this.path(m, 0, size);
  }

  /** PROOF(m, D[0:size]) = SUBPROOF(m, D[0:size], true). */
  consistency(m: number, size: number): Uint8Array[] {
    return this.subproof(m, 0, size, true);
  }

  /** Subclasses may answer MTH of some ranges directly. */
  protected shortcut(_lo: number, _hi: number): Uint8Array | undefined {
    return undefined;
  }

  // PATH(m, D[lo:hi]), m relative to lo.
  private path(m: number, lo: number, hi: number): Uint8Array[] {
    const n = hi - lo;
    if (n === 1) return [];
    const k = splitPoint(n);
    if (m < k) return [...this.path(m, lo, lo + k), this.mth(lo + k, hi)];
    return [...this.path(m - k, lo + k, hi), this.mth(lo, lo + k)];
  }

  // SUBPROOF(m, D[lo:hi], b), m relative to lo.
  private subproof(m: number, lo: number, hi: number, b: boolean): Uint8Array[] {
    const n = hi - lo;
    if (m === n) return b ? [] : [this.mth(lo, hi)];
    const k = splitPoint(n);
    if (m <= k) return [...this.subproof(m, lo, lo + k, b), this.mth(lo + k, hi)];
    return [...this.subproof(m - k, lo + k, hi, false), this.mth(lo, lo + k)];
  }
}

/**
 * A huge tree (sizes up to 2^53) where every leaf is the same filler hash except a few
 * "special" leaves. Any perfect subtree without a special leaf has a hash that depends
 * only on its level, so MTH of any range costs O(53 · specials) hashes. Tests use it to
 * check index math past 2^32 against the plain RFC recursions.
 */
export class SparseTree extends ReferenceTree {
  private readonly specials: readonly number[];
  private readonly filler: Uint8Array[] = [];

  constructor(specials: ReadonlyMap<number, Uint8Array>) {
    const fill = refLeafHash(new TextEncoder().encode('filler'));
    super((i) => specials.get(i) ?? fill);
    this.specials = [...specials.keys()];
    this.filler.push(fill);
    for (let level = 1; level <= 53; level++) {
      const below = this.filler[level - 1]!;
      this.filler.push(refNodeHash(below, below));
    }
  }

  /** Node lookup in the shape tree.ts's getNode expects. */
  readonly getNode = (id: { level: number; index: number }): Uint8Array =>
    this.node(id.level, id.index);

  protected override shortcut(lo: number, hi: number): Uint8Array | undefined {
    const n = hi - lo;
    let level = 0;
    while (2 ** level < n) level++;
    if (2 ** level !== n || lo % n !== 0) return undefined;
    if (this.specials.some((s) => s >= lo && s < hi)) return undefined;
    return this.filler[level];
  }
}
