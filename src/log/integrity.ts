/**
 * Never serve a wrong byte: the checks the Log runs on everything it reads from its store
 * before it answers with it, whatever the store (LevelDB, or any other LogStore).
 *
 * Why here and not in the store. LevelDB (classic-level 3.0.0) is opened without
 * paranoid_checks and reads without verify_checksums: its binding (binding.cc) exposes
 * neither option, so a flipped bit in an `.ldb` table is returned as if it were data, and a
 * corrupt block of the write-ahead log is skipped with only a line in `db/LOG`. The Merkle
 * tree itself is a stronger checksum than LevelDB's CRCs, and the log has it anyway:
 *
 * - every entry served is hashed (one RFC 6962 leaf hash) and compared with its hash in the
 *   level-0 hash tile; a full entry bundle, once checked, is kept (bounded, by bytes) and
 *   served from memory, so it is never read from the store or hashed again;
 * - every hash tile read from the store is checked before it is used, for proofs or served:
 *   a tile that is full in the tree must hash (its 256 hashes, pairwise, 8 levels) to the
 *   hash one level up, in its parent tile, itself checked the same way; the partial tile at
 *   the right edge of each level must equal the integrator's in-memory edge, which was
 *   checked against the checkpoint's root when the log opened (Integrator.load). A checked
 *   tile stays in the tile cache, so each tile costs 255 node hashes once.
 *
 * A mismatch is a LogError CORRUPT naming the entry index or the tile (level/index), which
 * the HTTP layer answers with 500, never 200; the first one is remembered for /healthz.
 * `candor fsck` checks the whole store offline, and `candor repair` fixes what it finds.
 */
import { HASH_SIZE, leafHash } from '../merkle/hash.js';
import { ExpandedTile, TILE_HEIGHT, TILE_WIDTH, tileWidth } from '../merkle/tiles.js';
import { equalBytes } from '../util/bytes.js';
import { LogError } from '../util/errors.js';

/** What the checks need of the log: its committed size and right edge, and the tiles. */
export interface IntegritySource {
  /** The committed tree size. */
  size(): number;
  /**
   * The committed partial tile at the right edge of `level` (index and its hashes), or
   * undefined when that level has none (its hashes fill whole tiles).
   */
  edgeTile(level: number): { index: number; data: Uint8Array } | undefined;
  /** A checked tile with at least `minWidth` hashes (the tile cache, which calls back). */
  tile(level: number, index: number, minWidth: number): Promise<ExpandedTile>;
}

/** Bytes of checked full entry bundles kept in memory by default (32 MiB). */
export const DEFAULT_BUNDLE_CACHE_BYTES = 32 * 1024 * 1024;

/**
 * The integrity checks of one log, and the first corruption they found. Stateless but for
 * the bundle cache and that first finding.
 */
export class Integrity {
  private readonly source: IntegritySource;
  private readonly bundles: BundleCache;
  private first: string | undefined;
  /** Corruptions detected since the log opened (every CORRUPT answer counts once). */
  detected = 0;

  constructor(source: IntegritySource, bundleCacheBytes = DEFAULT_BUNDLE_CACHE_BYTES) {
    this.source = source;
    this.bundles = new BundleCache(bundleCacheBytes);
  }

  /** The message of the first corruption detected, or undefined while none was. */
  get corruption(): string | undefined {
    return this.first;
  }

  /** Records a corruption (for /healthz) and returns the LogError CORRUPT to throw. */
  corrupt(message: string, cause?: unknown): LogError {
    this.detected++;
    this.first ??= message;
    return new LogError('CORRUPT', message, cause === undefined ? {} : { cause });
  }

  /**
   * Records `err` when it is a LogError CORRUPT (the store's own findings: a missing or
   * undecodable record); returns it either way, for rethrowing.
   */
  note(err: unknown): unknown {
    if (err instanceof LogError && err.code === 'CORRUPT') {
      this.detected++;
      this.first ??= err.message;
    }
    return err;
  }

  /**
   * Reads tile (level, index) from the store with `read` and returns what of it may be
   * trusted: the full tile when the tree has it full, else the edge's prefix (never hashes
   * beyond the committed tree, which a store may briefly show). The tree is taken before
   * the read: a store never holds less than what was committed when a read began.
   * @throws LogError NOT_FOUND when the committed tree has no hashes in that tile;
   *   CORRUPT naming the tile when it is missing, short, or does not hash as it must.
   */
  async checkTile(level: number, index: number, read: () => Promise<Uint8Array | undefined>): Promise<Uint8Array> {
    const size = this.source.size();
    const edgeBefore = this.source.edgeTile(level); // replaced, never mutated, by commits
    const width = tileWidth(level, index, size);
    const name = `hash tile ${level}/${index}`;
    if (width === 0) throw new LogError('NOT_FOUND', `${name} is not in the tree of size ${size}`);
    let data: Uint8Array | undefined;
    try {
      data = await read();
    } catch (err) {
      throw this.note(err);
    }
    if (data === undefined) throw this.corrupt(`${name} is missing from the store (tree size ${size})`);
    if (data.length < width * HASH_SIZE) {
      const why = `${name} holds ${data.length / HASH_SIZE} hashes in the store, the tree has ${width}`;
      throw this.corrupt(why);
    }
    if (width < TILE_WIDTH) {
      // The right edge of this level: exactly the integrator's copy, checked at open against
      // the checkpoint's root and extended only by commits it computed itself.
      const edge = edgeBefore;
      const want = width * HASH_SIZE;
      if (edge === undefined || edge.index !== index || edge.data.length < want) {
        throw this.corrupt(`${name} is the right edge of the tree but the log has no such edge (size ${size})`);
      }
      const got = data.subarray(0, want);
      if (!equalBytes(got, edge.data.subarray(0, want))) {
        throw this.corrupt(`${name} in the store differs from the tree's right edge (size ${size})`);
      }
      return got;
    }
    // Full: its root is hash (index mod 256) of tile (level + 1, index / 256), whatever the
    // width of that parent (a node complete in the tree is the same in any wider tile).
    const full = data.subarray(0, TILE_WIDTH * HASH_SIZE);
    const root = new ExpandedTile(full).node(TILE_HEIGHT, 0);
    const parentIndex = Math.floor(index / TILE_WIDTH);
    const at = index - parentIndex * TILE_WIDTH;
    const parent = await this.source.tile(level + 1, parentIndex, at + 1);
    if (!equalBytes(root, parent.nodeView(0, at))) {
      throw this.corrupt(`${name} does not hash to its hash in tile ${level + 1}/${parentIndex}`);
    }
    return full;
  }

  /**
   * Checks one entry against its leaf hash.
   * @throws LogError CORRUPT naming the index when it does not match.
   */
  async checkEntry(index: number, entry: Uint8Array): Promise<void> {
    const n = Math.floor(index / TILE_WIDTH);
    const at = index - n * TILE_WIDTH;
    const tile = await this.source.tile(0, n, at + 1);
    if (!equalBytes(leafHash(entry), tile.nodeView(0, at))) {
      throw this.corrupt(`entry ${index} in the store does not match its leaf hash in hash tile 0/${n}`);
    }
  }

  /** A checked full bundle from memory, or undefined (then read, check, and `keep` it). */
  cachedBundle(index: number): Uint8Array | undefined {
    return this.bundles.get(index);
  }

  /**
   * Checks entry bundle `index` of `width` entries as read from the store: its framing, and
   * each entry against its leaf hash (one hash each). A full bundle is kept once checked.
   * @throws LogError CORRUPT naming the first entry that does not match, or the bundle when
   *   its framing is broken.
   */
  async checkBundle(index: number, width: number, bundle: Uint8Array): Promise<void> {
    const tile = await this.source.tile(0, index, width);
    const first = index * TILE_WIDTH;
    let at = 0;
    for (let i = 0; i < width; i++) {
      if (at + 2 > bundle.length) {
        throw this.corrupt(`entry bundle ${index} ends before entry ${first + i}`);
      }
      const len = bundle[at]! * 256 + bundle[at + 1]!;
      const end = at + 2 + len;
      if (len === 0 || end > bundle.length) {
        throw this.corrupt(`entry bundle ${index} has a bad length for entry ${first + i}`);
      }
      if (!equalBytes(leafHash(bundle.subarray(at + 2, end)), tile.nodeView(0, i))) {
        throw this.corrupt(`entry ${first + i} in the store does not match its leaf hash in hash tile 0/${index}`);
      }
      at = end;
    }
    if (at !== bundle.length) throw this.corrupt(`entry bundle ${index} has bytes after entry ${first + width - 1}`);
    if (width === TILE_WIDTH) this.bundles.set(index, bundle);
  }
}

/**
 * Checked full entry bundles by index, least recently used dropped first, bounded by the
 * bytes they hold (a bundle is 256 entries of up to 64 KiB: sizes vary by orders of
 * magnitude, so a count would bound nothing). A full bundle never changes.
 */
class BundleCache {
  private readonly map = new Map<number, Uint8Array>();
  private bytes = 0;

  constructor(private readonly capacity: number) {}

  get(index: number): Uint8Array | undefined {
    const b = this.map.get(index);
    if (b !== undefined) {
      this.map.delete(index);
      this.map.set(index, b);
    }
    return b;
  }

  set(index: number, bundle: Uint8Array): void {
    if (bundle.length > this.capacity || this.map.has(index)) return;
    this.map.set(index, bundle);
    this.bytes += bundle.length;
    while (this.bytes > this.capacity) {
      const oldest = this.map.entries().next();
      if (oldest.done === true) break;
      this.map.delete(oldest.value[0]);
      this.bytes -= oldest.value[1].length;
    }
  }
}
