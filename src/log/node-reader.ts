/**
 * Reads Merkle tree nodes (perfect subtrees) out of hash tiles. A node at tree level k
 * lives in the tile at tile level floor(k/8): directly when k is a multiple of 8, and
 * otherwise as an interior node rebuilt from the tile's hashes (cached by the tile).
 */
import type { NodeId } from '../merkle/tree.js';
import { foldRange, rangeNodes } from '../merkle/tree.js';
import { TILE_HEIGHT, tileForNode } from '../merkle/tiles.js';
import type { TileCache } from './tile-cache.js';

export class TileNodeReader {
  private readonly cache: TileCache;

  constructor(cache: TileCache) {
    this.cache = cache;
  }

  /**
   * The hash of the complete subtree of 2^level leaves starting at leaf `lo` (a multiple of
   * 2^level), as a view into a cached tile (not a copy: do not mutate), or undefined when
   * that tile is not cached. The subtree must be complete in the committed tree.
   */
  subtreeViewCached(level: number, lo: number): Uint8Array | undefined {
    const subLevel = level % TILE_HEIGHT;
    const tileLevel = (level - subLevel) / TILE_HEIGHT;
    const span = 2 ** level; // leaves under the node
    const tileSpan = 2 ** (level - subLevel + TILE_HEIGHT); // leaves under its tile
    const tileIndex = Math.floor(lo / tileSpan);
    const subIndex = (lo - tileIndex * tileSpan) / span;
    const tile = this.cache.cached(tileLevel, tileIndex, (subIndex + 1) * 2 ** subLevel);
    return tile?.nodeView(subLevel, subIndex);
  }

  /**
   * The hash of the leaf range [lo, hi) (the root of those leaves, MTH(D[lo:hi])) from cached
   * tiles only, or undefined when a tile it needs is not cached. The range must be complete
   * in the committed tree.
   */
  rangeHashCached(lo: number, hi: number): Uint8Array | undefined {
    const ids = rangeNodes(lo, hi);
    const hashes: Uint8Array[] = [];
    for (const id of ids) {
      const t = tileForNode(id);
      const tile = this.cache.cached(t.tileLevel, t.tileIndex, (t.subIndex + 1) * 2 ** t.subLevel);
      if (tile === undefined) return undefined;
      hashes.push(tile.node(t.subLevel, t.subIndex));
    }
    return hashes.length === 1 ? hashes[0]! : foldRange(hashes);
  }

  /**
   * Hashes of the given nodes, in order. Every node must be complete in the committed tree.
   * @throws LogError NOT_FOUND when a tile is missing (a node beyond the tree was asked for).
   */
  async readNodes(ids: readonly NodeId[]): Promise<Uint8Array[]> {
    // Fetch each distinct tile once, in parallel.
    const want = new Map<string, { level: number; index: number; minWidth: number }>();
    const where = ids.map((id) => {
      const t = tileForNode(id);
      const key = `${t.tileLevel}/${t.tileIndex}`;
      const minWidth = (t.subIndex + 1) * 2 ** t.subLevel;
      const w = want.get(key);
      if (w === undefined) want.set(key, { level: t.tileLevel, index: t.tileIndex, minWidth });
      else if (w.minWidth < minWidth) w.minWidth = minWidth;
      return { key, t };
    });
    const tiles = new Map(
      await Promise.all(
        [...want].map(
          async ([key, w]) => [key, await this.cache.get(w.level, w.index, w.minWidth)] as const
        )
      )
    );
    return where.map(({ key, t }) => tiles.get(key)!.node(t.subLevel, t.subIndex));
  }
}
