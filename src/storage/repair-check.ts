/**
 * The check every store's `repair` runs before it writes anything (store.ts, RepairWrite):
 * the tiles and entries it is given must belong to the tree of the store's latest
 * checkpoint. It is what makes a repair unable to write a wrong byte, whoever calls it.
 *
 * How. The store's tiles with the new ones laid over them are one view of the tree. Each
 * new tile, and the level-0 tile of each new bundle, is authenticated in that view: a tile
 * that is full in the tree must hash to its hash in its parent tile, which is authenticated
 * the same way, up to the partial tiles of the right edge; those, with the top of the tree,
 * must hash to the checkpoint's root (the root is recomputed from the tiles, as
 * Integrator.load does at open). Then every new entry must hash (RFC 6962 leaf hash) to its
 * hash in its authenticated level-0 tile.
 */
import { HASH_SIZE, leafHash } from '../merkle/hash.js';
import { ExpandedTile, TILE_HEIGHT, TILE_WIDTH, tileForNode, tileWidth } from '../merkle/tiles.js';
import { foldRange, rangeNodes } from '../merkle/tree.js';
import { equalBytes } from '../util/bytes.js';
import { LogError } from '../util/errors.js';
import type { RepairWrite, StoredCheckpoint } from './store.js';

/**
 * Checks `fix` against the tree of `latest` (see the module comment).
 * @param readTile the store's tile (level, index) at its stored width, or undefined.
 * @throws LogError PROOF_FAILED naming the first tile or entry that is not the tree's;
 *   MALFORMED for a tile or bundle of the wrong width or outside the tree.
 */
export async function checkRepair(
  fix: RepairWrite,
  latest: StoredCheckpoint | undefined,
  readTile: (level: number, index: number) => Promise<Uint8Array | undefined>
): Promise<void> {
  const size = latest?.size ?? 0;
  const overlay = new Map<string, Uint8Array>();
  for (const t of fix.tiles) {
    const width = tileWidth(t.level, t.index, size);
    if (width === 0 || t.data.length !== width * HASH_SIZE) {
      const why = `a repair of hash tile ${t.level}/${t.index} must hold its ${width} hashes in the tree of size ${size}`;
      throw new LogError('MALFORMED', why);
    }
    overlay.set(`${t.level}/${t.index}`, t.data);
  }
  const tiles = new Map<string, ExpandedTile>();
  const view = async (level: number, index: number): Promise<ExpandedTile> => {
    const id = `${level}/${index}`;
    let tile = tiles.get(id);
    if (tile !== undefined) return tile;
    const width = tileWidth(level, index, size);
    const data = overlay.get(id) ?? (await readTile(level, index));
    if (data === undefined || data.length < width * HASH_SIZE) {
      throw new LogError('PROOF_FAILED', `hash tile ${id} is missing: repair it first (or with this)`);
    }
    tile = new ExpandedTile(data.subarray(0, width * HASH_SIZE));
    tiles.set(id, tile);
    return tile;
  };
  const authenticated = new Set<string>();
  const authenticate = async (level: number, index: number): Promise<void> => {
    for (;;) {
      const id = `${level}/${index}`;
      if (authenticated.has(id)) return;
      authenticated.add(id);
      if (tileWidth(level, index, size) < TILE_WIDTH) return; // an edge tile: the root check
      const root = (await view(level, index)).node(TILE_HEIGHT, 0);
      const parentIndex = Math.floor(index / TILE_WIDTH);
      const parent = await view(level + 1, parentIndex);
      if (!equalBytes(root, parent.nodeView(0, index - parentIndex * TILE_WIDTH))) {
        throw new LogError('PROOF_FAILED', `hash tile ${id} does not hash to its hash in tile ${level + 1}/${parentIndex}`);
      }
      level++;
      index = parentIndex;
    }
  };
  for (const t of fix.tiles) await authenticate(t.level, t.index);
  for (const b of fix.bundles) await authenticate(0, b.index);
  if (size > 0 && (fix.tiles.length > 0 || fix.bundles.length > 0)) {
    // The right edge and the top: the root from the tiles must be the checkpoint's.
    const hashes: Uint8Array[] = [];
    for (const id of rangeNodes(0, size)) {
      const t = tileForNode(id);
      hashes.push((await view(t.tileLevel, t.tileIndex)).node(t.subLevel, t.subIndex));
    }
    if (!equalBytes(foldRange(hashes), latest!.rootHash)) {
      throw new LogError('PROOF_FAILED', `the tiles do not hash to the root of the latest checkpoint (size ${size})`);
    }
  }
  for (const b of fix.bundles) {
    const width = tileWidth(0, b.index, size);
    if (width === 0 || b.entries.length !== width) {
      const why = `a repair of entry bundle ${b.index} must hold its ${width} entries in the tree of size ${size}`;
      throw new LogError('MALFORMED', why);
    }
    const tile = await view(0, b.index);
    for (let i = 0; i < width; i++) {
      const e = b.entries[i]!;
      if (!(e instanceof Uint8Array) || e.length === 0 || e.length > 65535) {
        throw new LogError('MALFORMED', `entry ${b.index * TILE_WIDTH + i} of a repair is not 1–65535 bytes`);
      }
      if (!equalBytes(leafHash(e), tile.nodeView(0, i))) {
        throw new LogError('PROOF_FAILED', `entry ${b.index * TILE_WIDTH + i} of a repair does not hash to its leaf hash`);
      }
    }
  }
}
