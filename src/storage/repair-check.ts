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
 * A view of the tree of one checkpoint through stored tiles (with some laid over them),
 * that authenticates tiles against the checkpoint's root (see the module comment).
 */
export class TreeView {
  private readonly tiles = new Map<string, ExpandedTile>();
  private readonly good = new Set<string>();
  private rootChecked = false;

  /**
   * @param readTile the store's tile (level, index) at its stored width, or undefined.
   * @param overlay tiles that replace the stored ones, by `level/index`.
   */
  constructor(
    readonly size: number,
    private readonly rootHash: Uint8Array,
    private readonly readTile: (level: number, index: number) => Promise<Uint8Array | undefined>,
    private readonly overlay: ReadonlyMap<string, Uint8Array> = new Map()
  ) {}

  /**
   * Tile (level, index) at its width in the tree, as the view holds it (not authenticated).
   * @throws LogError PROOF_FAILED when the view has no such tile at that width.
   */
  async tile(level: number, index: number): Promise<ExpandedTile> {
    const id = `${level}/${index}`;
    let tile = this.tiles.get(id);
    if (tile !== undefined) return tile;
    const width = tileWidth(level, index, this.size);
    const data = this.overlay.get(id) ?? (await this.readTile(level, index));
    if (data === undefined || data.length < width * HASH_SIZE) {
      throw new LogError('PROOF_FAILED', `hash tile ${id} is missing or short in the store`);
    }
    tile = new ExpandedTile(data.subarray(0, width * HASH_SIZE));
    this.tiles.set(id, tile);
    return tile;
  }

  /**
   * Authenticates tile (level, index): up its parents to the right edge, and the edge and
   * top against the root.
   * @throws LogError PROOF_FAILED naming the first tile that does not hash as it must.
   */
  async authenticate(level: number, index: number): Promise<void> {
    for (;;) {
      const id = `${level}/${index}`;
      if (this.good.has(id)) return;
      if (tileWidth(level, index, this.size) < TILE_WIDTH) {
        await this.checkRoot();
        this.good.add(id);
        return;
      }
      const root = (await this.tile(level, index)).node(TILE_HEIGHT, 0);
      const parentIndex = Math.floor(index / TILE_WIDTH);
      const parent = await this.tile(level + 1, parentIndex);
      if (!equalBytes(root, parent.nodeView(0, index - parentIndex * TILE_WIDTH))) {
        throw new LogError('PROOF_FAILED', `hash tile ${id} does not hash to its hash in tile ${level + 1}/${parentIndex}`);
      }
      this.good.add(id);
      level++;
      index = parentIndex;
    }
  }

  /** authenticate() as a yes or no. */
  async isAuthentic(level: number, index: number): Promise<boolean> {
    try {
      await this.authenticate(level, index);
      return true;
    } catch (err) {
      if (err instanceof LogError && err.code === 'PROOF_FAILED') return false;
      throw err;
    }
  }

  /**
   * The right edge and the top: the root from the tiles must be the checkpoint's.
   * @throws LogError PROOF_FAILED when it is not.
   */
  async checkRoot(): Promise<void> {
    if (this.rootChecked || this.size === 0) return;
    const hashes: Uint8Array[] = [];
    for (const id of rangeNodes(0, this.size)) {
      const t = tileForNode(id);
      hashes.push((await this.tile(t.tileLevel, t.tileIndex)).node(t.subLevel, t.subIndex));
    }
    if (!equalBytes(foldRange(hashes), this.rootHash)) {
      throw new LogError('PROOF_FAILED', `the tiles do not hash to the root of the checkpoint of size ${this.size}`);
    }
    this.rootChecked = true;
  }
}

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
  if (size === 0 || latest === undefined) {
    if (fix.tiles.length > 0 || fix.bundles.length > 0) throw new LogError('MALFORMED', 'the empty tree has nothing to repair');
    return;
  }
  const view = new TreeView(size, latest.rootHash, readTile, overlay);
  for (const t of fix.tiles) await view.authenticate(t.level, t.index);
  for (const b of fix.bundles) {
    const width = tileWidth(0, b.index, size);
    if (width === 0 || b.entries.length !== width) {
      const why = `a repair of entry bundle ${b.index} must hold its ${width} entries in the tree of size ${size}`;
      throw new LogError('MALFORMED', why);
    }
    await view.authenticate(0, b.index);
    const tile = await view.tile(0, b.index);
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
