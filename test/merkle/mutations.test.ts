import { describe, expect, it } from 'vitest';
import { verifyConsistency, verifyInclusion } from '../../src/merkle/verify.js';
import { leafHash } from '../../src/merkle/hash.js';
import { isLogError } from '../../src/util/errors.js';
import { ReferenceTree } from '../helpers/reference-tree.js';

// Mutated proofs, from the reference tree's (correct) proofs: every change must be rejected.
const N = 300;
const leaves = Array.from({ length: N }, (_, i) => leafHash(Uint8Array.of(i & 255, i >> 8)));
const ref = ReferenceTree.of(leaves);

function rejects(fn: () => unknown): boolean {
  try {
    fn();
    return false;
  } catch (err) {
    return isLogError(err, 'PROOF_FAILED');
  }
}

function flipped(proof: readonly Uint8Array[], i: number, bit: number): Uint8Array[] {
  const out = proof.slice();
  const h = proof[i]!.slice();
  h[bit >> 3]! ^= 1 << (bit & 7);
  out[i] = h;
  return out;
}

// Small deterministic PRNG (mulberry32) for the sampled parts.
function rng(seed: number): (n: number) => number {
  return (n) => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
  };
}

describe('proof mutations are rejected', () => {
  it('every bit of every inclusion proof hash, sizes 1..16; sampled bits up to 300', () => {
    const bad: string[] = [];
    const check = (i: number, n: number, bits: (len: number) => Array<[number, number]>): void => {
      const proof = ref.inclusion(i, n);
      const root = ref.root(n);
      for (const [j, bit] of bits(proof.length)) {
        const p = flipped(proof, j, bit);
        const ok = rejects(() => verifyInclusion(leaves[i]!, i, n, p, root));
        if (!ok) bad.push(`${i}/${n}/${j}/${bit}`);
      }
    };
    const allBits = (len: number): Array<[number, number]> =>
      Array.from({ length: len * 256 }, (_, k) => [k >> 8, k & 255]);
    for (let n = 1; n <= 16; n++) for (let i = 0; i < n; i++) check(i, n, allBits);
    const pick = rng(1);
    for (let k = 0; k < 1000; k++) {
      const n = 17 + pick(N - 16);
      check(pick(n), n, (len) => Array.from({ length: 2 }, () => [pick(len), pick(256)]));
    }
    expect(bad).toEqual([]);
  });

  it('every bit of every consistency proof hash, sizes 1..12; sampled bits up to 300', () => {
    const bad: string[] = [];
    const check = (m: number, n: number, bits: (len: number) => Array<[number, number]>): void => {
      const proof = ref.consistency(m, n);
      const [old, root] = [ref.root(m), ref.root(n)];
      for (const [j, bit] of bits(proof.length)) {
        const p = flipped(proof, j, bit);
        const ok = rejects(() => verifyConsistency(m, n, p, old, root));
        if (!ok) bad.push(`${m}/${n}/${j}/${bit}`);
      }
    };
    const allBits = (len: number): Array<[number, number]> =>
      Array.from({ length: len * 256 }, (_, k) => [k >> 8, k & 255]);
    for (let n = 2; n <= 12; n++) for (let m = 1; m < n; m++) check(m, n, allBits);
    const pick = rng(2);
    for (let k = 0; k < 1000; k++) {
      const n = 13 + pick(N - 12);
      check(1 + pick(n - 1), n, (len) => Array.from({ length: 2 }, () => [pick(len), pick(256)]));
    }
    expect(bad).toEqual([]);
  });

  it('a wrong leaf, index or root', () => {
    const bad: string[] = [];
    const reject = (label: string, fn: () => unknown): void => {
      if (!rejects(fn)) bad.push(label);
    };
    for (let n = 2; n <= 40; n++) {
      const [root, before] = [ref.root(n), ref.root(n - 1)];
      for (let i = 0; i < n; i++) {
        const [proof, leaf] = [ref.inclusion(i, n), leaves[i]!];
        const other = leaves[(i + 1) % n]!;
        reject(`leaf ${i}/${n}`, () => verifyInclusion(other, i, n, proof, root));
        reject(`root ${i}/${n}`, () => verifyInclusion(leaf, i, n, proof, before));
        for (const j of [i - 1, i + 1]) {
          if (j < 0 || j >= n) continue;
          reject(`index ${i}->${j}/${n}`, () => verifyInclusion(leaf, j, n, proof, root));
        }
      }
      for (let m = 1; m < n; m++) {
        const [proof, old] = [ref.consistency(m, n), ref.root(m)];
        reject(`new root ${m}/${n}`, () => verifyConsistency(m, n, proof, old, before));
        if (m === 1) continue;
        const wrongOld = ref.root(m - 1);
        reject(`old root ${m}/${n}`, () => verifyConsistency(m, n, proof, wrongOld, root));
      }
    }
    expect(bad).toEqual([]);
  });
});

