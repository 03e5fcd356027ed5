/**
 * c2sp.org/tlog-tiles math (specs.md §5): tiles of height 8 and width 256.
 *
 * Hash tile (L, N) holds the hashes at tree level 8·L with indices [N·256, N·256 + 256):
 * hash i is the root of leaves [(N·256+i)·256^L, (N·256+i+1)·256^L). Level 0 holds leaf
 * hashes; entry bundle N holds the entries whose leaf hashes are level-0 tile N. A partial
 * tile holds W < 256 hashes and has the path suffix `.p/<W>`:
 *
 *   tile/0/x001/234/067        full level-0 tile 1234067
 *   tile/2/000.p/1             level-2 tile 0 holding 1 hash
 *   tile/entries/273.p/112     entry bundle 273 holding 112 entries
 *
 * Inside a tile, the tree levels 8·L .. 8·L + 7 are rebuilt by hashing its hashes pairwise
 * (ExpandedTile); the tile's own root, at level 8·(L+1), is the hash stored one tile up.
 *
 * Parse functions reject non-canonical text with LogError MALFORMED. The other functions
 * take already-validated numbers; a negative or unsafe number there is a TypeError.
 */
import { HASH_SIZE, nodeHash } from './hash.js';
import type { NodeId } from './tree.js';
import { equalBytes } from '../util/bytes.js';
import { LogError, invariant } from '../util/errors.js';
import { assertIndex, pow2 } from '../util/integers.js';

/** Tree levels per tile (c2sp.org/tlog-tiles fixes 8). */
export const TILE_HEIGHT = 8;
/** Hashes (or entries) in a full tile: 2^TILE_HEIGHT. */
export const TILE_WIDTH = 256;
/** The largest tile level a path may name. */
export const MAX_TILE_LEVEL = 63;

/** A tile or entry bundle; `width` is present only for partial tiles (1–255). */
export type TilePath =
  | { kind: 'hash'; level: number; index: number; width?: number }
  | { kind: 'entries'; index: number; width?: number };

/**
 * Formats a tile index as 3-digit groups, all but the last prefixed with `x`
 * (0 → "000", 1234067 → "x001/x234/067").
 * @throws TypeError when `n` is not a non-negative safe integer.
 */
export function formatTileIndex(n: number): string {
  assertIndex(n, 'tile index');
  let s = pad3(n % 1000);
  n = Math.floor(n / 1000);
  while (n > 0) {
    s = `x${pad3(n % 1000)}/${s}`;
    n = Math.floor(n / 1000);
  }
  return s;
}

function pad3(n: number): string {
  return String(n).padStart(3, '0');
}

/**
 * Parses a tile index in its one canonical form (exactly 3 digits per group, `x` on all
 * groups but the last, no leading all-zero group).
 * @throws LogError MALFORMED on any other text or a value above 2^53 - 1.
 */
export function parseTileIndex(s: string): number {
  // 2^53 - 1 has 16 digits: at most 5 groups "xDDD/" and a last "DDD", 28 characters.
  if (s.length > 28 || !/^(?:x[0-9]{3}\/)*[0-9]{3}$/.test(s)) {
    throw new LogError('MALFORMED', `bad tile index ${JSON.stringify(s)}`);
  }
  let n = 0;
  for (const group of s.split('/')) n = n * 1000 + Number(group.replace('x', ''));
  if (!Number.isSafeInteger(n) || formatTileIndex(n) !== s) {
    throw new LogError('MALFORMED', `bad tile index ${JSON.stringify(s)}`);
  }
  return n;
}

/**
 * Formats a tile's path, `tile/<L>/<N>[.p/<W>]` or `tile/entries/<N>[.p/<W>]`. A width of
 * 256 is the same as none (a full tile).
 * @throws TypeError for a level outside 0–63, a bad index or a width outside 1–256.
 */
export function formatTilePath(t: TilePath): string {
  let s = 'tile/';
  if (t.kind === 'hash') {
    if (!Number.isInteger(t.level) || t.level < 0 || t.level > MAX_TILE_LEVEL) {
      throw new TypeError(`tile level must be 0–63, got ${String(t.level)}`);
    }
    s += `${t.level}/`;
  } else {
    s += 'entries/';
  }
  s += formatTileIndex(t.index);
  if (t.width !== undefined && t.width !== TILE_WIDTH) {
    if (!Number.isInteger(t.width) || t.width < 1 || t.width > TILE_WIDTH) {
      throw new TypeError(`tile width must be 1–256, got ${String(t.width)}`);
    }
    s += `.p/${t.width}`;
  }
  return s;
}

const TILE_PATH_RE =
  /^tile\/(entries|0|[1-9][0-9]?)\/((?:x[0-9]{3}\/)*[0-9]{3})(?:\.p\/([1-9][0-9]{0,2}))?$/;

/**
 * Parses a tile path (without a leading slash) in its one canonical form: level 0–63 and
 * width 1–255 without leading zeros, index as in parseTileIndex.
 * @throws LogError MALFORMED on anything else (including `.p/256` and `.p/0`).
 */
export function parseTilePath(path: string): TilePath {
  const m = path.length <= 64 ? TILE_PATH_RE.exec(path) : null;
  if (m === null) throw new LogError('MALFORMED', `bad tile path ${JSON.stringify(path)}`);
  const [, levelText, indexText, widthText] = m;
  const index = parseTileIndex(indexText!);
  let width: number | undefined;
  if (widthText !== undefined) {
    width = Number(widthText);
    if (width >= TILE_WIDTH) throw new LogError('MALFORMED', `bad tile width in ${path}`);
  }
  const extra = width === undefined ? {} : { width };
  if (levelText === 'entries') return { kind: 'entries', index, ...extra };
  const level = Number(levelText);
  if (level > MAX_TILE_LEVEL) throw new LogError('MALFORMED', `bad tile level in ${path}`);
  return { kind: 'hash', level, index, ...extra };
}

/**
 * The number of hashes (0–256) that hash tile (level, index) holds in the tree of `size`;
 * for entry bundle `index`, use level 0.
 * @throws TypeError for negative or unsafe arguments.
 */
export function tileWidth(level: number, index: number, size: number): number {
  assertIndex(level, 'tile level');
  assertIndex(index, 'tile index');
  assertIndex(size, 'tree size');
  // Complete hashes at tree level 8·level, minus those in earlier tiles of that level.
  const hashes = Math.floor(size / pow2(TILE_HEIGHT * level));
  return Math.min(Math.max(hashes - index * TILE_WIDTH, 0), TILE_WIDTH);
}

/**
 * Where the hash of a perfect subtree lives: tile (tileLevel, tileIndex), at level
 * `subLevel` (0–7) inside it, as node `subIndex` of that level (the hash of 2^subLevel
 * consecutive tile hashes starting at subIndex·2^subLevel; see ExpandedTile.node).
 * @throws TypeError for negative or unsafe ids.
 */
export function tileForNode(id: NodeId): {
  tileLevel: number;
  tileIndex: number;
  subLevel: number;
  subIndex: number;
} {
  assertIndex(id.level, 'node level');
  assertIndex(id.index, 'node index');
  const subLevel = id.level % TILE_HEIGHT;
  const perTile = pow2(TILE_HEIGHT - subLevel); // nodes of this level in one tile
  const tileIndex = Math.floor(id.index / perTile);
  return {
    tileLevel: (id.level - subLevel) / TILE_HEIGHT,
    tileIndex,
    subLevel,
    subIndex: id.index - tileIndex * perTile,
  };
}

/**
 * Where a node whose level is a multiple of 8 is stored as a tile hash: tile (tileLevel,
 * tileIndex), hash number `offset`. Undefined for other levels, which tiles do not store.
 * @throws TypeError for negative or unsafe ids.
 */
export function tileHashPosition(
  id: NodeId
): { tileLevel: number; tileIndex: number; offset: number } | undefined {
  assertIndex(id.level, 'node level');
  assertIndex(id.index, 'node index');
  if (id.level % TILE_HEIGHT !== 0) return undefined;
  const tileIndex = Math.floor(id.index / TILE_WIDTH);
  return {
    tileLevel: id.level / TILE_HEIGHT,
    tileIndex,
    offset: id.index - tileIndex * TILE_WIDTH,
  };
}

/**
 * The hash tiles of the tree of `size` (full, then the partial one, level by level), or
 * with `since`, only those that differ from the tree of size `since` (new or wider), like
 * Go's tlog.NewTiles. Entry bundles mirror level 0. Costs O((size - since) / 256).
 * @throws TypeError for negative or unsafe sizes or since > size.
 */
export function tilesForSize(size: number, since = 0): TilePath[] {
  assertIndex(size, 'tree size');
  assertIndex(since, 'old tree size');
  if (since > size) throw new TypeError(`old tree size ${since} exceeds tree size ${size}`);
  const out: TilePath[] = [];
  for (let level = 0; level <= MAX_TILE_LEVEL; level++) {
    const hashes = Math.floor(size / pow2(TILE_HEIGHT * level));
    if (hashes === 0) break;
    const full = Math.floor(hashes / TILE_WIDTH);
    // The first tile that changed: the one holding the first hash `since` did not have.
    const first = Math.floor(Math.floor(since / pow2(TILE_HEIGHT * level)) / TILE_WIDTH);
    for (let index = first; index < full; index++) out.push({ kind: 'hash', level, index });
    const width = hashes - full * TILE_WIDTH;
    if (width > 0 && tileWidth(level, full, since) !== width) {
      out.push({ kind: 'hash', level, index: full, width });
    }
  }
  return out;
}

/**
 * A hash tile with its interior tree levels, computed on demand and cached. A partial
 * tile can grow in place (`extend`) without recomputing the nodes it already had.
 */
export class ExpandedTile {
  // levels[k] has room for floor(width / 2^k) hashes of level k inside the tile; level 0
  // is the tile's data. known[k][i] is 1 once levels[k] hash i has been computed.
  private levels: Uint8Array[];
  private known: Uint8Array[];
  private w: number;

  /**
   * Wraps tile data (width·32 bytes, width 0–256); the data is copied.
   * @throws LogError MALFORMED when the length is not a multiple of 32 up to 8192 bytes.
   */
  constructor(data: Uint8Array) {
    this.w = checkTileData(data);
    this.levels = [new Uint8Array(data)];
    this.known = [new Uint8Array(0)];
    for (let k = 1; k <= TILE_HEIGHT; k++) {
      const n = Math.floor(this.w / pow2(k));
      this.levels.push(new Uint8Array(n * HASH_SIZE));
      this.known.push(new Uint8Array(n));
    }
  }

  /** The number of hashes in the tile (256 when full). */
  get width(): number {
    return this.w;
  }

  /** The tile's bytes (width·32): the hashes at level 0 of the tile. Do not mutate. */
  get data(): Uint8Array {
    return this.levels[0]!;
  }

  /**
   * The hash of node `subIndex` at level `subLevel` (0–8) inside the tile: the hash of
   * tile hashes [subIndex·2^subLevel, (subIndex+1)·2^subLevel). Returns a fresh array.
   * Precondition (invariant): that node is complete within the tile's width.
   */
  node(subLevel: number, subIndex: number): Uint8Array {
    invariant(
      Number.isInteger(subLevel) && subLevel >= 0 && subLevel <= TILE_HEIGHT,
      `tile sub-level ${subLevel} out of range`
    );
    invariant(
      Number.isInteger(subIndex) && subIndex >= 0 && (subIndex + 1) * pow2(subLevel) <= this.w,
      `node ${subLevel}/${subIndex} is not complete in a tile of width ${this.w}`
    );
    return new Uint8Array(this.hashAt(subLevel, subIndex));
  }

  /**
   * node() without the copy: a view of the tile's own memory, valid as long as the tile.
   * The caller must not mutate it. Same precondition, checked.
   */
  nodeView(subLevel: number, subIndex: number): Uint8Array {
    if (!(subLevel >= 0 && subLevel <= TILE_HEIGHT && subIndex >= 0 && (subIndex + 1) * 2 ** subLevel <= this.w)) {
      invariant(false, `node ${subLevel}/${subIndex} is not complete in a tile of width ${this.w}`);
    }
    return this.hashAt(subLevel, subIndex);
  }

  /**
   * Grows the tile to `newData`, a wider (or equal) version of the same tile, keeping every
   * interior node computed so far.
   * @throws LogError MALFORMED when `newData` is not tile data, is narrower, or does not
   *   start with the current data (a tile's hashes never change).
   */
  extend(newData: Uint8Array): void {
    const width = checkTileData(newData);
    const old = this.levels[0]!;
    if (width < this.w || !equalBytes(newData.subarray(0, old.length), old)) {
      throw new LogError('MALFORMED', 'new tile data does not extend the old tile');
    }
    this.levels[0] = new Uint8Array(newData);
    for (let k = 1; k <= TILE_HEIGHT; k++) {
      const n = Math.floor(width / pow2(k));
      const level = new Uint8Array(n * HASH_SIZE);
      level.set(this.levels[k]!);
      const known = new Uint8Array(n);
      known.set(this.known[k]!);
      this.levels[k] = level;
      this.known[k] = known;
    }
    this.w = width;
  }

  // A view of hash i at level k, computing (and caching) it from its children if needed.
  private hashAt(k: number, i: number): Uint8Array {
    const level = this.levels[k]!;
    const at = i * HASH_SIZE;
    if (k > 0 && this.known[k]![i] !== 1) {
      level.set(nodeHash(this.hashAt(k - 1, 2 * i), this.hashAt(k - 1, 2 * i + 1)), at);
      this.known[k]![i] = 1;
    }
    return level.subarray(at, at + HASH_SIZE);
  }
}

function checkTileData(data: Uint8Array): number {
  if (data.length % HASH_SIZE !== 0 || data.length > TILE_WIDTH * HASH_SIZE) {
    throw new LogError('MALFORMED', `tile data of ${data.length} bytes is not 0–256 hashes`);
  }
  return data.length / HASH_SIZE;
}
