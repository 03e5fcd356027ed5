/**
 * Authenticated reading of a c2sp.org/tlog-tiles log (specs §5): every hash tile and entry
 * this reader returns has been checked against a trusted tree (size and root hash, from a
 * verified checkpoint), so a lying server is caught, never believed.
 *
 * How a tile is authenticated. Hash tile (L, N) holds the nodes at tree level k = 8·L with
 * indices j = 256·N … 256·N + W - 1 (W = its width in that tree). The reader computes, from
 * tiles, the RFC 6962 inclusion path of node (k, j) — the path of leaf j·2^k without its
 * first k steps, which lie inside the node — and checks it leads from the tile's first hash
 * to the trusted root. Viewed at level k, the tree of `size` leaves is exactly the RFC 6962
 * tree of ceil(size / 2^k) "leaves" (RFC 6962 splits at powers of two, so every split is on
 * a 2^k boundary), so verifyInclusion checks it as leaf j of that tree. The siblings on that
 * path inside the tile's block are hashed from the tile's other W - 1 hashes, all of them,
 * so the check authenticates the whole tile, not just its first hash. Every node of one
 * check is read from one snapshot of the tiles involved, so a server answering differently
 * to repeated requests gains nothing.
 *
 * Entry bundles are authenticated through their level-0 tile: entry i must hash (RFC 6962
 * leaf hash) to hash i of the authenticated tile.
 *
 * A partial tile the server no longer has (404) is replaced by the full tile's prefix, as
 * the spec allows. Tiles are cached by path (full and partial tiles never change); a tile
 * that took part in a failed check is dropped from the cache.
 */
import { HASH_SIZE, leafHash } from '../merkle/hash.js';
import {
  ExpandedTile,
  TILE_HEIGHT,
  TILE_WIDTH,
  formatTilePath,
  tileForNode,
  tileWidth,
  type TilePath,
} from '../merkle/tiles.js';
import {
  foldRange,
  inclusionPlan,
  rangeNodes,
  type NodeId,
  type NodeReader,
} from '../merkle/tree.js';
import { verifyInclusion } from '../merkle/verify.js';
import { equalBytes, toBase64 } from '../util/bytes.js';
import { LogError, isLogError } from '../util/errors.js';
import { assertIndex, pow2 } from '../util/integers.js';
import { Lru, httpGet } from './http.js';
import { DEFAULT_FETCH_TIMEOUT_MS, type FetchFn } from './tile-reader.js';

/** A tree the caller trusts: the size and root hash of a verified checkpoint. */
export interface TrustedTree {
  size: number;
  rootHash: Uint8Array;
}

/** Options for VerifiedTileReader. */
export interface VerifiedTileReaderOptions {
  /** The fetch to use; default the global fetch. */
  fetch?: FetchFn;
  /** Bound on each request in milliseconds; default 10 s. */
  timeoutMs?: number;
  /** Tiles kept in memory (each at most 16 KiB); default 512. */
  cacheSize?: number;
}

/** Largest entry the tlog-tiles bundle format can carry (a uint16 length). */
const MAX_ENTRY = 65535;

/**
 * Reads hash tiles and entry bundles of one log and returns only what it authenticated
 * against the TrustedTree given with each call (see the module comment).
 * @example
 * const tiles = new VerifiedTileReader('https://log.example', { fetch });
 * const cp = await client.checkpoint(); // any verified checkpoint
 * const entries = await tiles.entryBundle(0, cp); // first 256 entries, authenticated
 */
export class VerifiedTileReader {
  /** The log's URL prefix, without a trailing slash. */
  readonly url: string;
  private readonly fetchFn: FetchFn;
  private readonly timeoutMs: number;
  private readonly raw: Lru<ExpandedTile>;
  private readonly verified: Lru<ExpandedTile>;
  private readonly inflight = new Map<string, Promise<ExpandedTile>>();

  /** Does no I/O. */
  constructor(url: string, options: VerifiedTileReaderOptions = {}) {
    this.url = url.replace(/\/+$/, '');
    this.fetchFn = options.fetch ?? ((u, init) => globalThis.fetch(u, init));
    this.timeoutMs = options.timeoutMs ?? DEFAULT_FETCH_TIMEOUT_MS;
    this.raw = new Lru(options.cacheSize ?? 512);
    this.verified = new Lru(options.cacheSize ?? 512);
  }

  /**
   * Hash tile (level, index) of `tree`, authenticated: tileWidth(level, index, size) hashes.
   * @throws LogError NOT_FOUND when the tree has no such tile; PROOF_FAILED when the tiles
   *   do not lead to the root (the server lied); MALFORMED for a tile of the wrong length;
   *   PUSHBACK / TIMEOUT / TOO_LARGE on HTTP failures.
   */
  async hashTile(level: number, index: number, tree: TrustedTree): Promise<Uint8Array> {
    return new Uint8Array((await this.authenticate(level, index, tree)).data);
  }

  /**
   * The authenticated leaf hash of entry `index` of `tree`.
   * @throws LogError NOT_FOUND when index ≥ tree size; otherwise as hashTile.
   */
  async leafHash(index: number, tree: TrustedTree): Promise<Uint8Array> {
    checkIndex(index, tree);
    const n = Math.floor(index / TILE_WIDTH);
    return (await this.authenticate(0, n, tree)).node(0, index - n * TILE_WIDTH);
  }

  /**
   * The entries of bundle `index` in `tree` (tileWidth(0, index, size) of them), each checked
   * against the authenticated level-0 tile. With `from`/`to`, only entries [from, to) of the
   * bundle (positions 0–256) are checked and returned.
   * @throws LogError ENTRY_MISMATCH when an entry does not hash to the log's leaf hash;
   *   MALFORMED for a badly framed bundle; otherwise as hashTile.
   */
  async entryBundle(
    index: number,
    tree: TrustedTree,
    from = 0,
    to = TILE_WIDTH
  ): Promise<Uint8Array[]> {
    const width = tileWidth(0, index, tree.size);
    if (width === 0) throw new LogError('NOT_FOUND', `entry bundle ${index} is beyond the tree`);
    const [tile, entries] = await Promise.all([
      this.authenticate(0, index, tree),
      this.fetchBundle(index, width),
    ]);
    const out: Uint8Array[] = [];
    for (let i = from; i < Math.min(to, width); i++) {
      if (!equalBytes(leafHash(entries[i]!), tile.node(0, i))) {
        const at = index * TILE_WIDTH + i;
        const why = `${this.url}: entry ${at} does not hash to the log's leaf hash`;
        throw new LogError('ENTRY_MISMATCH', why);
      }
      out.push(entries[i]!);
    }
    return out;
  }

  /**
   * A NodeReader whose every hash comes from a tile authenticated against `tree`, e.g. to
   * build consistency proofs from tiles with proveConsistencyAsync.
   */
  nodeReader(tree: TrustedTree): NodeReader {
    return {
      readNodes: async (ids: readonly NodeId[]): Promise<Uint8Array[]> =>
        Promise.all(
          ids.map(async (id) => {
            const t = tileForNode(id);
            const width = tileWidth(t.tileLevel, t.tileIndex, tree.size);
            if ((t.subIndex + 1) * pow2(t.subLevel) > width) {
              const at = `${id.level}/${id.index}`;
              throw new LogError('MALFORMED', `node ${at} is not in the tree of size ${tree.size}`);
            }
            const tile = await this.authenticate(t.tileLevel, t.tileIndex, tree);
            return tile.node(t.subLevel, t.subIndex);
          })
        ),
    };
  }

  // Fetches tile (level, index) and checks it against the tree (module comment).
  private async authenticate(
    level: number,
    index: number,
    tree: TrustedTree
  ): Promise<ExpandedTile> {
    assertIndex(index, 'tile index');
    const { size, rootHash } = tree;
    const width = tileWidth(level, index, size);
    if (width === 0) {
      throw new LogError('NOT_FOUND', `tile ${level}/${index} is beyond the tree of size ${size}`);
    }
    const key = `${size} ${toBase64(rootHash)} ${level}/${index}`;
    const known = this.verified.get(key);
    if (known !== undefined) return known;
    // The path of node (k, j): the leaf ranges of its hashes, bottom up, each split into
    // stored nodes; then every tile holding one of those nodes, and this tile.
    const k = TILE_HEIGHT * level;
    const j = index * TILE_WIDTH;
    const path = inclusionPlan(j * pow2(k), size)
      .slice(k)
      .map(([lo, hi]) => rangeNodes(lo, hi));
    const paths = new Map<string, TilePath & { kind: 'hash' }>();
    paths.set(`${level}/${index}`, { kind: 'hash', level, index, width });
    for (const id of path.flat()) {
      const t = tileForNode(id);
      const w = tileWidth(t.tileLevel, t.tileIndex, size);
      paths.set(`${t.tileLevel}/${t.tileIndex}`, {
        kind: 'hash',
        level: t.tileLevel,
        index: t.tileIndex,
        width: w,
      });
    }
    // One snapshot of those tiles serves every node of this check.
    const snapshot = new Map<string, ExpandedTile>();
    await Promise.all(
      [...paths].map(async ([at, p]) => {
        snapshot.set(at, await this.fetchTile(p.level, p.index, p.width!));
      })
    );
    const node = (id: NodeId): Uint8Array => {
      const t = tileForNode(id);
      return snapshot.get(`${t.tileLevel}/${t.tileIndex}`)!.node(t.subLevel, t.subIndex);
    };
    const tile = snapshot.get(`${level}/${index}`)!;
    const proof = path.map((ids) => foldRange(ids.map(node)));
    try {
      verifyInclusion(tile.node(0, 0), j, Math.ceil(size / pow2(k)), proof, rootHash);
    } catch (err) {
      if (!isLogError(err, 'PROOF_FAILED')) throw err;
      for (const p of paths.values()) this.raw.delete(formatTilePath(p));
      throw new LogError(
        'PROOF_FAILED',
        `${this.url}: tile ${level}/${index} does not match the checkpoint's root hash`
      );
    }
    this.verified.set(key, tile);
    return tile;
  }

  // Tile bytes of exactly `width` hashes: the partial tile, or the full tile's prefix.
  // Concurrent asks for one tile (a proof's nodes often share tiles) share one request.
  private fetchTile(level: number, index: number, width: number): Promise<ExpandedTile> {
    const path = formatTilePath({ kind: 'hash', level, index, width });
    const cached = this.raw.get(path);
    if (cached !== undefined) return Promise.resolve(cached);
    let pending = this.inflight.get(path);
    if (pending === undefined) {
      pending = this.downloadTile(path, level, index, width).finally(() => this.inflight.delete(path));
      this.inflight.set(path, pending);
    }
    return pending;
  }

  private async downloadTile(path: string, level: number, index: number, width: number): Promise<ExpandedTile> {
    const want = width * HASH_SIZE;
    let data = await this.fetch(path, want);
    if (data === undefined && width < TILE_WIDTH) {
      const full = formatTilePath({ kind: 'hash', level, index });
      data = (await this.fetch(full, TILE_WIDTH * HASH_SIZE))?.subarray(0, want);
    }
    if (data === undefined) throw new LogError('NOT_FOUND', `${this.url}/${path}: not served`);
    if (data.length !== want) {
      throw new LogError('MALFORMED', `${this.url}/${path}: ${data.length} bytes, want ${want}`);
    }
    const tile = new ExpandedTile(data);
    this.raw.set(path, tile);
    return tile;
  }

  // The entries of bundle `index`, exactly `width` of them (unauthenticated).
  private async fetchBundle(index: number, width: number): Promise<Uint8Array[]> {
    const path = formatTilePath({ kind: 'entries', index, width });
    let body = await this.fetch(path, width * (2 + MAX_ENTRY));
    let count = width;
    if (body === undefined && width < TILE_WIDTH) {
      const full = formatTilePath({ kind: 'entries', index });
      body = await this.fetch(full, TILE_WIDTH * (2 + MAX_ENTRY));
      count = TILE_WIDTH;
    }
    if (body === undefined) throw new LogError('NOT_FOUND', `${this.url}/${path}: not served`);
    const entries = parseBundle(body, `${this.url}/${path}`);
    if (entries.length !== count) {
      const why = `${this.url}/${path}: ${entries.length} entries, want ${count}`;
      throw new LogError('MALFORMED', why);
    }
    return entries.slice(0, width);
  }

  // One GET: the body on 200, undefined on 404; other statuses throw.
  private async fetch(path: string, maxBytes: number): Promise<Uint8Array | undefined> {
    const options = { maxBytes, timeoutMs: this.timeoutMs, allow404: true };
    return httpGet(this.fetchFn, `${this.url}/${path}`, options);
  }
}

// Splits an entry bundle: each entry is a big-endian uint16 length and that many bytes.
function parseBundle(body: Uint8Array, where: string): Uint8Array[] {
  const entries: Uint8Array[] = [];
  let off = 0;
  while (off < body.length) {
    const n = off + 2 <= body.length ? body[off]! * 256 + body[off + 1]! : Infinity;
    if (off + 2 + n > body.length) throw new LogError('MALFORMED', `${where}: truncated entry`);
    entries.push(body.slice(off + 2, off + 2 + n));
    off += 2 + n;
  }
  return entries;
}

function checkIndex(index: number, tree: TrustedTree): void {
  assertIndex(index, 'entry index');
  if (index >= tree.size) {
    throw new LogError('NOT_FOUND', `entry ${index} is not in the tree of size ${tree.size}`);
  }
}
