/**
 * Reads Merkle tree nodes (perfect subtrees) out of hash tiles. A node at tree level k
 * lives in the tile at tile level floor(k/8): directly when k is a multiple of 8, and
 * otherwise as an interior node rebuilt from the tile's hashes (cached by the tile).
 */
import type { NodeId } from '../merkle/tree.js';
import { tileForNode } from '../merkle/tiles.js';
import type { TileCache } from './tile-cache.js';

export class TileNodeReader {
  private readonly cache: TileCache;

  constructor(cache: TileCache) {
    this.cache = cache;
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
