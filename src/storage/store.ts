/**
 * The log's storage contract. candor has one writer (the integrator, src/log/integrator.ts)
 * and many readers (HTTP handlers). Two implementations run one shared contract suite
 * (test/storage/contract.ts): LevelStore on disk and MemoryStore for tests and benchmarks.
 *
 * What is stored:
 * - entries: the raw entry bytes by index (never re-encoded: these are the leaf bytes);
 * - hash tiles: c2sp.org/tlog-tiles hash tiles by (level, index), kept at their latest
 *   width: a partial tile grows until it holds 256 hashes and is then full and immutable.
 *   The partial tile of any earlier size is a prefix of the stored one;
 * - dedup index: leaf hash to index, so the same bytes are never logged twice;
 * - checkpoints: every signed checkpoint the log published, by tree size;
 * - metadata: the log's identity (origin, verifier key) and the store format version.
 *
 * Stored records are msgpack (src/storage/codec.ts); msgpack bytes are never hashed or
 * signed. Everything hashed or signed is the raw entry bytes or the C2SP text formats.
 */
import { assertIndex } from '../util/integers.js';

/** One integration, committed as a unit. */
export interface IntegrationBatch {
  /** Tree size before this batch; must equal the stored size or commit fails with CONFLICT. */
  readonly oldSize: number;
  /** Entries appended, in index order: entry i gets index oldSize + i. */
  readonly entries: readonly Uint8Array[];
  /** RFC 6962 leaf hash of each entry, parallel to `entries`. */
  readonly leafHashes: readonly Uint8Array[];
  /** Every hash tile whose content changed, at its new width (full: 8192 bytes). */
  readonly tiles: readonly StoredTile[];
  /** The new checkpoint: size oldSize + entries.length, signed note text. */
  readonly checkpoint: StoredCheckpoint;
}

/** A hash tile at its current width: `data.length` is 32 × width, 1 ≤ width ≤ 256. */
export interface StoredTile {
  readonly level: number;
  readonly index: number;
  readonly data: Uint8Array;
}

/** A checkpoint the log signed and published. */
export interface StoredCheckpoint {
  readonly size: number;
  readonly rootHash: Uint8Array;
  /** The complete signed note (c2sp.org/tlog-checkpoint body plus signature lines). */
  readonly note: string;
  /** When it was signed, in milliseconds since the Unix epoch. */
  readonly timestamp: number;
}

/** The log's identity, written once when a store is created. */
export interface LogMeta {
  readonly origin: string;
  readonly verifierKey: string;
}

export interface LogStore {
  /** Opens the store, creating it if missing. */
  open(): Promise<void>;
  /** Closes the store. Pending reads may fail with CLOSED afterwards. */
  close(): Promise<void>;

  /** The log's identity, or undefined for a new store. */
  readMeta(): Promise<LogMeta | undefined>;
  /** Records the log's identity. Durable (fsynced) when it resolves. */
  writeMeta(meta: LogMeta): Promise<void>;

  /** The latest committed checkpoint, or undefined for an empty log. */
  latestCheckpoint(): Promise<StoredCheckpoint | undefined>;
  /** The checkpoint published at exactly `size`, or undefined when none was. */
  readCheckpoint(size: number): Promise<StoredCheckpoint | undefined>;

  /**
   * Commits one integration atomically and durably: entries, dedup keys, tiles and the
   * checkpoint all land, or none does; when the promise resolves the data is fsynced.
   * Rejects with LogError CONFLICT, writing nothing, if the stored size is not
   * `batch.oldSize`. Single writer: callers must not run two commits concurrently.
   */
  commit(batch: IntegrationBatch): Promise<void>;

  /** Raw entry bytes for indices [start, end). Rejects NOT_FOUND if any is missing. */
  readEntries(start: number, end: number): Promise<Uint8Array[]>;
  /**
   * The tlog-tiles entry bundle `bundle` with its first `width` entries (1–256; each a
   * big-endian uint16 length, then its bytes), or undefined when the log does not hold
   * that many entries there.
   */
  readBundle(bundle: number, width: number): Promise<Uint8Array | undefined>;
  /** One entry, or undefined when the index is not in the log. */
  readEntry(index: number): Promise<Uint8Array | undefined>;
  /** The hash tile (level, index) at its latest width, or undefined when absent. */
  readTile(level: number, index: number): Promise<Uint8Array | undefined>;
  /** For each leaf hash, the index it was logged at, or undefined. */
  lookupLeafHashes(leafHashes: readonly Uint8Array[]): Promise<(number | undefined)[]>;
}

/** Bytes in a full hash tile: 256 hashes of 32 bytes. */
export const FULL_TILE_BYTES = 8192;

/**
 * Checks the shape of a batch before anything is written, so that a bad batch writes
 * nothing. These are programmer errors (the integrator builds batches), not bad input.
 * The Merkle content (that hashes and tiles agree) is not checked here: see checkLog.
 * @throws TypeError naming the first thing wrong.
 */
export function assertValidBatch(batch: IntegrationBatch): void {
  const { oldSize, entries, leafHashes, tiles, checkpoint } = batch;
  assertIndex(oldSize, 'batch.oldSize');
  if (!Array.isArray(entries) || !Array.isArray(leafHashes) || !Array.isArray(tiles)) {
    throw new TypeError('batch.entries, batch.leafHashes and batch.tiles must be arrays');
  }
  if (leafHashes.length !== entries.length) {
    throw new TypeError(`batch has ${entries.length} entries but ${leafHashes.length} leaf hashes`);
  }
  entries.forEach((e, i) => {
    if (!(e instanceof Uint8Array)) throw new TypeError(`batch.entries[${i}] is not a Uint8Array`);
  });
  leafHashes.forEach((h, i) => {
    if (!(h instanceof Uint8Array) || h.length !== 32) {
      throw new TypeError(`batch.leafHashes[${i}] is not a 32-byte Uint8Array`);
    }
  });
  const seen = new Set<string>();
  tiles.forEach((t, i) => {
    assertIndex(t.level, `batch.tiles[${i}].level`);
    if (t.level > 63) throw new TypeError(`batch.tiles[${i}].level is above 63`);
    assertIndex(t.index, `batch.tiles[${i}].index`);
    const n = t.data instanceof Uint8Array ? t.data.length : -1;
    if (n <= 0 || n % 32 !== 0 || n > FULL_TILE_BYTES) {
      throw new TypeError(`batch.tiles[${i}].data must be 32 × (1..256) bytes, got ${n}`);
    }
    const id = `${t.level}/${t.index}`;
    if (seen.has(id)) throw new TypeError(`batch writes tile ${id} twice`);
    seen.add(id);
  });
  const newSize = oldSize + entries.length;
  if (checkpoint.size !== newSize) {
    throw new TypeError(`batch.checkpoint.size is ${checkpoint.size}, want ${newSize}`);
  }
  assertIndex(newSize, 'batch.checkpoint.size');
  if (!(checkpoint.rootHash instanceof Uint8Array) || checkpoint.rootHash.length !== 32) {
    throw new TypeError('batch.checkpoint.rootHash is not a 32-byte Uint8Array');
  }
  if (typeof checkpoint.note !== 'string') {
    throw new TypeError('batch.checkpoint.note is not a string');
  }
  assertIndex(checkpoint.timestamp, 'batch.checkpoint.timestamp');
}

/**
 * A rewrite of damaged data in place, for `candor repair`: whole hash tiles and whole
 * entry bundles of the tree of the store's latest checkpoint. Never appends, never
 * changes the tree: a repair writes back the bytes the tree already commits to.
 */
export interface RepairWrite {
  /** Hash tiles, each at exactly its width in that tree. */
  readonly tiles: readonly StoredTile[];
  /** Entry bundles, each with exactly its entries in that tree (all of them). */
  readonly bundles: readonly { readonly index: number; readonly entries: readonly Uint8Array[] }[];
}

/** A LogStore that can be repaired (LevelStore and MemoryStore; contract-tested). */
export interface RepairableStore extends LogStore {
  /**
   * Writes `fix` atomically and durably, after checking that it is the tree's own data
   * (repair-check.ts): every tile must authenticate, through the stored tiles and the
   * others in `fix`, to the root of the store's latest checkpoint, and every entry must
   * hash to its leaf hash in its authenticated level-0 tile. The caller authenticates that
   * checkpoint (its signature under the log's key) before trusting the result. The leaf-hash
   * index is not touched (it is derived; `candor repair` rebuilds it).
   * @throws LogError PROOF_FAILED (writing nothing) when anything is not the tree's;
   *   MALFORMED for a tile or bundle of the wrong width; CLOSED when not open.
   */
  repair(fix: RepairWrite): Promise<void>;
}
