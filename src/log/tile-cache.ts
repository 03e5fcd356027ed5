/**
 * An LRU cache of hash tiles with their interior nodes, in front of the store.
 *
 * A tile only ever grows (a partial tile is a prefix of every later version of it), so
 * the cache may always keep the widest version it has seen: any node complete within a
 * smaller width has the same hash in the wider tile. The integrator puts every tile it
 * commits here right after the commit, so proofs for fresh entries never touch disk.
 */
import { ExpandedTile, TILE_WIDTH } from '../merkle/tiles.js';
import { HASH_SIZE } from '../merkle/hash.js';
import type { LogStore } from '../storage/store.js';
import { LogError } from '../util/errors.js';

export class TileCache {
  private readonly map = new Map<number, ExpandedTile>();
  private readonly store: LogStore;
  private readonly capacity: number;
  hits = 0;
  misses = 0;
  /**
   * Reads a tile from the store (with `read`) and checks it before it is cached or used,
   * returning the part of it to trust (integrity.ts); set by the Log once its tree is
   * loaded. It does the read itself so that the tree it checks against is the one of when
   * the read began (commits landing meanwhile do not make a good tile look short). Tiles put
   * by the integrator are its own computation and are not checked again.
   */
  check: ((level: number, index: number, read: () => Promise<Uint8Array | undefined>) => Promise<Uint8Array>) | undefined;

  constructor(store: LogStore, capacity = 2048) {
    this.store = store;
    this.capacity = capacity;
  }

  /** Records a tile that was just committed (wider than or equal to any cached version). */
  put(level: number, index: number, tile: ExpandedTile): void {
    const key = tileKey(level, index);
    const old = this.map.get(key);
    if (old !== undefined && old.width > tile.width) return;
    this.map.delete(key);
    this.map.set(key, tile);
    this.evict();
  }

  /**
   * Records the committed data of a tile, growing the cached version in place when there is
   * one, so the interior nodes it already computed (for receipts of the previous batches)
   * are kept rather than hashed again for every batch. `data` is copied.
   */
  putData(level: number, index: number, data: Uint8Array): void {
    const key = tileKey(level, index);
    const old = this.map.get(key);
    if (old !== undefined && old.width >= data.length / HASH_SIZE) return;
    if (old !== undefined) {
      old.extend(data);
      this.map.delete(key);
      this.map.set(key, old);
      return;
    }
    this.put(level, index, new ExpandedTile(data));
  }

  /** The cached tile (level, index) if it holds at least `minWidth` hashes; no store read. */
  cached(level: number, index: number, minWidth: number): ExpandedTile | undefined {
    const tile = this.map.get(tileKey(level, index));
    if (tile === undefined || tile.width < minWidth) return undefined;
    this.hits++;
    return tile;
  }

  /**
   * The tile (level, index) with at least `minWidth` hashes, from the cache or the store
   * (checked by `check` when set).
   * @throws LogError NOT_FOUND when the store has no such tile at that width; CORRUPT
   *   when `check` finds the stored tile wrong.
   */
  async get(level: number, index: number, minWidth: number): Promise<ExpandedTile> {
    const key = tileKey(level, index);
    const cached = this.map.get(key);
    if (cached !== undefined && cached.width >= minWidth) {
      this.hits++;
      this.map.delete(key);
      this.map.set(key, cached);
      return cached;
    }
    this.misses++;
    const read = (): Promise<Uint8Array | undefined> => this.store.readTile(level, index);
    const data = this.check === undefined ? await read() : await this.check(level, index, read);
    if (data === undefined || data.length / HASH_SIZE < minWidth) {
      throw new LogError('NOT_FOUND', `tile ${level}/${index} of width ${minWidth} is not in the log`);
    }
    const tile = new ExpandedTile(data);
    this.put(level, index, tile);
    return tile;
  }

  /** Peek without touching the store (the integrator uses this for the right edge). */
  peek(level: number, index: number): ExpandedTile | undefined {
    return this.map.get(tileKey(level, index));
  }

  get size(): number {
    return this.map.size;
  }

  private evict(): void {
    while (this.map.size > this.capacity) {
      const oldest = this.map.keys().next();
      if (oldest.done === true) return;
      this.map.delete(oldest.value);
    }
  }
}

/**
 * A tile's key in the cache: a number, which Map hashes far faster than a string. Exact
 * while index·64 + level is a safe integer (index below 2^47, that is up to 2^55 leaves).
 */
function tileKey(level: number, index: number): number {
  if (index >= 2 ** 47) throw new LogError('MALFORMED', `tile index ${index} is beyond what the cache addresses`);
  return index * 64 + level;
}

export { TILE_WIDTH };
