/**
 * The leaf-hash index (leaf hash → first index) of a LevelStore, in a LevelDB of its own
 * (`<store>/dedup`), kept as data derived from the log rather than part of its commits.
 *
 * Why apart. Each entry adds one key at a random place in the hash space. In the log's own
 * LevelDB those keys made every compaction reach across the whole key range and rewrite
 * the entries along with them: appends fell from 170k/s at 1M entries to 40k/s at 10M on
 * the reference machine. The log's keys (entry chunks, tiles, checkpoints) are all written
 * in order and compact almost for free; the random keys now compact among themselves.
 *
 * How it stays exact. The log commits (fsynced) first; then its leaf hashes are queued here
 * and written in the background, many commits per LevelDB batch, without fsync, together
 * with a watermark: the log size the index covers and the root hash at that size. Until a
 * batch is written, lookups answer it from memory, so the index never misses a committed
 * leaf. After a crash the watermark is behind: open() re-reads the missing leaf hashes from
 * the log's level-0 hash tiles (which hold every leaf hash) and writes them before anything
 * is served. An index whose watermark is ahead of the log or whose root does not match the
 * log's checkpoint at that size (another log's, or a restored copy) is cleared and rebuilt.
 *
 * A log never holds the same leaf twice (the integrator places a known leaf at its first
 * index), so each hash is written once and the order of writes does not matter.
 */
import { Level } from 'level';
import { LogError } from '../util/errors.js';
import { equalBytes } from '../util/bytes.js';
import { HashIndex } from '../util/hash-index.js';
import * as codec from './codec.js';
import { flushMemtable } from './free-space.js';

type Bytes = Uint8Array;
const VIEW = { keyEncoding: 'view', valueEncoding: 'view' } as const;

/** The watermark's key: 9 bytes, never a 32-byte leaf hash. */
export const WATERMARK_KEY = new TextEncoder().encode('watermark');

/**
 * Why a LevelDB directory would not open: level says only "Database failed to open", and
 * its cause has LevelDB's own words; without a cause, the error's own message.
 */
export function openFailureDetail(err: unknown): string {
  return String((err as { cause?: { message?: unknown } }).cause?.message ?? (err as Error).message);
}

/** Committed entries at most waiting for the index before commits wait for it instead. */
export const MAX_PENDING_ENTRIES = 2 ** 20;

/** What the index needs of the log to rebuild itself. */
export interface DedupSource {
  /** The log's committed size. */
  size: number;
  /** The root hash of the log at `size`, or undefined when the log keeps none for it. */
  rootAt(size: number): Promise<Uint8Array | undefined>;
  /** The stored level-0 hash tile `index` (leaf hashes), at its latest width. */
  leafTile(index: number): Promise<Uint8Array | undefined>;
}

/** One commit's leaf hashes, waiting to be written. */
interface Pending {
  oldSize: number;
  hashes: readonly Uint8Array[];
  newSize: number;
  rootHash: Uint8Array;
  /**
   * Where each hash is, built on the first lookup that needs it (lookups are rare: the log
   * asks only for leaves its Bloom filter cannot rule out).
   */
  index?: HashIndex;
}

export class DedupIndex {
  private db: Level<Bytes, Bytes> | undefined;
  private pending: Pending[] = [];
  private pendingEntries = 0;
  private writing: Promise<void> | undefined;
  private failure: unknown;

  /**
   * @param maxPending committed entries that may wait for the index before commits wait
   *   for it instead (default MAX_PENDING_ENTRIES).
   * @param options LevelDB options (the store passes its own: write buffer, compression).
   */
  constructor(
    readonly dir: string,
    private readonly maxPending = MAX_PENDING_ENTRIES,
    private readonly options: { writeBufferSize?: number; compression?: boolean } = {}
  ) {}

  /**
   * Opens (creating) the index and brings it up to the log (see the module comment).
   * @throws Error when the directory cannot be opened; LogError CORRUPT when the log's
   *   tiles do not hold the leaf hashes it needs.
   */
  async open(source: DedupSource): Promise<void> {
    const db = new Level<Bytes, Bytes>(this.dir, { ...VIEW, ...this.options });
    try {
      await db.open();
    } catch (err) {
      const detail = openFailureDetail(err);
      const why = `it is derived from the log, so \`candor repair --data DIR\` rebuilds it`;
      throw new Error(`cannot open the leaf-hash index ${this.dir}: ${detail} (${why})`, { cause: err });
    }
    this.db = db;
    this.pending = [];
    this.pendingEntries = 0;
    this.failure = undefined;
    try {
      await this.catchUp(source);
    } catch (err) {
      this.db = undefined;
      await db.close();
      throw err;
    }
  }

  /**
   * Writes what is queued, then closes; with `flush` (a healthy store's clean close) it
   * writes its memtable out first, so the next open replays nothing (free-space.ts).
   */
  async close(flush = false): Promise<void> {
    const db = this.db;
    if (db === undefined) return;
    await this.flush().catch(() => undefined);
    this.db = undefined;
    if (flush && this.failure === undefined) await flushMemtable(db);
    await db.close();
  }

  /**
   * Queues a commit's leaf hashes (indices oldSize, oldSize + 1, …) once the log holds
   * them durably. Resolves at once, or, when MAX_PENDING_ENTRIES are already waiting,
   * once the writer has caught up (backpressure on the append path). Never rejects: a
   * failed background write is reported by `failure`, and queued leaves stay answerable.
   */
  async add(oldSize: number, hashes: readonly Uint8Array[], rootHash: Uint8Array): Promise<void> {
    this.pending.push({ oldSize, hashes, newSize: oldSize + hashes.length, rootHash });
    this.pendingEntries += hashes.length;
    this.kick();
    while (this.pendingEntries > this.maxPending && this.writing !== undefined && this.failure === undefined) {
      await this.writing;
    }
  }

  /** The first index of each hash, among written and queued leaves. */
  async lookup(hashes: readonly Uint8Array[]): Promise<(number | undefined)[]> {
    const db = this.use();
    const out = new Array<number | undefined>(hashes.length);
    const ask: number[] = [];
    for (let i = 0; i < hashes.length; i++) {
      const h = hashes[i]!;
      const queued = this.findPending(h);
      if (queued === undefined) ask.push(i);
      else out[i] = queued;
    }
    if (ask.length > 0) {
      const values = await db.getMany(ask.map((i) => hashes[i]!));
      for (let j = 0; j < ask.length; j++) {
        const v = values[j];
        // A batch written meanwhile left `pending`, and getMany sees it: either way found.
        out[ask[j]!] = v === undefined ? this.findPending(hashes[ask[j]!]!) : codec.decodeIndex(v);
      }
    }
    return out;
  }

  /** The error of a failed background write (LogError STORAGE), if one failed. */
  get failed(): unknown {
    return this.failure;
  }

  /** Resolves once everything queued so far is written (not fsynced). */
  async flush(): Promise<void> {
    while (this.writing !== undefined) await this.writing;
    if (this.failure !== undefined) throw this.failure;
  }

  /** Test seam: writes one filled batch (leaf hashes and the watermark), without fsync. */
  protected async write(batch: ChainedBatch): Promise<void> {
    await batch.write();
  }

  private findPending(h: Uint8Array): number | undefined {
    for (const b of this.pending) {
      b.index ??= HashIndex.of(b.hashes);
      const at = b.index.get(b.hashes, h);
      if (at !== undefined) return b.oldSize + at;
    }
    return undefined;
  }

  private kick(): void {
    if (this.writing !== undefined || this.db === undefined) return;
    const db = this.db;
    this.writing = (async () => {
      while (this.pending.length > 0 && this.failure === undefined) {
        const group = this.pending.slice();
        // Newest first, each commit's hashes last to first: within one LevelDB batch a later
        // put of a key wins, so a hash repeated in the group keeps its first index.
        const batch = db.batch();
        for (let g = group.length - 1; g >= 0; g--) putIndices(batch, group[g]!.hashes, group[g]!.oldSize);
        const last = group[group.length - 1]!;
        batch.put(WATERMARK_KEY, codec.encodeDedupWatermark({ size: last.newSize, rootHash: last.rootHash }));
        try {
          await this.write(batch);
        } catch (err) {
          // The log is intact; only this index lags. Commits now fail until a reopen,
          // which rebuilds the index from the log's tiles.
          const why = err instanceof Error ? err.message : String(err);
          const message =
            `the leaf-hash index ${this.dir} could not be written (${why}); the store reopens itself`;
          this.failure = new LogError('STORAGE', message, { cause: err });
          break;
        }
        this.pending.splice(0, group.length);
        for (const b of group) this.pendingEntries -= b.hashes.length;
      }
    })().finally(() => {
      this.writing = undefined;
    });
  }

  /** Brings the index up to the log, rebuilding it when it is not this log's. */
  private async catchUp(source: DedupSource): Promise<void> {
    const db = this.use();
    const raw = await db.get(WATERMARK_KEY);
    let from = 0;
    if (raw !== undefined) {
      const mark = codec.decodeDedupWatermark(raw);
      const root = mark.size <= source.size ? await source.rootAt(mark.size) : undefined;
      if (root !== undefined && equalBytes(root, mark.rootHash)) from = mark.size;
      else await db.clear();
    } else if ((await db.keys({ limit: 1 }).all()).length > 0) {
      await db.clear();
    }
    if (from >= source.size) return;
    const rootHash = await source.rootAt(source.size);
    if (rootHash === undefined) {
      throw new LogError('CORRUPT', `the log keeps no checkpoint of its own size ${source.size}`);
    }
    // Re-read the leaf hashes of [from, size) from the level-0 tiles, a tile at a time,
    // in batches of about 64k puts.
    let batch = db.batch();
    let queued = 0;
    for (let tile = Math.floor(from / 256); tile * 256 < source.size; tile++) {
      const data = await source.leafTile(tile);
      const first = tile * 256;
      const end = Math.min(first + 256, source.size);
      if (data === undefined || data.length < (end - first) * 32) {
        await batch.close();
        throw new LogError('CORRUPT', `level-0 tile ${tile} is missing leaf hashes of the log`);
      }
      const start = Math.max(from, first);
      const hashes: Uint8Array[] = [];
      for (let i = start; i < end; i++) hashes.push(data.subarray((i - first) * 32, (i - first + 1) * 32));
      putIndices(batch, hashes, start);
      queued += hashes.length;
      if (queued >= 65536 || end === source.size) {
        if (end === source.size) batch.put(WATERMARK_KEY, codec.encodeDedupWatermark({ size: source.size, rootHash }));
        await this.write(batch);
        batch = db.batch();
        queued = 0;
      }
    }
    await batch.close();
  }

  private use(): Level<Bytes, Bytes> {
    if (this.db === undefined) throw new LogError('CLOSED', `leaf-hash index ${this.dir} is not open`);
    return this.db;
  }
}

type ChainedBatch = ReturnType<Level<Bytes, Bytes>['batch']>;

/**
 * Puts hashes[i] → index oldSize + i, last to first (see the writer), the values packed
 * into one buffer when they are msgpack uint32s (LevelDB copies keys and values).
 */
function putIndices(batch: ChainedBatch, hashes: readonly Uint8Array[], oldSize: number): void {
  const n = hashes.length;
  const packed = oldSize >= 0x10000 && oldSize + n <= 0x100000000;
  const values = packed ? new Uint8Array(n * 5) : undefined;
  for (let i = n - 1; i >= 0; i--) {
    let value: Uint8Array;
    if (values !== undefined) {
      codec.writeUint32Index(values, i * 5, oldSize + i);
      value = values.subarray(i * 5, i * 5 + 5);
    } else {
      value = codec.encodeIndex(oldSize + i);
    }
    batch.put(hashes[i]!, value);
  }
}
