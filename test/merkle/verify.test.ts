import { readFileSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  MAX_PROOF_HASHES,
  rootFromConsistency,
  rootFromInclusion,
  verifyConsistency,
  verifyInclusion,
} from '../../src/merkle/verify.js';
import { leafHash } from '../../src/merkle/hash.js';
import { isLogError, type ErrorCode } from '../../src/util/errors.js';
import { ReferenceTree } from '../helpers/reference-tree.js';

// The transparency-dev/merkle vectors, kept in the repository with their licence and origin
// (test/vectors/merkle/README.md).
const vectorRoot = fileURLToPath(new URL('../vectors/merkle', import.meta.url));

function jsonFiles(dir: string): string[] {
  // readdirSync throws when the folder is missing: the test then fails instead of skipping.
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) return jsonFiles(path);
      return name.endsWith('.json') ? [path] : [];
    });
}

const b64 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'base64'));

type Vector = { name: string; v: Record<string, unknown> };

function load(kind: 'inclusion' | 'consistency'): Vector[] {
  const dir = join(vectorRoot, kind);
  return jsonFiles(dir).map((path) => ({
    name: relative(dir, path),
    v: JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>,
  }));
}

function code(fn: () => unknown): ErrorCode | 'none' | 'other' {
  try {
    fn();
    return 'none';
  } catch (err) {
    return isLogError(err) ? err.code : 'other';
  }
}

describe('transparency-dev/merkle vectors', () => {
  it('runs every inclusion vector: wantErr cases rejected, all others accepted', () => {
    const cases = load('inclusion');
    expect(cases).toHaveLength(98);
    let rejected = 0;
    for (const { name, v } of cases) {
      const result = code(() =>
        verifyInclusion(
          b64(v.leafHash as string),
          v.leafIdx as number,
          v.treeSize as number,
          (v.proof as string[] | null ?? []).map(b64),
          b64(v.root as string)
        )
      );
      if (v.wantErr === true) {
        expect(['MALFORMED', 'PROOF_FAILED'], name).toContain(result);
        rejected++;
      } else {
        expect(result, name).toBe('none');
      }
    }
    expect(rejected).toBe(92);
  });

  it('runs every consistency vector: wantErr cases rejected, all others accepted', () => {
    const cases = load('consistency');
    expect(cases).toHaveLength(98);
    let rejected = 0;
    for (const { name, v } of cases) {
      const result = code(() =>
        verifyConsistency(
          v.size1 as number,
          v.size2 as number,
          (v.proof as string[] | null ?? []).map(b64),
          b64(v.root1 as string),
          b64(v.root2 as string)
        )
      );
      if (v.wantErr === true) {
        expect(['MALFORMED', 'PROOF_FAILED'], name).toContain(result);
        rejected++;
      } else {
        expect(result, name).toBe('none');
      }
    }
    expect(rejected).toBe(92);
  });

  it('accepts that placeholder case once the roots are real 32-byte hashes', () => {
    const root = leafHash(new Uint8Array(0));
    expect(verifyConsistency(1, 1, [], root, root.slice())).toBe(true);
  });
});

describe('verify strictness (specs §1.4, §1.7)', () => {
  const leaves = Array.from({ length: 8 }, (_, i) => leafHash(Uint8Array.of(i)));
  const ref = ReferenceTree.of(leaves);
  const root = (n: number): Uint8Array => ref.root(n);

  it('rejects hashes that are not 32 bytes as MALFORMED', () => {
    const p = ref.inclusion(2, 5);
    expect(code(() => verifyInclusion(leaves[2]!.subarray(1), 2, 5, p, root(5)))).toBe('MALFORMED');
    expect(code(() => verifyInclusion(leaves[2]!, 2, 5, p, root(5).subarray(1)))).toBe('MALFORMED');
    const long = [...p.slice(0, -1), new Uint8Array(33)];
    expect(code(() => verifyInclusion(leaves[2]!, 2, 5, long, root(5)))).toBe('MALFORMED');
    const c = ref.consistency(3, 7);
    expect(code(() => verifyConsistency(3, 7, c, new Uint8Array(0), root(7)))).toBe('MALFORMED');
    expect(code(() => verifyConsistency(3, 7, c, root(3), new Uint8Array(31)))).toBe('MALFORMED');
  });

  it('rejects sizes and indices that are not safe non-negative integers as MALFORMED', () => {
    for (const bad of [-1, 1.5, NaN, Infinity, 2 ** 53, 2 ** 64]) {
      expect(code(() => verifyInclusion(leaves[0]!, bad, 8, [], root(8)))).toBe('MALFORMED');
      expect(code(() => verifyInclusion(leaves[0]!, 0, bad, [], root(8)))).toBe('MALFORMED');
      expect(code(() => verifyConsistency(bad, 8, [], root(8), root(8)))).toBe('MALFORMED');
      expect(code(() => verifyConsistency(1, bad, [], root(1), root(8)))).toBe('MALFORMED');
    }
  });

  it('rejects an index at or beyond the size, and the empty tree', () => {
    expect(code(() => verifyInclusion(leaves[0]!, 8, 8, ref.inclusion(0, 8), root(8)))).toBe(
      'PROOF_FAILED'
    );
    expect(code(() => verifyInclusion(leaves[0]!, 0, 0, [], root(0)))).toBe('PROOF_FAILED');
  });

  it('accepts a one-leaf tree only with an empty proof and the leaf as root', () => {
    expect(verifyInclusion(leaves[0]!, 0, 1, [], leaves[0]!)).toBe(true);
    expect(code(() => verifyInclusion(leaves[0]!, 0, 1, [leaves[1]!], leaves[0]!))).toBe(
      'PROOF_FAILED'
    );
    expect(rootFromInclusion(leaves[0]!, 0, 1, [])).not.toBe(leaves[0]);
  });

  it('rejects consistency from size 0, even to size 0 with equal roots', () => {
    expect(code(() => verifyConsistency(0, 0, [], root(0), root(0)))).toBe('PROOF_FAILED');
    expect(code(() => verifyConsistency(0, 5, [], root(0), root(5)))).toBe('PROOF_FAILED');
  });

  it('rejects size1 > size2', () => {
    expect(code(() => verifyConsistency(6, 5, [], root(6), root(5)))).toBe('PROOF_FAILED');
  });

  it('needs an empty proof and identical roots when the sizes are equal', () => {
    expect(verifyConsistency(5, 5, [], root(5), root(5))).toBe(true);
    expect(code(() => verifyConsistency(5, 5, [], root(5), root(6)))).toBe('PROOF_FAILED');
    expect(code(() => verifyConsistency(5, 5, [root(5)], root(5), root(5)))).toBe('PROOF_FAILED');
  });

  it('rejects an empty proof between different sizes', () => {
    expect(code(() => verifyConsistency(4, 8, [], root(4), root(8)))).toBe('PROOF_FAILED');
  });

  it('rejects proofs of more than 63 hashes before anything else', () => {
    const many = Array.from({ length: MAX_PROOF_HASHES + 1 }, () => leaves[0]!);
    expect(code(() => verifyInclusion(leaves[0]!, 0, 8, many, root(8)))).toBe('PROOF_FAILED');
    expect(code(() => verifyConsistency(3, 8, many, root(3), root(8)))).toBe('PROOF_FAILED');
  });

  it('computes the new root from a consistency proof and checks the old one', () => {
    expect(rootFromConsistency(3, 7, ref.consistency(3, 7), root(3))).toEqual(root(7));
    expect(rootFromConsistency(4, 7, ref.consistency(4, 7), root(4))).toEqual(root(7));
    expect(code(() => rootFromConsistency(3, 7, ref.consistency(3, 7), root(2)))).toBe(
      'PROOF_FAILED'
    );
  });

  it('rejects a swapped pair of proof hashes', () => {
    const p = ref.inclusion(5, 8);
    const swapped = [p[1]!, p[0]!, p[2]!];
    expect(code(() => verifyInclusion(leaves[5]!, 5, 8, swapped, root(8)))).toBe('PROOF_FAILED');
  });
});
