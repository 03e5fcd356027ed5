/**
 * A test model of what a log commits, for the store contract suite. It builds realistic
 * batches without the Merkle code: leaf hashes are real RFC 6962 leaf hashes
 * (SHA-256(0x00 ‖ entry)), level-0 tiles are real (the leaf hashes, at their widths),
 * level-1 tiles hold a stand-in hash per full level-0 tile, and roots and notes are fake.
 * The store checks none of that; what matters is that what goes in comes back out.
 */
import { expect } from 'vitest';
import { sha256 } from '@noble/hashes/sha2.js';
import { equalBytes } from '../../src/util/bytes.js';
import type {
  IntegrationBatch,
  LogStore,
  StoredCheckpoint,
  StoredTile,
} from '../../src/storage/store.js';

const TILE = 256;

/** SHA-256(0x00 ‖ entry), RFC 6962 §2.1. */
export function leafHashOf(entry: Uint8Array): Uint8Array {
  const buf = new Uint8Array(entry.length + 1);
  buf.set(entry, 1);
  return sha256(buf);
}

/** A deterministic PRNG (mulberry32), so failures reproduce. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The log as the test believes it is stored. */
export class FakeLog {
  readonly entries: Uint8Array[] = [];
  readonly hashes: Uint8Array[] = [];
  readonly checkpoints = new Map<number, StoredCheckpoint>();
  private stamp = 1_700_000_000_000;

  get size(): number {
    return this.entries.length;
  }

  get latest(): StoredCheckpoint | undefined {
    return this.checkpoints.get(this.size);
  }

  /** The next batch of `n` fresh entries (not applied until `apply`). */
  next(n: number, entryBytes = 40): IntegrationBatch {
    const entries: Uint8Array[] = [];
    for (let i = 0; i < n; i++) {
      const e = new Uint8Array(entryBytes).fill(0x61 + ((this.size + i) % 26));
      new DataView(e.buffer).setFloat64(0, this.size + i);
      entries.push(e);
    }
    return this.batchOf(entries);
  }

  /** A batch of exactly these entries on top of the current size. */
  batchOf(entries: Uint8Array[]): IntegrationBatch {
    const oldSize = this.size;
    const newSize = oldSize + entries.length;
    const leafHashes = entries.map(leafHashOf);
    const all = [...this.hashes, ...leafHashes];
    const tiles: StoredTile[] = [];
    for (const level of [0, 1]) {
      const per = TILE ** level;
      // Tiles whose width changes: from the one holding the old edge to the new edge.
      const first = Math.floor(Math.floor(oldSize / per) / TILE);
      const last = Math.floor((Math.floor(newSize / per) - 1) / TILE);
      for (let index = first; index <= last && newSize > oldSize; index++) {
        const data = tileData(all, level, index, newSize);
        const old = tileData(all, level, index, oldSize);
        if (data !== undefined && data.length !== old?.length) tiles.push({ level, index, data });
      }
    }
    this.stamp += 1000;
    const checkpoint: StoredCheckpoint = {
      size: newSize,
      rootHash: sha256(new TextEncoder().encode(`root ${newSize} ${this.stamp}`)),
      note: `example.com/candor-test\n${newSize}\nZmFrZQ==\n\n— example.com/candor-test AAAA\n`,
      timestamp: this.stamp,
    };
    return { oldSize, entries, leafHashes, tiles, checkpoint };
  }

  /** Records a batch the store accepted. Copies, so later mutation tests cannot touch it. */
  apply(batch: IntegrationBatch): void {
    expect(batch.oldSize).toBe(this.size);
    for (const e of batch.entries) this.entries.push(e.slice());
    for (const h of batch.leafHashes) this.hashes.push(h.slice());
    const cp = batch.checkpoint;
    this.checkpoints.set(cp.size, { ...cp, rootHash: cp.rootHash.slice() });
  }

  /** Tile (level, index) as it should be stored now, or undefined when never written. */
  tile(level: number, index: number): Uint8Array | undefined {
    return tileData(this.hashes, level, index, this.size);
  }
}

// Stand-in hashes of full level-0 tiles, by the first leaf hash (full tiles never change).
const fullTileHashes = new WeakMap<Uint8Array, Uint8Array>();
function fullTileHash(hashes: Uint8Array[], k: number): Uint8Array {
  const first = hashes[k * TILE]!;
  let h = fullTileHashes.get(first);
  if (h === undefined) {
    h = sha256(tileData(hashes, 0, k, (k + 1) * TILE)!);
    fullTileHashes.set(first, h);
  }
  return h;
}

/** Level-0 tiles hold leaf hashes; level-1 tiles a stand-in hash of each full level-0 tile. */
function tileData(
  hashes: Uint8Array[],
  level: number,
  index: number,
  size: number
): Uint8Array | undefined {
  const per = TILE ** level;
  const width = Math.min(TILE, Math.floor(size / per) - index * TILE);
  if (width <= 0) return undefined;
  const out = new Uint8Array(width * 32);
  for (let i = 0; i < width; i++) {
    const k = index * TILE + i;
    const h = level === 0 ? hashes[k]! : fullTileHash(hashes, k);
    out.set(h, i * 32);
  }
  return out;
}

/** Byte lists equal; compared directly, since a deep toEqual of 10^4 arrays is slow. */
export function expectSameBytes(actual: Uint8Array[], expected: Uint8Array[]): void {
  const same =
    actual.length === expected.length && actual.every((a, i) => equalBytes(a, expected[i]!));
  if (!same) expect(actual).toEqual(expected); // for the diff
}

/** Reads everything back and compares it with the model: the suite's checkLog. */
export async function expectStoreMatches(store: LogStore, log: FakeLog): Promise<void> {
  expect(await store.latestCheckpoint()).toEqual(log.latest);
  const size = log.size;
  expectSameBytes(await store.readEntries(0, size), log.entries);
  expect(await store.readEntry(size)).toBeUndefined();
  const indices = await store.lookupLeafHashes(log.hashes);
  expect(indices).toEqual(log.hashes.map((_, i) => i));
  for (const level of [0, 1]) {
    for (let index = 0; ; index++) {
      const want = log.tile(level, index);
      const got = await store.readTile(level, index);
      if (want === undefined || got === undefined) expect(got).toEqual(want);
      else expectSameBytes([got], [want]);
      if (want === undefined) break;
    }
  }
  for (const [s, cp] of log.checkpoints) expect(await store.readCheckpoint(s)).toEqual(cp);
}
