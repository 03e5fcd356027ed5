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
  /** One entry, or undefined when the index is not in the log. */
  readEntry(index: number): Promise<Uint8Array | undefined>;
  /** The hash tile (level, index) at its latest width, or undefined when absent. */
  readTile(level: number, index: number): Promise<Uint8Array | undefined>;
  /** For each leaf hash, the index it was logged at, or undefined. */
  lookupLeafHashes(leafHashes: readonly Uint8Array[]): Promise<(number | undefined)[]>;
}
