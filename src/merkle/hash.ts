/**
 * RFC 6962 §2.1 Merkle tree hashing (unchanged in RFC 9162 §2.1.1), with SHA-256:
 *
 *   MTH({})        = SHA-256()                         (EMPTY_ROOT)
 *   leaf hash      = SHA-256(0x00 ‖ leaf bytes)         (leafHash)
 *   interior node  = SHA-256(0x01 ‖ left ‖ right)       (nodeHash)
 *
 * This module runs unchanged in browsers (the offline client uses it), so it imports no
 * `node:` module: the default SHA-256 is candor's own pure one (sha256.ts: about 40% faster
 * than a @noble/hashes one-shot on a 65-byte node, as it keeps no hasher object per call).
 * A server may plug in a faster implementation (node:crypto) once at start-up with
 * `useSha256`.
 */
import { sha256 as jsSha256 } from './sha256.js';

/** Size in bytes of every hash in the tree: SHA-256 digests are 32 bytes. */
export const HASH_SIZE = 32;

/** A one-shot SHA-256: returns a fresh 32-byte array and never keeps a reference to `data`. */
export type Sha256Fn = (data: Uint8Array) => Uint8Array;

let sha256: Sha256Fn = jsSha256;

/**
 * Replaces the SHA-256 implementation used by every hash in candor's Merkle code, for
 * example with one built on node:crypto (a Buffer result is copied into a plain
 * Uint8Array). Call it once at start-up, before hashing anything.
 * Precondition: `fn` is a correct SHA-256 that returns a new 32-byte array on each call
 * (nodeHash passes it a reused scratch buffer, so it must not keep `data` either).
 * @throws TypeError when `fn` does not hash "abc" to the SHA-256 test vector.
 */
export function useSha256(fn: Sha256Fn): void {
  // FIPS 180-2 appendix B.1 test vector: a wrong plug-in would silently fork the log.
  const abc = fn(new Uint8Array([0x61, 0x62, 0x63]));
  const want = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad';
  let hex = '';
  for (const b of abc) hex += b.toString(16).padStart(2, '0');
  if (hex !== want) throw new TypeError('useSha256: the function is not SHA-256');
  // Hashes are plain Uint8Arrays everywhere: a Node Buffer (from node:crypto) would give
  // `.slice()` view semantics and compare unequal to Uint8Arrays in deep-equality checks.
  sha256 = (data) => {
    const out = fn(data);
    return Object.getPrototypeOf(out) === Uint8Array.prototype ? out : new Uint8Array(out);
  };
}

/** SHA-256 of "": the root of the empty tree, MTH({}) (RFC 6962 §2.1). Do not mutate. */
export const EMPTY_ROOT: Uint8Array = jsSha256(new Uint8Array(0));

// Leaf data up to this size is hashed from a reused scratch buffer instead of a fresh
// copy. Entries are at most 65535 bytes (c2sp.org/tlog-tiles bundles), so this covers all.
const LEAF_SCRATCH_MAX = 65536 + 1;
let leafScratch = new Uint8Array(1024);

/**
 * The leaf hash of one entry: SHA-256(0x00 ‖ data) — RFC 6962 §2.1.
 * Returns a fresh 32-byte array.
 */
export function leafHash(data: Uint8Array): Uint8Array {
  const need = data.length + 1;
  if (need > LEAF_SCRATCH_MAX) {
    const buf = new Uint8Array(need);
    buf.set(data, 1);
    return sha256(buf);
  }
  if (need > leafScratch.length) {
    let size = leafScratch.length;
    while (size < need) size *= 2;
    leafScratch = new Uint8Array(Math.min(size, LEAF_SCRATCH_MAX));
  }
  leafScratch[0] = 0x00;
  leafScratch.set(data, 1);
  return sha256(leafScratch.subarray(0, need));
}

// 0x01 ‖ left ‖ right, reused by every nodeHash call: hashing is synchronous, so no two
// calls can interleave.
const nodeScratch = new Uint8Array(1 + 2 * HASH_SIZE);
nodeScratch[0] = 0x01;

/**
 * The hash of an interior node: SHA-256(0x01 ‖ left ‖ right) — RFC 6962 §2.1.
 * Precondition: both children are 32-byte hashes (checked). Returns a fresh 32-byte array.
 * @throws TypeError when a child is not 32 bytes (callers validate untrusted input first).
 */
export function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  if (left.length !== HASH_SIZE || right.length !== HASH_SIZE) {
    throw new TypeError(`nodeHash: children must be ${HASH_SIZE}-byte hashes`);
  }
  nodeScratch.set(left, 1);
  nodeScratch.set(right, 1 + HASH_SIZE);
  return sha256(nodeScratch);
}
