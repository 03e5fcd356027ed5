/**
 * Reading a c2sp.org/tlog-tiles log over HTTP (specs §5): `HttpTileReader` serves Merkle
 * nodes of one tree size out of the log's hash tiles, so a verifier can build consistency
 * (or inclusion) proofs itself instead of trusting a proof API. Whatever the tiles say is
 * only a hint: proofs built from them are checked against signed root hashes, so lying
 * tiles make a proof fail, never pass.
 *
 * For a tree of `size`, tile (L, N) holds tileWidth(L, N, size) hashes. The reader fetches
 * exactly that width: the full tile `<url>/tile/<L>/<N>` when it holds 256, otherwise the
 * partial tile `<url>/tile/<L>/<N>.p/<W>`; never a partial width beyond the size. When a
 * partial tile is gone (404; logs may delete it once the full tile exists), it falls back
 * to the full tile, as the spec allows. Full tiles never change, so they are cached (an LRU
 * that several readers of the same log may share); partial tiles are not.
 *
 * Isomorphic: no `node:` imports, `fetch` is injected, timeouts use AbortSignal.timeout.
 *
 * @example
 * const reader = new HttpTileReader('https://log.example', 1000, { fetch });
 * const proof = await proveConsistencyAsync(700, 1000, reader);
 * verifyConsistency(700, 1000, proof, oldRoot, newRoot);
 */
import { HASH_SIZE } from '../merkle/hash.js';
import { ExpandedTile, TILE_WIDTH, formatTilePath, tileForNode, tileWidth } from '../merkle/tiles.js';
import type { NodeId, NodeReader } from '../merkle/tree.js';
import { LogError } from '../util/errors.js';
import { assertIndex, pow2 } from '../util/integers.js';
import { readBodyCapped } from '../util/http-body.js';

/**
 * The fetch this module needs (the global `fetch` fits). Contract: resolves with the
 * response once its headers arrive, rejects on transport failure; honours `init.signal`.
 */
export type FetchFn = (url: string, init?: RequestInit) => Promise<Response>;

/** Default bound, in milliseconds, on one HTTP exchange (headers and body). */
export const DEFAULT_FETCH_TIMEOUT_MS = 10_000;

/** A response whose body was read completely (and within its size cap). */
export interface FetchedBytes {
  status: number;
  headers: Headers;
  body: Uint8Array;
}

/** Options for fetchBytes. */
export interface FetchBytesOptions {
  /** Bound on the whole exchange, in milliseconds; default DEFAULT_FETCH_TIMEOUT_MS. */
  timeoutMs?: number;
  /** Largest body accepted; a longer one is abandoned. */
  maxBytes: number;
  method?: string;
  body?: Uint8Array | string;
  headers?: Record<string, string>;
}

/**
 * Does one HTTP exchange with a time bound and a body cap, whatever the status.
 * @throws LogError TIMEOUT when the request fails or does not finish in time; TOO_LARGE
 *   when the body exceeds `maxBytes`.
 */
export async function fetchBytes(
  fetchFn: FetchFn,
  url: string,
  options: FetchBytesOptions
): Promise<FetchedBytes> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_FETCH_TIMEOUT_MS;
  const init: RequestInit = { signal: AbortSignal.timeout(timeoutMs) };
  if (options.method !== undefined) init.method = options.method;
  if (options.body !== undefined) init.body = options.body as BodyInit;
  if (options.headers !== undefined) init.headers = options.headers;
  // A second, independent bound: an injected fetch may ignore the signal.
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    const res = await Promise.race([fetchFn(url, init), deadline]);
    const body = await Promise.race([readBodyCapped(res, options.maxBytes, url), deadline]);
    return { status: res.status, headers: res.headers, body };
  } catch (err) {
    if (err instanceof LogError) throw err;
    const why = err instanceof Error ? err.message : String(err);
    throw new LogError('TIMEOUT', `${options.method ?? 'GET'} ${url} failed: ${why}`, {
      cause: err,
    });
  } finally {
    clearTimeout(timer);
  }
}

/**
 * An LRU of full hash tiles with their interior nodes. Full tiles are immutable, so any
 * reader of the same log may share one cache; entries are keyed by log URL and tile.
 */
export class FullTileCache {
  private readonly map = new Map<string, ExpandedTile>();
  private readonly capacity: number;

  /** @param capacity Most tiles kept (each at most 16 KiB with interior nodes). */
  constructor(capacity = 1024) {
    this.capacity = capacity;
  }

  /** The cached full tile, if any. */
  get(url: string, level: number, index: number): ExpandedTile | undefined {
    const key = `${url} ${level}/${index}`;
    const tile = this.map.get(key);
    if (tile !== undefined) {
      this.map.delete(key);
      this.map.set(key, tile);
    }
    return tile;
  }

  /** Keeps a full tile (width 256). */
  put(url: string, level: number, index: number, tile: ExpandedTile): void {
    const key = `${url} ${level}/${index}`;
    this.map.delete(key);
    this.map.set(key, tile);
    while (this.map.size > this.capacity) {
      const oldest = this.map.keys().next();
      if (oldest.done === true) break;
      this.map.delete(oldest.value);
    }
  }

  /** Number of tiles held. */
  get size(): number {
    return this.map.size;
  }
}

/** Options for HttpTileReader. */
export interface HttpTileReaderOptions {
  fetch: FetchFn;
  /** Shared cache of full tiles; default: a private one. */
  cache?: FullTileCache;
  /** Bound on each tile fetch, in milliseconds; default DEFAULT_FETCH_TIMEOUT_MS. */
  timeoutMs?: number;
}

/** A NodeReader over the hash tiles a tlog-tiles log serves for one tree size. */
export class HttpTileReader implements NodeReader {
  /** The log's URL prefix, without a trailing slash. */
  readonly url: string;
  /** The tree size whose tiles are read. */
  readonly size: number;
  private readonly fetchFn: FetchFn;
  private readonly cache: FullTileCache;
  private readonly timeoutMs: number;

  /**
   * Does no I/O.
   * @throws TypeError when `size` is not a non-negative safe integer.
   */
  constructor(url: string, size: number, options: HttpTileReaderOptions) {
    assertIndex(size, 'tree size');
    this.url = url.replace(/\/+$/, '');
    this.size = size;
    this.fetchFn = options.fetch;
    this.cache = options.cache ?? new FullTileCache();
    this.timeoutMs = options.timeoutMs ?? DEFAULT_FETCH_TIMEOUT_MS;
  }

  /**
   * The hashes of `ids`, in order, fetching each needed tile once (in parallel).
   * @throws LogError MALFORMED when a node is not complete in the tree of this size, or a
   *   tile has the wrong length; NOT_FOUND when the log does not serve a tile (404);
   *   PUSHBACK for another non-200 status; TIMEOUT on transport failure.
   */
  async readNodes(ids: readonly NodeId[]): Promise<Uint8Array[]> {
    const where = ids.map((id) => {
      const t = tileForNode(id);
      const width = tileWidth(t.tileLevel, t.tileIndex, this.size);
      if ((t.subIndex + 1) * pow2(t.subLevel) > width) {
        const node = `${id.level}/${id.index}`;
        throw new LogError('MALFORMED', `node ${node} is not in the tree of size ${this.size}`);
      }
      return { key: `${t.tileLevel}/${t.tileIndex}`, t, width };
    });
    const pending = new Map<string, Promise<ExpandedTile>>();
    for (const { key, t, width } of where) {
      if (!pending.has(key)) pending.set(key, this.tile(t.tileLevel, t.tileIndex, width));
    }
    const tiles = new Map<string, ExpandedTile>();
    await Promise.all(
      [...pending].map(async ([key, p]) => {
        tiles.set(key, await p);
      })
    );
    return where.map(({ key, t }) => tiles.get(key)!.node(t.subLevel, t.subIndex));
  }

  // Tile (level, index) with at least `width` hashes: cached full tile, exact partial, or
  // the full tile when the partial one is gone.
  private async tile(level: number, index: number, width: number): Promise<ExpandedTile> {
    const cached = this.cache.get(this.url, level, index);
    if (cached !== undefined) return cached;
    if (width < TILE_WIDTH) {
      const partial = await this.get(level, index, width);
      if (partial !== undefined) return new ExpandedTile(partial);
    }
    const full = await this.get(level, index, TILE_WIDTH);
    if (full === undefined) {
      const path = formatTilePath({ kind: 'hash', level, index, width });
      throw new LogError('NOT_FOUND', `${this.url}/${path}: the log does not serve this tile`);
    }
    const tile = new ExpandedTile(full);
    this.cache.put(this.url, level, index, tile);
    return tile;
  }

  // One tile fetch: its bytes, or undefined on 404.
  private async get(level: number, index: number, width: number): Promise<Uint8Array | undefined> {
    const url = `${this.url}/${formatTilePath({ kind: 'hash', level, index, width })}`;
    const want = width * HASH_SIZE;
    const res = await fetchBytes(this.fetchFn, url, { timeoutMs: this.timeoutMs, maxBytes: want });
    if (res.status === 404) return undefined;
    if (res.status !== 200) throw new LogError('PUSHBACK', `${url}: HTTP ${res.status}`);
    if (res.body.length !== want) {
      throw new LogError('MALFORMED', `${url}: ${res.body.length} bytes, want ${want}`);
    }
    return res.body;
  }
}
