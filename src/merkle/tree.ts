/**
 * RFC 6962 §2.1 tree algorithms over stored perfect subtrees: tree roots, inclusion proofs
 * (PATH, §2.1.1 / RFC 9162 §2.1.3.1) and consistency proofs (PROOF/SUBPROOF, §2.1.2 /
 * RFC 9162 §2.1.4.1), plus the Frontier that appends leaves.
 *
 * Storage holds the hash of every perfect subtree, addressed by NodeId (level, index):
 * node (L, i) covers leaves [i·2^L, (i+1)·2^L). Every range the RFC recursions hash is
 * split into such nodes (rangeNodes) and folded right to left (foldRange).
 *
 * Each algorithm is written in two halves (style P1): a plan that lists the nodes it needs,
 * and a compute step over their hashes. The sync functions take a `getNode` callback; the
 * async ones read all planned nodes with exactly one `readNodes` call (none if the plan
 * is empty), and check that it returned one 32-byte hash per node.
 *
 * Sizes and indices are JS numbers (safe integers, exact up to 2^53 - 1); all bit math goes
 * through util/integers.ts (style P5). Arguments that can come from users (sizes, indices)
 * are checked and rejected with LogError MALFORMED.
 */
import { EMPTY_ROOT, HASH_SIZE, nodeHash } from './hash.js';
import { LogError, invariant } from '../util/errors.js';
import {
  MAX_SAFE,
  bitLength,
  largestPowerOfTwoBelow,
  onesCount,
  pow2,
  trailingZeros,
} from '../util/integers.js';

/** A perfect subtree: the node at `level` covering leaves [index·2^level, (index+1)·2^level). */
export type NodeId = { level: number; index: number };

/**
 * Reads stored node hashes for the async provers. Contract: resolves with exactly one
 * 32-byte hash per id, in the order asked, and does not keep or change `ids`; a node that
 * is not stored is an error the reader throws (e.g. LogError NOT_FOUND), never a gap. The
 * provers treat a wrong count or length as a bug in the reader (invariant).
 */
export interface NodeReader {
  /** Returns the hash of each node in `ids`, in order; every node must be in the tree. */
  readNodes(ids: readonly NodeId[]): Promise<Uint8Array[]>;
}

/**
 * Synchronous node lookup: returns the 32-byte hash of a node that exists in the tree. The
 * provers only ask for nodes inside the tree they were given the size of.
 */
export type GetNode = (id: NodeId) => Uint8Array;

function checkCount(n: number, what: string): void {
  if (!Number.isSafeInteger(n) || n < 0) {
    const got = String(n);
    throw new LogError('MALFORMED', `${what} must be a non-negative safe integer, got ${got}`);
  }
}

/**
 * Splits the leaf range [lo, hi) into maximal aligned perfect subtrees, left to right
 * (at most 2·53 nodes; none when lo == hi).
 * @throws LogError MALFORMED unless 0 ≤ lo ≤ hi ≤ 2^53 - 1 are safe integers.
 */
export function rangeNodes(lo: number, hi: number): NodeId[] {
  checkCount(lo, 'range start');
  checkCount(hi, 'range end');
  if (lo > hi) throw new LogError('MALFORMED', `range [${lo}, ${hi}) is reversed`);
  const nodes: NodeId[] = [];
  while (lo < hi) {
    // The largest 2^k that lo is a multiple of and that still fits before hi.
    let level = bitLength(hi - lo) - 1;
    if (lo > 0) level = Math.min(level, trailingZeros(lo));
    const width = pow2(level);
    nodes.push({ level, index: lo / width });
    lo += width;
  }
  return nodes;
}

/**
 * Folds the hashes of consecutive subtrees into the hash of their union, right to left:
 * h = last; h = nodeHash(prev, h); … (specs §1.8). One hash is returned as is.
 * Precondition: `hashes` is non-empty and holds the roots of rangeNodes(lo, hi) in order.
 */
export function foldRange(hashes: readonly Uint8Array[]): Uint8Array {
  invariant(hashes.length > 0, 'foldRange of no hashes');
  let h = hashes[hashes.length - 1]!;
  for (let i = hashes.length - 2; i >= 0; i--) h = nodeHash(hashes[i]!, h);
  return h;
}

/**
 * The leaf ranges whose subtree hashes form the inclusion proof of `index` in a tree of
 * `size` (RFC 6962 PATH), in proof order: from the leaf's sibling up to the root's child.
 * @throws LogError MALFORMED unless 0 ≤ index < size (safe integers).
 */
export function inclusionPlan(index: number, size: number): Array<[lo: number, hi: number]> {
  checkCount(index, 'leaf index');
  checkCount(size, 'tree size');
  if (index >= size) {
    throw new LogError('MALFORMED', `leaf index ${index} is not below tree size ${size}`);
  }
  // Walk PATH top-down: each step keeps the half holding the leaf and records the other.
  const topDown: Array<[number, number]> = [];
  let lo = 0;
  let hi = size;
  while (hi - lo > 1) {
    const mid = lo + largestPowerOfTwoBelow(hi - lo);
    if (index < mid) {
      topDown.push([mid, hi]);
      hi = mid;
    } else {
      topDown.push([lo, mid]);
      lo = mid;
    }
  }
  return topDown.reverse();
}

/**
 * The leaf ranges whose subtree hashes form the consistency proof from `oldSize` to
 * `newSize` (RFC 6962 PROOF/SUBPROOF), in proof order; empty when oldSize == newSize.
 * @throws LogError MALFORMED unless 0 < oldSize ≤ newSize (safe integers).
 */
export function consistencyPlan(oldSize: number, newSize: number): Array<[lo: number, hi: number]> {
  checkCount(oldSize, 'old tree size');
  checkCount(newSize, 'new tree size');
  if (oldSize === 0) throw new LogError('MALFORMED', 'no consistency proof from the empty tree');
  if (oldSize > newSize) {
    throw new LogError('MALFORMED', `old tree size ${oldSize} exceeds new tree size ${newSize}`);
  }
  // SUBPROOF(m, D[lo:hi], b) top-down; the "followed by" hashes come out in reverse.
  const topDown: Array<[number, number]> = [];
  let lo = 0;
  let hi = newSize;
  let m = oldSize;
  let whole = true; // RFC's b: true while the old tree is a prefix ending at a left edge
  while (m !== hi - lo) {
    const k = largestPowerOfTwoBelow(hi - lo);
    if (m <= k) {
      topDown.push([lo + k, hi]);
      hi = lo + k;
    } else {
      topDown.push([lo, lo + k]);
      lo += k;
      m -= k;
      whole = false;
    }
  }
  const proof = topDown.reverse();
  if (!whole) proof.unshift([lo, hi]);
  return proof;
}

// The planning half shared by the sync and async provers: the node ids to read, and how
// many consecutive ids fold into each output hash.
interface Plan {
  ids: NodeId[];
  counts: number[];
}

function planRanges(ranges: ReadonlyArray<readonly [number, number]>): Plan {
  const ids: NodeId[] = [];
  const counts: number[] = [];
  for (const [lo, hi] of ranges) {
    const nodes = rangeNodes(lo, hi);
    ids.push(...nodes);
    counts.push(nodes.length);
  }
  return { ids, counts };
}

// The compute half: folds the hashes read for a plan into one hash per range.
function computePlan(plan: Plan, hashes: readonly Uint8Array[]): Uint8Array[] {
  invariant(hashes.length === plan.ids.length, 'node reader returned the wrong number of hashes');
  for (const h of hashes) invariant(h.length === HASH_SIZE, 'node reader returned a bad hash');
  const out: Uint8Array[] = [];
  let at = 0;
  for (const n of plan.counts) {
    // Fresh arrays out, even for a single node: callers may keep or change them.
    out.push(n === 1 ? new Uint8Array(hashes[at]!) : foldRange(hashes.slice(at, at + n)));
    at += n;
  }
  return out;
}

function rootPlan(size: number): Plan {
  checkCount(size, 'tree size');
  return planRanges(size === 0 ? [] : [[0, size]]);
}

// The one read of an async prover (none when the plan needs no node).
async function readPlan(plan: Plan, reader: NodeReader): Promise<Uint8Array[]> {
  return plan.ids.length === 0 ? [] : reader.readNodes(plan.ids);
}

function rootFrom(plan: Plan, hashes: readonly Uint8Array[]): Uint8Array {
  return plan.ids.length === 0 ? new Uint8Array(EMPTY_ROOT) : computePlan(plan, hashes)[0]!;
}

/**
 * The inclusion proof of leaf `index` in the tree of `size`, read through `getNode`.
 * @throws LogError MALFORMED unless 0 ≤ index < size (user input).
 */
export function proveInclusion(index: number, size: number, getNode: GetNode): Uint8Array[] {
  const plan = planRanges(inclusionPlan(index, size));
  return computePlan(plan, plan.ids.map((id) => getNode(id)));
}

/**
 * The consistency proof from tree size `oldSize` to `newSize`, read through `getNode`.
 * @throws LogError MALFORMED unless 0 < oldSize ≤ newSize (user input).
 */
export function proveConsistency(oldSize: number, newSize: number, getNode: GetNode): Uint8Array[] {
  const plan = planRanges(consistencyPlan(oldSize, newSize));
  return computePlan(plan, plan.ids.map((id) => getNode(id)));
}

/**
 * The root hash MTH(D[0:size]) of the tree of `size` (EMPTY_ROOT for 0), via `getNode`.
 * @throws LogError MALFORMED when size is not a safe non-negative integer.
 */
export function treeRoot(size: number, getNode: GetNode): Uint8Array {
  const plan = rootPlan(size);
  return rootFrom(plan, plan.ids.map((id) => getNode(id)));
}

/**
 * Like proveInclusion, reading every node it needs in one `reader.readNodes` call (none when
 * size is 1).
 * @throws LogError MALFORMED unless 0 ≤ index < size; whatever `readNodes` throws.
 */
export async function proveInclusionAsync(
  index: number,
  size: number,
  reader: NodeReader
): Promise<Uint8Array[]> {
  const plan = planRanges(inclusionPlan(index, size));
  return computePlan(plan, await readPlan(plan, reader));
}

/**
 * Like proveConsistency, reading every node it needs in one `reader.readNodes` call (none
 * when oldSize == newSize).
 * @throws LogError MALFORMED unless 0 < oldSize ≤ newSize; whatever `readNodes` throws.
 */
export async function proveConsistencyAsync(
  oldSize: number,
  newSize: number,
  reader: NodeReader
): Promise<Uint8Array[]> {
  const plan = planRanges(consistencyPlan(oldSize, newSize));
  return computePlan(plan, await readPlan(plan, reader));
}

/**
 * Like treeRoot, reading every node it needs in one `reader.readNodes` call (none for 0).
 * @throws LogError MALFORMED when size is not a safe non-negative integer.
 */
export async function treeRootAsync(size: number, reader: NodeReader): Promise<Uint8Array> {
  const plan = rootPlan(size);
  return rootFrom(plan, await readPlan(plan, reader));
}

/**
 * The right edge of a tree (a compact range over [0, size)): the roots of rangeNodes(0, size),
 * at most 53 hashes. Appending a leaf costs O(log size) hashing and no storage reads.
 */
export class Frontier {
  private count: number;
  private readonly hashes: Uint8Array[];

  /**
   * Restores the edge of a tree of `size` from the roots of rangeNodes(0, size), left to right.
   * @throws LogError MALFORMED when the count of hashes or a hash length does not fit.
   */
  constructor(size = 0, hashes: readonly Uint8Array[] = []) {
    checkCount(size, 'tree size');
    if (hashes.length !== onesCount(size)) {
      throw new LogError('MALFORMED', `a tree of size ${size} has ${onesCount(size)} edge hashes`);
    }
    for (const h of hashes) {
      if (h.length !== HASH_SIZE) throw new LogError('MALFORMED', 'edge hashes must be 32 bytes');
    }
    this.count = size;
    this.hashes = hashes.map((h) => new Uint8Array(h));
  }

  /** The number of leaves appended so far. */
  get size(): number {
    return this.count;
  }

  /**
   * Appends one leaf hash. `onNode` hears of every perfect subtree this completes, bottom
   * up: the leaf itself at level 0, then each parent formed (Go tlog.StoredHashes order).
   * These are exactly the hashes to store for the new leaf. `onNode` must not change the
   * hash it is given (the frontier may keep it); if it throws, the frontier is unchanged.
   * @throws LogError MALFORMED when the hash is not 32 bytes or the tree is full (2^53 - 1).
   */
  append(leafHash: Uint8Array, onNode?: (id: NodeId, hash: Uint8Array) => void): void {
    if (leafHash.length !== HASH_SIZE) {
      throw new LogError('MALFORMED', 'leaf hash must be 32 bytes');
    }
    if (this.count >= MAX_SAFE) throw new LogError('MALFORMED', 'tree size would pass 2^53 - 1');
    let h: Uint8Array = new Uint8Array(leafHash);
    let index = this.count;
    let level = 0;
    const completed: Array<[NodeId, Uint8Array]> = [[{ level, index }, h]];
    // Each trailing 1 bit of the old size is a left sibling on the edge to merge with.
    let top = this.hashes.length;
    while (index % 2 === 1) {
      top -= 1;
      const left = this.hashes[top];
      invariant(left !== undefined, 'frontier shorter than its size');
      h = nodeHash(left, h);
      index = (index - 1) / 2;
      level += 1;
      completed.push([{ level, index }, h]);
    }
    // Report before changing anything, so that a throwing onNode leaves the frontier as it was.
    if (onNode !== undefined) for (const [id, hash] of completed) onNode(id, hash);
    this.hashes.length = top;
    this.hashes.push(h);
    this.count += 1;
  }

  /**
   * append() for many leaves, for a log's append path: the same nodes reported in the same
   * order, as (level, index, hash) without an object per node, and without copying the
   * leaf hashes. Preconditions: every hash is 32 bytes (checked) and none is changed later
   * (the frontier may keep it). If `onNode` throws, the frontier is left part-way: use this
   * on a clone that is dropped on failure.
   * @throws LogError MALFORMED when a hash is not 32 bytes or the tree would pass 2^53 - 1.
   */
  appendLeaves(
    leafHashes: readonly Uint8Array[],
    onNode: (level: number, index: number, hash: Uint8Array) => void
  ): void {
    if (this.count + leafHashes.length > MAX_SAFE) throw new LogError('MALFORMED', 'tree size would pass 2^53 - 1');
    const hashes = this.hashes;
    for (const leaf of leafHashes) {
      if (leaf.length !== HASH_SIZE) throw new LogError('MALFORMED', 'leaf hash must be 32 bytes');
      let h = leaf;
      let index = this.count;
      let level = 0;
      onNode(0, index, h);
      let top = hashes.length;
      while (index % 2 === 1) {
        top -= 1;
        h = nodeHash(hashes[top]!, h);
        index = (index - 1) / 2;
        level += 1;
        onNode(level, index, h);
      }
      hashes.length = top;
      hashes.push(h);
      this.count += 1;
    }
  }

  /** The root hash of the tree so far (EMPTY_ROOT when empty), as a fresh array. */
  root(): Uint8Array {
    if (this.hashes.length === 0) return new Uint8Array(EMPTY_ROOT);
    const h = foldRange(this.hashes);
    return this.hashes.length === 1 ? new Uint8Array(h) : h;
  }

  /** The edge nodes with their hashes, left to right: the ids are rangeNodes(0, size). */
  nodes(): Array<{ id: NodeId; hash: Uint8Array }> {
    const ids = rangeNodes(0, this.count);
    invariant(ids.length === this.hashes.length, 'frontier does not match its size');
    return ids.map((id, i) => ({ id, hash: new Uint8Array(this.hashes[i]!) }));
  }

  /** An independent copy: appending to one does not change the other. */
  clone(): Frontier {
    return new Frontier(this.count, this.hashes);
  }
}
