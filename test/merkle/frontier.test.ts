import { describe, expect, it } from 'vitest';
import { Frontier, rangeNodes, type NodeId } from '../../src/merkle/tree.js';
import { EMPTY_ROOT, leafHash } from '../../src/merkle/hash.js';
import { isLogError } from '../../src/util/errors.js';
import { utf8 } from '../../src/util/bytes.js';
import { ReferenceTree, SparseTree } from '../helpers/reference-tree.js';

const N = 300;
const leaves = Array.from({ length: N }, (_, i) => leafHash(utf8(`leaf ${i}`)));
const ref = ReferenceTree.of(leaves);

/** Go's tlog.StoredHashes rule: leaf n stores (0, n), then one parent per trailing 1 bit of n. */
function storedHashIds(n: number): NodeId[] {
  const ids: NodeId[] = [{ level: 0, index: n }];
  for (let level = 0, k = n; (k & 1) === 1; level++) {
    k >>= 1;
    ids.push({ level: level + 1, index: k });
  }
  return ids;
}

function malformed(fn: () => unknown): boolean {
  try {
    fn();
    return false;
  } catch (err) {
    return isLogError(err, 'MALFORMED');
  }
}

describe('Frontier', () => {
  it('has the reference root after each of 300 appends, EMPTY_ROOT when empty', () => {
    const f = new Frontier();
    expect(f.size).toBe(0);
    expect(f.root()).toEqual(EMPTY_ROOT);
    for (let n = 1; n <= N; n++) {
      f.append(leaves[n - 1]!);
      expect(f.size).toBe(n);
      expect(f.root(), `size ${n}`).toEqual(ref.root(n));
    }
  });

  it('reports exactly the stored hashes of the StoredHashes rule, with their hashes', () => {
    const f = new Frontier();
    const seen = new Set<string>();
    for (let n = 0; n < N; n++) {
      const got: NodeId[] = [];
      f.append(leaves[n]!, (id, hash) => {
        got.push(id);
        expect(hash, `${id.level}/${id.index}`).toEqual(ref.node(id.level, id.index));
        seen.add(`${id.level}/${id.index}`);
      });
      expect(got, `leaf ${n}`).toEqual(storedHashIds(n));
    }
    // Over the whole run: every perfect subtree of the 300-leaf tree, each exactly once.
    let perfect = 0;
    for (let level = 0; 2 ** level <= N; level++) perfect += Math.floor(N / 2 ** level);
    expect(seen.size).toBe(perfect);
  });

  it('restores from the edge hashes of rangeNodes(0, size) and keeps appending', () => {
    for (const size of [0, 1, 2, 3, 7, 8, 100, 255, 256, 257]) {
      const edge = rangeNodes(0, size).map((id) => ref.node(id.level, id.index));
      const f = new Frontier(size, edge);
      expect(f.root()).toEqual(ref.root(size));
      expect(f.nodes()).toEqual(rangeNodes(0, size).map((id, i) => ({ id, hash: edge[i] })));
      for (let n = size; n < size + 20; n++) f.append(leaves[n]!);
      expect(f.root()).toEqual(ref.root(size + 20));
    }
  });

  it('rejects a wrong number of edge hashes, short hashes and bad sizes', () => {
    const h = leaves[0]!;
    expect(malformed(() => new Frontier(3, [h]))).toBe(true);
    expect(malformed(() => new Frontier(0, [h]))).toBe(true);
    expect(malformed(() => new Frontier(1, [h.subarray(1)]))).toBe(true);
    expect(malformed(() => new Frontier(-1))).toBe(true);
    expect(malformed(() => new Frontier(1.5))).toBe(true);
    expect(malformed(() => new Frontier().append(new Uint8Array(31)))).toBe(true);
  });

  it('clones are independent of each other', () => {
    const a = new Frontier();
    for (let n = 0; n < 11; n++) a.append(leaves[n]!);
    const b = a.clone();
    b.append(leaves[11]!);
    expect(a.size).toBe(11);
    expect(a.root()).toEqual(ref.root(11));
    expect(b.root()).toEqual(ref.root(12));
    a.append(leaves[11]!);
    a.append(leaves[12]!);
    expect(b.size).toBe(12);
    expect(b.root()).toEqual(ref.root(12));
    expect(a.root()).toEqual(ref.root(13));
  });

  it('is unchanged when onNode throws', () => {
    const f = new Frontier();
    for (let n = 0; n < 7; n++) f.append(leaves[n]!);
    expect(() =>
      f.append(leaves[7]!, (id) => {
        if (id.level === 2) throw new Error('store full');
      })
    ).toThrow('store full');
    expect(f.size).toBe(7);
    expect(f.root()).toEqual(ref.root(7));
    f.append(leaves[7]!);
    expect(f.root()).toEqual(ref.root(8));
  });

  it('does not share arrays with callers', () => {
    const leaf = Buffer.from(leaves[0]!); // Buffer#slice would be a view: must still copy
    const f = new Frontier();
    f.append(leaf);
    leaf.fill(0);
    f.root().fill(0);
    f.nodes()[0]!.hash.fill(0);
    expect(f.root()).toEqual(ref.root(1));
    const edge = [ref.root(1).slice()];
    const g = new Frontier(1, edge);
    edge[0]!.fill(0);
    expect(g.root()).toEqual(ref.root(1));
  });

  it('is exact up to 2^53 - 1 leaves and refuses to go beyond', () => {
    const last = leafHash(utf8('last'));
    const tree = new SparseTree(new Map([[2 ** 53 - 2, last]]));
    const size = 2 ** 53 - 2;
    const edge = rangeNodes(0, size).map((id) => tree.getNode(id));
    expect(edge).toHaveLength(52);
    const f = new Frontier(size, edge);
    expect(f.root()).toEqual(tree.root(size));
    const got: NodeId[] = [];
    f.append(last, (id) => got.push(id));
    expect(got).toEqual([{ level: 0, index: 2 ** 53 - 2 }]);
    expect(f.size).toBe(2 ** 53 - 1);
    expect(f.root()).toEqual(tree.root(2 ** 53 - 1));
    expect(malformed(() => f.append(last))).toBe(true);
  });

  it('reports parents past 2^32 with exact indices', () => {
    const size = 2 ** 40 - 1; // all ones: the next append completes 40 parents
    const tree = new SparseTree(new Map([[size, leafHash(utf8('x'))]]));
    const f = new Frontier(size, rangeNodes(0, size).map((id) => tree.getNode(id)));
    const got: NodeId[] = [];
    f.append(tree.node(0, size), (id, hash) => {
      got.push(id);
      expect(hash).toEqual(tree.node(id.level, id.index));
    });
    expect(got).toHaveLength(41);
    expect(got[1]).toEqual({ level: 1, index: 2 ** 39 - 1 });
    expect(got[40]).toEqual({ level: 40, index: 0 });
    expect(f.root()).toEqual(tree.root(2 ** 40));
  });

  it('appendLeaves reports the same nodes in the same order as append, in batches of any size', () => {
    for (const batch of [1, 2, 3, 7, 64, 300]) {
      const one = new Frontier();
      const many = new Frontier();
      const seenOne: string[] = [];
      const seenMany: string[] = [];
      for (let start = 0; start < N; start += batch) {
        const part = leaves.slice(start, start + batch);
        for (const h of part) one.append(h, (id, hash) => seenOne.push(`${id.level}/${id.index}/${Buffer.from(hash).toString('hex')}`));
        many.appendLeaves(part, (level, index, hash) => seenMany.push(`${level}/${index}/${Buffer.from(hash).toString('hex')}`));
        expect(many.size).toBe(one.size);
        expect(many.root()).toEqual(ref.root(many.size));
      }
      expect(seenMany).toEqual(seenOne);
      expect(seenMany.length).toBe(Array.from({ length: N }, (_, n) => storedHashIds(n).length).reduce((a, b) => a + b, 0));
    }
    expect(malformed(() => new Frontier().appendLeaves([new Uint8Array(31)], () => {}))).toBe(true);
  });
});
