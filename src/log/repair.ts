/**
 * `candor repair`: fixes what `candor fsck` (fsck.ts) finds in a stopped log's directory,
 * as a library (the CLI, src/cli/repair.ts, parses flags and prints).
 *
 * What is derivable is rebuilt from what is intact:
 * - hash tiles, from the entries when the entries hash to the latest checkpoint's root
 *   (level 0 from the entries, each level above from the one below);
 * - the leaf-hash index (db/dedup), removed and rebuilt from the level-0 tiles by the
 *   store's normal open;
 * - the record index (DIR/index): rebuilt at once with the submitter allowlist when one is
 *   given, else removed, so the server rebuilds it at its next start.
 * What is not (entries lost or damaged, tiles that cannot be recomputed) is refilled from
 * `from`, another tlog-tiles copy of the same log (its own server, a mirror, a static copy
 * of its tiles over HTTP): its checkpoint must verify under the log's key from the store's
 * identity record, and every tile and entry fetched is authenticated against it by the
 * client's VerifiedTileReader. Nothing is written but through the store's repair method
 * (RepairableStore), which checks once more that every byte is the tree's own, against the
 * store's latest checkpoint.
 *
 * Not repaired: commits lost from the end of the log (the commit mark is ahead of the
 * store: those entries are not in its tree, and a repair never appends), and damaged
 * checkpoint records. Both are reported.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { openCheckpoint } from '../checkpoint/checkpoint.js';
import { httpGet } from '../client/http.js';
import { DEFAULT_FETCH_TIMEOUT_MS, type FetchFn } from '../client/tile-reader.js';
import { VerifiedTileReader, type TrustedTree } from '../client/verified-tiles.js';
import { parseSubmitters } from '../governance/submitters.js';
import { HASH_SIZE, leafHash } from '../merkle/hash.js';
import { ExpandedTile, TILE_HEIGHT, TILE_WIDTH, tileWidth } from '../merkle/tiles.js';
import { ed25519Verifier } from '../note/keys.js';
import { LevelKv } from '../search/kv.js';
import { RecordIndex } from '../search/record-index.js';
import { LevelStore } from '../storage/level-store.js';
import type { StoredTile } from '../storage/store.js';
import { LogError } from '../util/errors.js';
import { checkStore, openForMaintenance, type FsckReport } from './fsck.js';

/** Options of repair. */
export interface RepairOptions {
  /** A tlog-tiles copy of the same log to refill entries and tiles from. */
  from?: string;
  /** The submitter allowlist file's bytes, to rebuild the record index now (else it is removed). */
  submitters?: Uint8Array;
  fetch?: FetchFn;
  /** Progress lines. */
  say?: (line: string) => void;
}

/** What a repair did and what is left. */
export interface RepairResult {
  before: FsckReport;
  after: FsckReport;
  tilesRebuilt: number;
  entriesRefilled: number;
  tilesRefilled: number;
  dedupRebuilt: boolean;
  recordsRebuilt: 'rebuilt' | 'removed' | 'no';
}

/** The copy refused: not this log, or it served what does not verify. */
export class SourceError extends Error {}

/** Bundles or tiles repaired per store write (bounds the memory of one write). */
const PER_WRITE = 64;

/**
 * Repairs the log in `dataDir` (see the module comment).
 * @throws FsckError when it cannot open the store; SourceError when `from` is refused.
 */
export async function repair(dataDir: string, options: RepairOptions = {}): Promise<RepairResult> {
  const say = options.say ?? (() => {});
  let store = await openForMaintenance(dataDir);
  let before: FsckReport;
  let tilesRebuilt = 0;
  let entriesRefilled = 0;
  let tilesRefilled = 0;
  try {
    before = await checkStore(dataDir, store);
    const d = before.damage;
    const size = before.size;
    let tiles = d.tiles;
    if (tiles.length > 0 && d.entriesAuthentic) {
      say(`rebuilding ${tiles.length} hash tiles from the entries`);
      tilesRebuilt = await rebuildTiles(store, tiles, size);
      tiles = [];
    }
    const entries = d.entries;
    if ((entries.length > 0 || tiles.length > 0) && options.from !== undefined) {
      const r = await refill(store, dataDir, size, entries, tiles, options, say);
      entriesRefilled = r.entries;
      tilesRefilled = r.tiles;
    } else if (entries.length > 0 || tiles.length > 0) {
      say(`${entries.length} entries and ${tiles.length} tiles cannot be rebuilt from what is stored: give --from URL`);
    }
  } finally {
    await store.close();
  }
  // The derived indexes, from the (repaired) log.
  let dedupRebuilt = false;
  if (before.damage.dedup || entriesRefilled > 0) {
    say('rebuilding the leaf-hash index');
    await rm(join(dataDir, 'db', 'dedup'), { recursive: true, force: true });
    dedupRebuilt = true;
  }
  let recordsRebuilt: RepairResult['recordsRebuilt'] = 'no';
  if (before.damage.records || entriesRefilled > 0) {
    await rm(join(dataDir, 'index'), { recursive: true, force: true });
    recordsRebuilt = 'removed';
  }
  // A normal open rebuilds the leaf-hash index and refuses a store that still has holes.
  const normal = new LevelStore(join(dataDir, 'db'));
  try {
    await normal.open();
    if (options.submitters !== undefined && recordsRebuilt === 'removed') {
      say('rebuilding the record index');
      await rebuildRecords(normal, dataDir, options.submitters, say);
      recordsRebuilt = 'rebuilt';
    }
  } catch (err) {
    if (!(err instanceof LogError && err.code === 'CORRUPT')) throw err;
    // Still damaged: the final check says what is left.
  } finally {
    await normal.close();
  }
  store = await openForMaintenance(dataDir);
  let after: FsckReport;
  try {
    after = await checkStore(dataDir, store);
  } finally {
    await store.close();
  }
  return { before, after, tilesRebuilt, entriesRefilled, tilesRefilled, dedupRebuilt, recordsRebuilt };
}

/**
 * Recomputes the damaged tiles from intact entries, level by level: level 0 from the
 * entries' leaf hashes, each level above from the tiles below (repaired first).
 */
async function rebuildTiles(store: LevelStore, bad: ReadonlyArray<{ level: number; index: number }>, size: number): Promise<number> {
  const byLevel = new Map<number, number[]>();
  for (const t of bad) byLevel.set(t.level, [...(byLevel.get(t.level) ?? []), t.index]);
  let n = 0;
  for (const level of [...byLevel.keys()].sort((a, b) => a - b)) {
    const indices = byLevel.get(level)!;
    for (let k = 0; k < indices.length; k += PER_WRITE) {
      const tiles: StoredTile[] = [];
      for (const index of indices.slice(k, k + PER_WRITE)) {
        const width = tileWidth(level, index, size);
        const data = new Uint8Array(width * HASH_SIZE);
        if (level === 0) {
          const entries = await store.readEntries(index * TILE_WIDTH, index * TILE_WIDTH + width);
          entries.forEach((e, i) => data.set(leafHash(e), i * HASH_SIZE));
        } else {
          for (let j = 0; j < width; j++) {
            const below = await store.readTile(level - 1, index * TILE_WIDTH + j);
            if (below === undefined) throw new LogError('CORRUPT', `hash tile ${level - 1}/${index * TILE_WIDTH + j} is missing`);
            data.set(new ExpandedTile(below.subarray(0, TILE_WIDTH * HASH_SIZE)).node(TILE_HEIGHT, 0), j * HASH_SIZE);
          }
        }
        tiles.push({ level, index, data });
      }
      await store.repair({ tiles, bundles: [] });
      n += tiles.length;
    }
  }
  return n;
}

/** Refills entries and tiles from another copy of the log, authenticated (module comment). */
async function refill(
  store: LevelStore,
  dataDir: string,
  size: number,
  entries: readonly number[],
  tiles: ReadonlyArray<{ level: number; index: number }>,
  options: RepairOptions,
  say: (line: string) => void
): Promise<{ entries: number; tiles: number }> {
  const url = options.from!.replace(/\/+$/, '');
  const fetchFn = options.fetch ?? ((u, init) => fetch(u, init));
  const meta = await store.readMeta();
  if (meta === undefined) throw new SourceError(`the store in ${dataDir} has no identity record: nothing to check ${url} against`);
  const body = await httpGet(fetchFn, `${url}/checkpoint`, { maxBytes: 1024 * 1024, timeoutMs: DEFAULT_FETCH_TIMEOUT_MS });
  let tree: TrustedTree;
  try {
    const { checkpoint } = openCheckpoint(body!, ed25519Verifier(meta.verifierKey), { origin: meta.origin });
    tree = { size: checkpoint.size, rootHash: checkpoint.rootHash };
  } catch (err) {
    throw new SourceError(`${url}/checkpoint is not a checkpoint of "${meta.origin}" signed by ${meta.verifierKey}: ${(err as Error).message}`);
  }
  say(`refilling from ${url} (checkpoint of size ${tree.size}, verified)`);
  const reader = new VerifiedTileReader(url, { fetch: fetchFn });
  // What the copy cannot have: its tree is smaller than the damage.
  const reach = (level: number, index: number): boolean => tileWidth(level, index, tree.size) >= tileWidth(level, index, size);
  const fetchTile = async (level: number, index: number): Promise<StoredTile> => {
    const data = await verified(() => reader.hashTile(level, index, tree), url);
    return { level, index, data: data.subarray(0, tileWidth(level, index, size) * HASH_SIZE) };
  };
  // Tiles first (entries are checked against the level-0 tiles), then bundles.
  let tilesDone = 0;
  const wantTiles = tiles.filter((t) => reach(t.level, t.index));
  for (let k = 0; k < wantTiles.length; k += PER_WRITE) {
    const batch = await Promise.all(wantTiles.slice(k, k + PER_WRITE).map((t) => fetchTile(t.level, t.index)));
    await store.repair({ tiles: batch, bundles: [] });
    tilesDone += batch.length;
  }
  const bundles = [...new Set(entries.map((i) => Math.floor(i / TILE_WIDTH)))].filter((b) => reach(0, b));
  let entriesDone = 0;
  for (let k = 0; k < bundles.length; k += PER_WRITE) {
    const batch = await Promise.all(
      bundles.slice(k, k + PER_WRITE).map(async (index) => {
        const width = tileWidth(0, index, size);
        const got = await verified(() => reader.entryBundle(index, tree, 0, width), url);
        return { index, entries: got };
      })
    );
    try {
      await store.repair({ tiles: [], bundles: batch });
    } catch (err) {
      if (!(err instanceof LogError && err.code === 'PROOF_FAILED')) throw err;
      // The copy's tree is verified, so the stored level-0 tiles are the ones in the way:
      // write the copy's along with the entries.
      const tilesToo = await Promise.all(batch.map((b) => fetchTile(0, b.index)));
      await store.repair({ tiles: tilesToo, bundles: batch });
      tilesDone += tilesToo.length;
    }
    entriesDone += batch.reduce((n, b) => n + b.entries.length, 0);
  }
  const unreachable = bundles.length < new Set(entries.map((i) => Math.floor(i / TILE_WIDTH))).size || wantTiles.length < tiles.length;
  if (unreachable) say(`${url} has only ${tree.size} entries: what lies beyond is left damaged`);
  return { entries: entriesDone, tiles: tilesDone };
}

/** Runs a fetch through the verified reader; what fails verification refuses the source. */
async function verified<T>(fn: () => Promise<T>, url: string): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof LogError && ['PROOF_FAILED', 'ENTRY_MISMATCH', 'MALFORMED'].includes(err.code)) {
      throw new SourceError(`${url} served data that does not verify against its checkpoint: ${err.message}`);
    }
    throw err;
  }
}

/** Rebuilds the record index (DIR/index) from the log, as `candor reindex`. */
async function rebuildRecords(store: LevelStore, dataDir: string, submitters: Uint8Array, say: (line: string) => void): Promise<void> {
  const list = parseSubmitters(submitters);
  const size = (await store.latestCheckpoint())?.size ?? 0;
  const kv = await LevelKv.open(join(dataDir, 'index'));
  const index = await RecordIndex.open({ kv, store, size: () => size, submitters: () => list, warn: say });
  try {
    await index.rebuild();
  } finally {
    await index.close();
  }
}
