/**
 * LevelStore's part of `candor fsck` and `candor repair`: the key scans of the holes check
 * (contiguity.ts), and the writes of a repair (store.ts, RepairableStore).
 */
import { readU64be } from '../util/bytes.js';
import type { KeyBatches, StoredKeys } from './contiguity.js';
import { BUNDLE_WIDTH, SUBLEVEL, checkpointKey, chunkKey, decodeChunkKey, decodeU64Key, encodeChunk, rootKey, tileKey } from './keys.js';
import type { Sublevels } from './level-store.js';
import type { RepairWrite } from './store.js';

type Bytes = Uint8Array;

/** Keys read per step of a scan. */
const SCAN_BATCH = 4096;

/** A key scan of one sublevel, a batch at a time, each key mapped; closes itself when done. */
function scan<T>(it: { nextv(n: number): Promise<Bytes[]>; close(): Promise<void> }, map: (key: Bytes) => T): KeyBatches<T> {
  let done = false;
  return async () => {
    if (done) return [];
    const keys = await it.nextv(SCAN_BATCH);
    if (keys.length === 0) {
      done = true;
      await it.close();
    }
    return keys.map(map);
  };
}

/** The stored keys of a LevelStore as the holes check reads them (keys only, in order). */
export function readStoredKeys(subs: Sublevels): StoredKeys {
  return {
    chunkStarts: scan(subs.chunks.keys(), (k) => {
      const { bundle, offset } = decodeChunkKey(k);
      return bundle * BUNDLE_WIDTH + offset;
    }),
    checkpointSizes: scan(subs.checkpoints.keys(), (k) => decodeU64Key(k, 'checkpoint')),
    tiles: scan(subs.tiles.keys(), (k) => ({ level: k[0]!, index: readU64be(k, 1) })),
  };
}

/** One write of a repair batch, under a root key (keys.ts, rootKey). */
type RepairOp = { type: 'put'; key: Bytes; value: Bytes } | { type: 'del'; key: Bytes };

/**
 * The writes of a checked repair: each tile put whole; each bundle's chunks deleted and
 * written again, split at the sizes of the checkpoints inside the bundle, where its commits
 * split it (the holes check expects a chunk to start at each).
 */
export async function repairOps(subs: Sublevels, fix: RepairWrite): Promise<RepairOp[]> {
  const ops: RepairOp[] = [];
  for (const t of fix.tiles) {
    ops.push({ type: 'put', key: rootKey(SUBLEVEL.tiles, tileKey(t.level, t.index)), value: t.data });
  }
  for (const b of fix.bundles) {
    const first = b.index * BUNDLE_WIDTH;
    const range = { gte: chunkKey(b.index, 0), lt: chunkKey(b.index + 1, 0) };
    for (const key of await subs.chunks.keys(range).all()) {
      ops.push({ type: 'del', key: rootKey(SUBLEVEL.chunks, key) });
    }
    const sizes = await subs.checkpoints
      .keys({ gt: checkpointKey(first), lt: checkpointKey(first + b.entries.length) })
      .all();
    const cuts = [...sizes.map((k) => decodeU64Key(k, 'checkpoint') - first), b.entries.length];
    let from = 0;
    for (const cut of cuts) {
      const value = encodeChunk(b.entries, from, cut);
      ops.push({ type: 'put', key: rootKey(SUBLEVEL.chunks, chunkKey(b.index, from)), value });
      from = cut;
    }
  }
  return ops;
}
