import { describe, expect, it } from 'vitest';
import {
  consistencyPlan,
  foldRange,
  inclusionPlan,
  proveConsistency,
  proveConsistencyAsync,
  proveInclusion,
  proveInclusionAsync,
  rangeNodes,
  treeRoot,
  treeRootAsync,
  type GetNode,
  type NodeId,
} from '../../src/merkle/tree.js';
import { verifyConsistency, verifyInclusion } from '../../src/merkle/verify.js';
import { EMPTY_ROOT, leafHash } from '../../src/merkle/hash.js';
import { equalBytes, fromHex, toHex, utf8 } from '../../src/util/bytes.js';
import { isLogError } from '../../src/util/errors.js';
import { ReferenceTree, SparseTree, refNodeHash } from '../helpers/reference-tree.js';

const N = 300;
const leaves = Array.from({ length: N }, (_, i) => leafHash(Uint8Array.of(i & 255, i >> 8)));
const ref = ReferenceTree.of(leaves);

/** Node lookup for the tree of `size` that fails on any node outside that tree. */
function nodesOf(size: number): GetNode {
  return (id) => {
    if ((id.index + 1) * 2 ** id.level > size) {
      throw new Error(`node ${id.level}/${id.index} is outside the tree of size ${size}`);
    }
    return ref.node(id.level, id.index);
  };
}

function sameProof(a: readonly Uint8Array[], b: readonly Uint8Array[]): boolean {
  return a.length === b.length && a.every((h, i) => equalBytes(h, b[i]!));
}

function rejects(fn: () => unknown, code = 'PROOF_FAILED'): boolean {
  try {
    fn();
    return false;
  } catch (err) {
    return isLogError(err) && err.code === code;
  }
}

/** Records `label` in `bad` unless `fn` throws PROOF_FAILED. */
function rejectInto(bad: string[]): (label: string, fn: () => unknown) => void {
  return (label, fn) => {
    if (!rejects(fn)) bad.push(label);
  };
}

describe('tree vs the reference RFC 6962 recursion, sizes 1..300', () => {
  it('treeRoot agrees for every size, and is EMPTY_ROOT for 0', () => {
    expect(treeRoot(0, nodesOf(0))).toEqual(EMPTY_ROOT);
    const bad: number[] = [];
    for (let n = 1; n <= N; n++) if (!equalBytes(treeRoot(n, nodesOf(n)), ref.root(n))) bad.push(n);
    expect(bad).toEqual([]);
  });

  it('proveInclusion agrees for every (index, size) and the proof verifies', () => {
    const bad: string[] = [];
    const reject = rejectInto(bad);
    for (let n = 1; n <= N; n++) {
      const root = ref.root(n);
      for (let i = 0; i < n; i++) {
        const proof = proveInclusion(i, n, nodesOf(n));
        if (!sameProof(proof, ref.inclusion(i, n))) bad.push(`${i}/${n}`);
        verifyInclusion(leaves[i]!, i, n, proof, root);
        // A hash more or less, at either end, is rejected before any hashing.
        const leaf = leaves[i]!;
        reject(`+${i}/${n}`, () => verifyInclusion(leaf, i, n, [...proof, root], root));
        reject(`<${i}/${n}`, () => verifyInclusion(leaf, i, n, [root, ...proof], root));
        if (proof.length > 0) {
          reject(`-${i}/${n}`, () => verifyInclusion(leaf, i, n, proof.slice(1), root));
          reject(`>${i}/${n}`, () => verifyInclusion(leaf, i, n, proof.slice(0, -1), root));
        }
      }
    }
    expect(bad).toEqual([]);
  });

  it('proveConsistency agrees for every (old, new) and the proof verifies', () => {
    const bad: string[] = [];
    const reject = rejectInto(bad);
    for (let n = 1; n <= N; n++) {
      const root = ref.root(n);
      for (let m = 1; m <= n; m++) {
        const proof = proveConsistency(m, n, nodesOf(n));
        if (!sameProof(proof, ref.consistency(m, n))) bad.push(`${m}/${n}`);
        verifyConsistency(m, n, proof, ref.root(m), root);
        const old = ref.root(m);
        reject(`+${m}/${n}`, () => verifyConsistency(m, n, [...proof, root], old, root));
        if (proof.length > 0) {
          reject(`-${m}/${n}`, () => verifyConsistency(m, n, proof.slice(1), old, root));
          reject(`>${m}/${n}`, () => verifyConsistency(m, n, proof.slice(0, -1), old, root));
        }
      }
    }
    expect(bad).toEqual([]);
  });
});

describe('RFC 6962 §2.1.3 example tree (7 leaves)', () => {
  const [a, b, c, d, e, f, j] = leaves.slice(0, 7) as [
    Uint8Array, Uint8Array, Uint8Array, Uint8Array, Uint8Array, Uint8Array, Uint8Array,
  ];
  const g = refNodeHash(a, b);
  const h = refNodeHash(c, d);
  const i = refNodeHash(e, f);
  const k = refNodeHash(g, h);
  const l = refNodeHash(i, j);
  const get = nodesOf(7);

  it('has the inclusion proofs of the RFC', () => {
    expect(proveInclusion(0, 7, get)).toEqual([b, h, l]);
    expect(proveInclusion(3, 7, get)).toEqual([c, g, l]);
    expect(proveInclusion(4, 7, get)).toEqual([f, j, k]);
    expect(proveInclusion(6, 7, get)).toEqual([i, k]);
  });

  it('has the consistency proofs of the RFC', () => {
    expect(proveConsistency(3, 7, get)).toEqual([c, d, g, l]);
    expect(proveConsistency(4, 7, get)).toEqual([l]);
    expect(proveConsistency(6, 7, get)).toEqual([i, j, k]);
  });
});

describe('specs §8.1 happy paths, byte for byte', () => {
  const data = [
    '', '00', '10', '2021', '3031', '40414243', '5051525354555657',
    '606162636465666768696a6b6c6d6e6f',
  ];
  const ref8 = ReferenceTree.of(data.map((x) => leafHash(fromHex(x))));
  const get: GetNode = (id) => ref8.node(id.level, id.index);
  const b64 = (p: Uint8Array[]): string[] => p.map((x) => Buffer.from(x).toString('base64'));
  const roots = [
    'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
    'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
    'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
    'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
    '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
    'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
    '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
  ];
  const P0 = 'lqKW0iTyhcZ77pPDD4owkVfw2qNdxbh+QQt4YwoJz8c=';
  const P1 = 'Xwg/ChozygdqlSeYMlgNs+DvRYS9/x9UyKNg9Q3jAx4=';
  const P2 = 'a0eq8p7jwq+a+Im8H7klTavTEXfxYjLdaqsDXKOb9uQ=';
  const L4 = 'vBoGQ7EuTS18d5GPROD095qDi2z57FtcKD4fTYhZnms=';
  const N67 = 'yoVOoSjtBQtBs1/8G4e46yveRh6eO1WW7Oa51ZdaCuA=';
  const N03 = '037kGJdt2VdTwcc4Yrk5j6Kiz5tP8P3+izDNlSCWFLc=';
  const N45 = 'DrxdNDf74tsVi58Sah0RjjCBgQMdCpSfje3t68VY72o=';

  it('has the roots of sizes 0..8', () => {
    for (let n = 0; n <= 8; n++) expect(toHex(treeRoot(n, get))).toBe(roots[n]);
  });

  it('has the inclusion proofs', () => {
    expect(b64(proveInclusion(0, 8, get))).toEqual([P0, P1, P2]);
    expect(b64(proveInclusion(5, 8, get))).toEqual([L4, N67, N03]);
    const N01 = '+sVCA+fMaWzw38tCySodnbr3CtnmIfS9jZhmLwDjwSU=';
    const L0 = 'bjQLnP+zepicpUTmu3gKLHiQHT+zNzh2hRGjBhevoB0=';
    expect(b64(proveInclusion(2, 3, get))).toEqual([N01]);
    expect(b64(proveInclusion(1, 5, get))).toEqual([L0, P1, L4]);
  });

  it('has the consistency proofs', () => {
    expect(b64(proveConsistency(1, 8, get))).toEqual([P0, P1, P2]);
    expect(b64(proveConsistency(6, 8, get))).toEqual([N45, N67, N03]);
    expect(b64(proveConsistency(2, 5, get))).toEqual([P1, L4]);
    const L6 = 'sIaT7C5yFZcTBkHoIR5+7cy0wmQTlj7ubB4u0W/7Gl8=';
    expect(b64(proveConsistency(6, 7, get))).toEqual([N45, L6, N03]);
  });
});

describe('plans and argument checks', () => {
  it('rangeNodes splits ranges into maximal aligned subtrees', () => {
    expect(rangeNodes(0, 0)).toEqual([]);
    const ids = (...pairs: Array<[number, number]>): NodeId[] =>
      pairs.map(([level, index]) => ({ level, index }));
    expect(rangeNodes(0, 7)).toEqual(ids([2, 0], [1, 2], [0, 6]));
    expect(rangeNodes(3, 13)).toEqual(ids([0, 3], [2, 1], [2, 2], [0, 12]));
    expect(rangeNodes(2 ** 52, 2 ** 53 - 1)).toHaveLength(52);
  });

  it('plans the proof ranges in proof order', () => {
    expect(inclusionPlan(5, 8)).toEqual([[4, 5], [6, 8], [0, 4]]);
    expect(inclusionPlan(0, 1)).toEqual([]);
    expect(consistencyPlan(6, 8)).toEqual([[4, 6], [6, 8], [0, 4]]);
    expect(consistencyPlan(4, 7)).toEqual([[4, 7]]);
    expect(consistencyPlan(5, 5)).toEqual([]);
  });

  it('rejects out-of-range requests with MALFORMED', () => {
    const get = nodesOf(8);
    for (const [i, n] of [[8, 8], [0, 0], [-1, 8], [1.5, 8], [0, 2 ** 53], [NaN, 3]] as const) {
      expect(rejects(() => proveInclusion(i, n, get), 'MALFORMED'), `${i}/${n}`).toBe(true);
    }
    for (const [m, n] of [[0, 5], [6, 5], [0, 0], [-1, 3], [1, 2.5]] as const) {
      expect(rejects(() => proveConsistency(m, n, get), 'MALFORMED'), `${m}/${n}`).toBe(true);
    }
    expect(rejects(() => treeRoot(-1, get), 'MALFORMED')).toBe(true);
    expect(rejects(() => rangeNodes(5, 3), 'MALFORMED')).toBe(true);
    expect(proveConsistency(5, 5, get)).toEqual([]);
    expect(() => foldRange([])).toThrow(/internal error/);
  });
});

describe('async provers', () => {
  const reader = (size: number, log: NodeId[][]) => ({
    readNodes: async (ids: readonly NodeId[]) => {
      log.push([...ids]);
      return ids.map(nodesOf(size));
    },
  });

  it('read every node in exactly one call and agree with the sync provers', async () => {
    const cases = [[0, 1, 1], [5, 3, 8], [6, 6, 7], [100, 77, 300], [299, 256, 300]] as const;
    for (const [i, m, n] of cases) {
      const get = nodesOf(n);
      const calls = async <T>(fn: (r: ReturnType<typeof reader>) => Promise<T>): Promise<T> => {
        const log: NodeId[][] = [];
        const out = await fn(reader(n, log));
        expect(log, `${i} ${m} ${n}`).toHaveLength(1);
        return out;
      };
      if (n > 1) {
        const inclusion = await calls((r) => proveInclusionAsync(i, n, r));
        expect(inclusion).toEqual(proveInclusion(i, n, get));
      }
      if (m < n) {
        const consistency = await calls((r) => proveConsistencyAsync(m, n, r));
        expect(consistency).toEqual(proveConsistency(m, n, get));
      }
      expect(await calls((r) => treeRootAsync(n, r))).toEqual(ref.root(n));
    }
    const log: NodeId[][] = [];
    expect(await treeRootAsync(0, reader(0, log))).toEqual(EMPTY_ROOT);
    expect(await proveConsistencyAsync(4, 4, reader(4, log))).toEqual([]);
    expect(await proveInclusionAsync(0, 1, reader(1, log))).toEqual([]);
    expect(log).toEqual([]); // nothing to read, no call
  });

  it('treat a reader that returns the wrong count or a short hash as a bug', async () => {
    const short = { readNodes: async (ids: readonly NodeId[]) => ids.slice(1).map(nodesOf(8)) };
    await expect(proveInclusionAsync(3, 8, short)).rejects.toThrow(/internal error/);
    const bad = { readNodes: async (ids: readonly NodeId[]) => ids.map(() => new Uint8Array(31)) };
    await expect(treeRootAsync(7, bad)).rejects.toThrow(/internal error/);
  });

  it('reject bad arguments before reading anything', async () => {
    const log: NodeId[][] = [];
    const malformed = { code: 'MALFORMED' };
    await expect(proveInclusionAsync(9, 8, reader(8, log))).rejects.toMatchObject(malformed);
    await expect(proveConsistencyAsync(0, 8, reader(8, log))).rejects.toMatchObject(malformed);
    expect(log).toEqual([]);
  });
});

describe('index math is exact past 2^32 (sparse trees up to 2^53 - 1)', () => {
  const idx = 2 ** 40 + 12345;
  const size = 2 ** 41 + 7;
  const special = [idx, idx - 1, 2 ** 41 + 3, 2 ** 32 + 1, 2 ** 52 + 17, 2 ** 53 - 2, 5, 12345];
  const tree = new SparseTree(new Map(special.map((i) => [i, leafHash(utf8(`special ${i}`))])));
  const leaf = (i: number): Uint8Array => tree.node(0, i);
  const within = (n: number): GetNode => (id) => {
    if ((id.index + 1) * 2 ** id.level > n) throw new Error(`node ${id.level}/${id.index} > ${n}`);
    return tree.getNode(id);
  };

  it('plans the exact inclusion ranges for 2^40+12345 in 2^41+7', () => {
    const plan = inclusionPlan(idx, size);
    expect(plan).toHaveLength(42);
    expect(plan[0]).toEqual([idx - 1, idx]);
    expect(plan[1]).toEqual([idx + 1, idx + 3]);
    expect(plan[40]).toEqual([0, 2 ** 40]);
    expect(plan[41]).toEqual([2 ** 41, size]);
    // The proof ranges and the leaf itself tile [0, size) exactly.
    const pieces = [...plan, [idx, idx + 1]].sort((a, b) => a[0]! - b[0]!);
    let at = 0;
    for (const [lo, hi] of pieces) {
      expect(lo).toBe(at);
      at = hi!;
    }
    expect(at).toBe(size);
  });

  it('proves then verifies inclusion at 2^40+12345 in 2^41+7, matching the reference', () => {
    const proof = proveInclusion(idx, size, within(size));
    expect(sameProof(proof, tree.inclusion(idx, size))).toBe(true);
    const root = treeRoot(size, within(size));
    expect(root).toEqual(tree.root(size));
    expect(verifyInclusion(leaf(idx), idx, size, proof, root)).toBe(true);
    // Indices that agree with idx in their low 32 bits, or differ by one, are rejected.
    for (const wrong of [12345, idx - 1, idx + 1, idx - 2 ** 32, idx + 2 ** 32, idx + 2 ** 40]) {
      const ok = rejects(() => verifyInclusion(leaf(idx), wrong, size, proof, root));
      expect(ok, `index ${wrong}`).toBe(true);
    }
    // So are sizes that change the proof's shape, including size mod 2^32 (= 7). (A size
    // with the same shape, e.g. size + 2^33, gives the same root: proofs commit to the size
    // only through the signed checkpoint.)
    for (const wrong of [7, 2 ** 41 - 5, 2 ** 42 + 7]) {
      const ok = rejects(() => verifyInclusion(leaf(idx), idx, wrong, proof, root));
      expect(ok, `size ${wrong}`).toBe(true);
    }
  });

  it('proves then verifies inclusion near 2^52 and 2^53 - 1', () => {
    const cases = [
      [2 ** 52 + 17, 2 ** 52 + 18], [2 ** 52 + 17, 2 ** 53 - 1], [2 ** 53 - 2, 2 ** 53 - 1],
      [5, 2 ** 53 - 1], [2 ** 32 + 1, 2 ** 52 + 3],
    ];
    for (const [i, n] of cases) {
      const proof = proveInclusion(i!, n!, within(n!));
      expect(sameProof(proof, tree.inclusion(i!, n!)), `${i}/${n}`).toBe(true);
      expect(verifyInclusion(leaf(i!), i!, n!, proof, tree.root(n!))).toBe(true);
    }
  });

  it('proves then verifies consistency across 2^32, 2^41 and 2^52', () => {
    const pairs = [
      [idx + 1, size], [2 ** 40, size], [2 ** 32 - 1, size], [2 ** 32 + 2, 2 ** 32 + 3],
      [6, 2 ** 52 + 20], [2 ** 52 + 18, 2 ** 53 - 1], [2 ** 41 + 4, 2 ** 52],
      [12346, 2 ** 40 + 12346],
    ];
    for (const [m, n] of pairs) {
      const proof = proveConsistency(m!, n!, within(n!));
      expect(sameProof(proof, tree.consistency(m!, n!)), `${m}->${n}`).toBe(true);
      expect(verifyConsistency(m!, n!, proof, tree.root(m!), tree.root(n!))).toBe(true);
      if (m! > 2 ** 32) {
        const low = m! - 2 ** 32;
        const [oldRoot, newRoot] = [tree.root(m!), tree.root(n!)];
        expect(rejects(() => verifyConsistency(low, n!, proof, oldRoot, newRoot))).toBe(true);
      }
    }
  });
});
