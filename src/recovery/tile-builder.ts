/**
 * Rebuilding a log's Merkle tree from its entries, in order: the right edge (a Frontier)
 * and the c2sp.org/tlog-tiles hash tiles, built exactly as the integrator builds them
 * (src/log/integrator.ts): every node at a level 0, 8, 16, … of the tree is hash number
 * `index mod 256` of tile (level / 8, index div 256). Memory is the frontier (at most 53
 * hashes) and one 8 KiB tile buffer per tile level: nothing grows with the log.
 */
import { Frontier } from '../merkle/tree.js';
import { TILE_HEIGHT, TILE_WIDTH } from '../merkle/tiles.js';
import { HASH_SIZE } from '../merkle/hash.js';
import type { StoredTile } from '../storage/store.js';
import { invariant } from '../util/errors.js';

interface OpenTile {
  level: number;
  index: number;
  data: Uint8Array;
  width: number;
}

/** Appends leaf hashes to a tree that starts empty and reports the tiles they change. */
export class TileBuilder {
  private readonly frontier = new Frontier();
  /** The tile being filled at each tile level. */
  private readonly open = new Map<number, OpenTile>();

  /** Leaves appended so far. */
  get size(): number {
    return this.frontier.size;
  }

  /** The root hash of the tree so far. */
  root(): Uint8Array {
    return this.frontier.root();
  }

  /** The tiles not yet full (at most one per level), at their current widths, as copies. */
  partialTiles(): StoredTile[] {
    return [...this.open.values()]
      .filter((t) => t.width < TILE_WIDTH)
      .map((t) => ({ level: t.level, index: t.index, data: t.data.slice(0, t.width * HASH_SIZE) }));
  }

  /**
   * Appends `leafHashes` (RFC 6962 leaf hashes, in index order) and returns every tile they
   * changed, each at its width after the append (copies: later appends do not change them),
   * in the order they were started. A tile that filled up is returned once at width 256 and
   * never again.
   */
  append(leafHashes: readonly Uint8Array[]): StoredTile[] {
    const touched = new Set<OpenTile>();
    const onNode = (level: number, index: number, hash: Uint8Array): void => {
      if (level % TILE_HEIGHT !== 0) return;
      const tileLevel = level / TILE_HEIGHT;
      const tileIndex = Math.floor(index / TILE_WIDTH);
      let t = this.open.get(tileLevel);
      if (t === undefined || t.index !== tileIndex) {
        invariant(t === undefined || t.width === TILE_WIDTH, 'left a tile before it was full');
        t = { level: tileLevel, index: tileIndex, data: new Uint8Array(TILE_WIDTH * HASH_SIZE), width: 0 };
        this.open.set(tileLevel, t);
      }
      touched.add(t);
      invariant(index - tileIndex * TILE_WIDTH === t.width, 'tile hashes must be appended in order');
      t.data.set(hash, t.width * HASH_SIZE);
      t.width++;
    };
    this.frontier.appendLeaves(leafHashes, onNode);
    return [...touched].map((t) => ({ level: t.level, index: t.index, data: t.data.slice(0, t.width * HASH_SIZE) }));
  }
}
