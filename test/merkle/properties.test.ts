import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  proveConsistency,
  proveInclusion,
  rangeNodes,
  treeRoot,
  type GetNode,
} from '../../src/merkle/tree.js';
import { verifyConsistency, verifyInclusion } from '../../src/merkle/verify.js';
import { leafHash } from '../../src/merkle/hash.js';
import {
  formatTileIndex,
  formatTilePath,
  parseTileIndex,
  parseTilePath,
  tileForNode,
  tileHashPosition,
  type TilePath,
} from '../../src/merkle/tiles.js';
import { equalBytes, utf8 } from '../../src/util/bytes.js';
import { SparseTree } from '../helpers/reference-tree.js';

const MAX = Number.MAX_SAFE_INTEGER;

/** Tree sizes ≥ 1: small ones, powers of two and their neighbours, and any safe integer. */
const sizeArb = fc.oneof(
  fc.integer({ min: 1, max: 5000 }),
  fc
    .integer({ min: 0, max: 52 })
    .chain((k) => fc.constantFrom(2 ** k, 2 ** k + 1, Math.max(1, 2 ** k - 1))),
  fc.maxSafeNat().map((n) => Math.max(1, n))
);

/** A number in [0, n) derived from a random safe integer. */
const below = (n: number, r: number): number => r % n;

function sparse(...indices: number[]): SparseTree {
  return new SparseTree(new Map(indices.map((i) => [i, leafHash(utf8(`leaf ${i}`))])));
}

function within(tree: SparseTree, size: number): GetNode {
  return (id) => {
    if ((id.index + 1) * 2 ** id.level > size) throw new Error('node outside the tree');
    return tree.getNode(id);
  };
}

const same = (a: Uint8Array[], b: Uint8Array[]): boolean =>
  a.length === b.length && a.every((h, i) => equalBytes(h, b[i]!));

describe('properties', () => {
  it('inclusion: prove then verify round-trips and matches the RFC recursion', () => {
    fc.assert(
      fc.property(sizeArb, fc.maxSafeNat(), (size, r) => {
        const index = below(size, r);
        const tree = sparse(index, size - 1);
        const proof = proveInclusion(index, size, within(tree, size));
        expect(same(proof, tree.inclusion(index, size))).toBe(true);
        const root = treeRoot(size, within(tree, size));
        expect(root).toEqual(tree.root(size));
        expect(verifyInclusion(tree.node(0, index), index, size, proof, root)).toBe(true);
      }),
      { numRuns: 300 }
    );
  });

  it('consistency: prove then verify round-trips and matches the RFC recursion', () => {
    fc.assert(
      fc.property(sizeArb, fc.maxSafeNat(), (size, r) => {
        const old = 1 + below(size, r);
        const tree = sparse(old - 1, size - 1, below(old, r));
        const proof = proveConsistency(old, size, within(tree, size));
        expect(same(proof, tree.consistency(old, size))).toBe(true);
        expect(verifyConsistency(old, size, proof, tree.root(old), tree.root(size))).toBe(true);
      }),
      { numRuns: 300 }
    );
  });

  it('rangeNodes covers exactly [lo, hi) with maximal aligned subtrees', () => {
    fc.assert(
      fc.property(fc.maxSafeNat(), fc.maxSafeNat(), fc.nat(3000), (a, b, small) => {
        const lo = Math.min(a, b);
        const hi = a === b ? Math.min(MAX, lo + small) : Math.max(a, b);
        const nodes = rangeNodes(lo, hi);
        if (nodes.length > 2 * 53) return false;
        let at = lo;
        for (const { level, index } of nodes) {
          const width = 2 ** level;
          if (index * width !== at) return false; // contiguous and aligned
          // Maximal: the parent subtree does not fit inside [lo, hi).
          const parentLo = Math.floor(index / 2) * 2 * width;
          if (parentLo >= lo && parentLo + 2 * width <= hi) return false;
          at += width;
        }
        return at === hi;
      }),
      { numRuns: 2000 }
    );
  });

  it('tile indices and paths round-trip', () => {
    fc.assert(
      fc.property(fc.maxSafeNat(), (n) => {
        expect(parseTileIndex(formatTileIndex(n))).toBe(n);
      }),
      { numRuns: 2000 }
    );
    const widthArb = fc.option(fc.integer({ min: 1, max: 255 }), { nil: undefined });
    // Partial tiles carry a width; full tiles have no width property at all.
    const opt = (width: number | undefined): { width?: number } =>
      width === undefined ? {} : { width };
    const tileArb: fc.Arbitrary<TilePath> = fc.oneof(
      fc
        .tuple(fc.nat(63), fc.maxSafeNat(), widthArb)
        .map(([level, index, width]) => ({ kind: 'hash' as const, level, index, ...opt(width) })),
      fc
        .tuple(fc.maxSafeNat(), widthArb)
        .map(([index, width]) => ({ kind: 'entries' as const, index, ...opt(width) }))
    );
    fc.assert(
      fc.property(tileArb, (t) => {
        expect(parseTilePath(formatTilePath(t))).toEqual(t);
      }),
      { numRuns: 2000 }
    );
  });

  it('tileForNode and tileHashPosition agree and invert', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 52 }), fc.maxSafeNat(), (level, r) => {
        const index = Math.floor(r / 2 ** level);
        const t = tileForNode({ level, index });
        // The node's first tile hash, counted along its tile level, is index·2^subLevel.
        expect((t.tileIndex * 256 + t.subIndex * 2 ** t.subLevel) / 2 ** t.subLevel).toBe(index);
        expect(t.tileLevel * 8 + t.subLevel).toBe(level);
        expect(t.subIndex).toBeLessThan(2 ** (8 - t.subLevel));
        const pos = tileHashPosition({ level, index });
        if (level % 8 === 0) {
          const { tileLevel, tileIndex, subIndex: offset } = t;
          expect(pos).toEqual({ tileLevel, tileIndex, offset });
        } else {
          expect(pos).toBeUndefined();
        }
      }),
      { numRuns: 2000 }
    );
  });
});
