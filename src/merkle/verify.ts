/**
 * Checking RFC 6962 proofs: inclusion (RFC 9162 §2.1.3.2) and consistency (RFC 9162
 * §2.1.4.2), with the strictness of specs.md §1.4 and §1.7:
 * - every hash (leaf, roots, proof) is exactly 32 bytes, every size a safe integer;
 * - the exact proof length is checked before any hashing, and never exceeds 63 hashes;
 * - a consistency proof from size 0 is an error; size1 == size2 needs an empty proof and
 *   equal roots; size1 > size2 is rejected.
 *
 * Instead of the RFC's shifting loop, the path is split in two parts, which gives the
 * exact length up front. For leaf `index` in a tree of `size`, the leaf's path and the
 * path of the last leaf (size - 1) share their ancestors above level
 * inner = bitLength(index XOR (size - 1)). Below that, the `inner` proof hashes are
 * siblings on either side, chosen by the bits of `index`. Above it the leaf is on the
 * tree's right edge, where only left siblings exist: border = popcount(index >> inner)
 * of them, each hashed in from the left.
 */
import { HASH_SIZE, nodeHash } from './hash.js';
import { equalBytes } from '../util/bytes.js';
import { LogError } from '../util/errors.js';
import { bitLength, onesCount, pow2, shiftRight, trailingZeros, xor } from '../util/integers.js';

/** The most hashes any proof may hold: tree sizes are at most 64-bit (tlog-witness says 63). */
export const MAX_PROOF_HASHES = 63;

function checkHash(h: Uint8Array, what: string): void {
  if (h.length !== HASH_SIZE) {
    throw new LogError('MALFORMED', `${what} must be ${HASH_SIZE} bytes, got ${h.length}`);
  }
}

function checkCount(n: number, what: string): void {
  if (!Number.isSafeInteger(n) || n < 0) {
    const got = String(n);
    throw new LogError('MALFORMED', `${what} must be a non-negative safe integer, got ${got}`);
  }
}

function checkProof(proof: readonly Uint8Array[]): void {
  // The count first: an oversized proof is rejected without looking at its hashes.
  if (proof.length > MAX_PROOF_HASHES) {
    throw new LogError('PROOF_FAILED', `proof has ${proof.length} hashes, more than 63`);
  }
  proof.forEach((h, i) => checkHash(h, `proof hash ${i}`));
}

function fail(message: string): never {
  throw new LogError('PROOF_FAILED', message);
}

// Splits the inclusion path of `index` in a tree of `size` (index < size) as described above.
function decompose(index: number, size: number): { inner: number; border: number } {
  const inner = bitLength(xor(index, size - 1));
  return { inner, border: onesCount(shiftRight(index, inner)) };
}

// Hashes `seed` up through `proof`, with the bits of `index` (lowest first) saying on
// which side the path is: 0 = left child (sibling on the right), 1 = right child.
function chainInner(seed: Uint8Array, proof: readonly Uint8Array[], index: number): Uint8Array {
  let h = seed;
  for (const p of proof) {
    h = index % 2 === 0 ? nodeHash(h, p) : nodeHash(p, h);
    index = Math.floor(index / 2);
  }
  return h;
}

// Like chainInner, but only uses the siblings on the left: the root of the tree that ends
// at the path's leaf (the old tree, in a consistency proof).
function chainInnerRight(
  seed: Uint8Array,
  proof: readonly Uint8Array[],
  index: number
): Uint8Array {
  let h = seed;
  for (const p of proof) {
    if (index % 2 === 1) h = nodeHash(p, h);
    index = Math.floor(index / 2);
  }
  return h;
}

// The right-edge part of a path: every sibling is on the left.
function chainBorderRight(seed: Uint8Array, proof: readonly Uint8Array[]): Uint8Array {
  let h = seed;
  for (const p of proof) h = nodeHash(p, h);
  return h;
}

/**
 * Computes the root that an inclusion proof of `leafHash` at `index` in a tree of `size`
 * leads to (RFC 9162 §2.1.3.2 without the final comparison).
 * @throws LogError MALFORMED for a hash that is not 32 bytes or a size or index that is not
 *   a safe non-negative integer; PROOF_FAILED when index ≥ size or the proof length is wrong.
 */
export function rootFromInclusion(
  leafHash: Uint8Array,
  index: number,
  size: number,
  proof: readonly Uint8Array[]
): Uint8Array {
  checkHash(leafHash, 'leaf hash');
  checkCount(index, 'leaf index');
  checkCount(size, 'tree size');
  checkProof(proof);
  if (index >= size) fail(`leaf index ${index} is not below tree size ${size}`);
  const { inner, border } = decompose(index, size);
  if (proof.length !== inner + border) {
    fail(`inclusion proof has ${proof.length} hashes, want ${inner + border}`);
  }
  if (proof.length === 0) return new Uint8Array(leafHash); // one leaf: the root is the leaf
  const h = chainInner(leafHash, proof.slice(0, inner), index);
  return chainBorderRight(h, proof.slice(inner));
}

/**
 * Checks that `leafHash` is the leaf at `index` in the tree of `size` with root `rootHash`.
 * @returns true (it never returns false: every failure throws).
 * @throws LogError MALFORMED for badly sized hashes or numbers; PROOF_FAILED when the proof
 *   does not lead to `rootHash`.
 */
export function verifyInclusion(
  leafHash: Uint8Array,
  index: number,
  size: number,
  proof: readonly Uint8Array[],
  rootHash: Uint8Array
): true {
  checkHash(rootHash, 'root hash');
  const got = rootFromInclusion(leafHash, index, size, proof);
  if (!equalBytes(got, rootHash)) fail('inclusion proof does not lead to the root hash');
  return true;
}

/**
 * Computes the root of the tree of `size2` from a consistency proof and the root `root1` of
 * the tree of `size1`, after checking that the proof also reproduces `root1`
 * (RFC 9162 §2.1.4.2 without the comparison with the second root).
 * @throws LogError MALFORMED for badly sized hashes or numbers; PROOF_FAILED when
 *   size1 == 0, size1 > size2, the proof length is wrong or it does not lead to `root1`.
 */
export function rootFromConsistency(
  size1: number,
  size2: number,
  proof: readonly Uint8Array[],
  root1: Uint8Array
): Uint8Array {
  checkCount(size1, 'old tree size');
  checkCount(size2, 'new tree size');
  checkHash(root1, 'old root hash');
  checkProof(proof);
  if (size1 === 0) fail('a consistency proof from the empty tree is not defined');
  if (size1 > size2) fail(`old tree size ${size1} exceeds new tree size ${size2}`);
  if (size1 === size2) {
    if (proof.length !== 0) fail('consistency proof between equal sizes must be empty');
    return new Uint8Array(root1);
  }
  // The proof is the inclusion path of the old tree's last leaf (size1 - 1) in the new
  // tree, starting not at that leaf but at level `shift`: the largest perfect subtree that
  // ends the old tree. Its root is proof[0], or root1 itself when the old tree is perfect.
  const { inner: fullInner, border } = decompose(size1 - 1, size2);
  const shift = trailingZeros(size1);
  const inner = fullInner - shift; // > 0, because size1 < size2
  const perfect = size1 === pow2(shift);
  const start = perfect ? 0 : 1;
  if (proof.length !== start + inner + border) {
    fail(`consistency proof has ${proof.length} hashes, want ${start + inner + border}`);
  }
  const seed = perfect ? root1 : proof[0]!;
  const path = proof.slice(start);
  const mask = shiftRight(size1 - 1, shift);
  const [innerPath, borderPath] = [path.slice(0, inner), path.slice(inner)];
  const old = chainBorderRight(chainInnerRight(seed, innerPath, mask), borderPath);
  if (!equalBytes(old, root1)) fail('consistency proof does not lead to the old root hash');
  return chainBorderRight(chainInner(seed, innerPath, mask), borderPath);
}

/**
 * Checks that the tree of `size2` with root `root2` extends the tree of `size1` with root
 * `root1`, using an RFC 6962 consistency proof.
 * @returns true (it never returns false: every failure throws).
 * @throws LogError MALFORMED for badly sized hashes or numbers; PROOF_FAILED on any
 *   failure (including size1 == 0 and size1 > size2).
 */
export function verifyConsistency(
  size1: number,
  size2: number,
  proof: readonly Uint8Array[],
  root1: Uint8Array,
  root2: Uint8Array
): true {
  if (size1 === size2 && size1 > 0 && proof.length === 0 && Number.isSafeInteger(size1)) {
    // Equal sizes: nothing to prove, the roots must simply be the same bytes. Like
    // transparency-dev/merkle, this compares the roots as given (the shared vector
    // "sizes are equal (one) and proof is empty" uses placeholder roots).
    if (!equalBytes(root1, root2)) fail('roots differ for the same tree size');
    return true;
  }
  checkHash(root2, 'new root hash');
  const got = rootFromConsistency(size1, size2, proof, root1);
  if (!equalBytes(got, root2)) fail('consistency proof does not lead to the new root hash');
  return true;
}
