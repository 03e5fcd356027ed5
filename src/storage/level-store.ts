/**
 * LevelStore: the LogStore contract on LevelDB (`level`, classic-level underneath). The
 * only module that imports `level`. Key layout: src/storage/keys.ts; records:
 * src/storage/codec.ts. Entries and tiles are stored as raw bytes, never re-encoded.
 *
 * One commit is one chained `db.batch()` written with `{ sync: true }`. LevelDB
 * appends a batch to its write-ahead log as one record and replays a record whole or
 * not at all, so after a crash the store holds every batch whose commit resolved, and
 * of the batch in flight either all of it or none of it.
 *
 * The leaf-hash index (leaf hash → index) lives apart, in `<dir>/dedup`, written after
 * each commit and rebuilt from the tiles when it lags (dedup-index.ts).
 *
 * In memory it keeps only the latest checkpoint (so the committed size), read on open
 * and moved only after a commit's batch is durable. Entry, checkpoint and dedup reads are
 * bounded by that size: LevelDB makes a batch visible a moment before its promise
 * resolves, and those reads must not run ahead of what commit() has promised. Tile reads
 * are not bounded: a tile may already be wider than the committed size, which the
 * contract allows (the partial tile of an earlier size is a prefix of the stored one).
 */
import { Level } from 'level';
import { LogError, isLogError } from '../util/errors.js';
import { equalBytes } from '../util/bytes.js';
import { assertIndex } from '../util/integers.js';
import * as codec from './codec.js';
import { META_KEY, SUBLEVEL, checkpointKey, decodeU64Key, rootKey } from './keys.js';
import { BUNDLE_WIDTH, FORMAT1_ENTRIES, chunkKey, decodeChunk, decodeChunkKey, encodeChunk } from './keys.js';
import { dedupKey, tileKey } from './keys.js';
import { assertValidBatch } from './store.js';
import { DedupIndex, MAX_PENDING_ENTRIES } from './dedup-index.js';
import { dirname, join } from 'node:path';
import { bytesToOpen, flushMemtable, freeBytes } from './free-space.js';
import type { IntegrationBatch, LogMeta, RepairWrite, RepairableStore, StoredCheckpoint } from './store.js';
import { assertNoHoles, type StoredKeys } from './contiguity.js';
import { CommitMark, COMMIT_MARK_FILE, readCommitMark } from './commit-mark.js';
import { checkRepair } from './repair-check.js';
import { readStoredKeys, repairOps } from './level-repair.js';

type Bytes = Uint8Array;
const VIEW = { keyEncoding: 'view', valueEncoding: 'view' } as const;

function openSublevels(db: Level<Bytes, Bytes>) {
  return {
    chunks: db.sublevel<Bytes, Bytes>(SUBLEVEL.chunks, VIEW),
    format1Entries: db.sublevel<Bytes, Bytes>(FORMAT1_ENTRIES, VIEW),
    tiles: db.sublevel<Bytes, Bytes>(SUBLEVEL.tiles, VIEW),
    checkpoints: db.sublevel<Bytes, Bytes>(SUBLEVEL.checkpoints, VIEW),
    meta: db.sublevel<Bytes, Bytes>(SUBLEVEL.meta, VIEW),
  };
}
export type Sublevels = ReturnType<typeof openSublevels>;

/**
 * One put in a commit's batch: a raw value under a root-level key that already carries its
 * sublevel's prefix (`!e!…`, see keys.ts), so the bytes on disk are exactly those the
 * sublevels read. Commits write through one chained batch on the root database: the array
 * form of `batch()` re-validates, clones and prefixes every operation in JavaScript, which
 * cost about three times as much CPU per entry (README, Performance).
 */
export interface LevelPut {
  readonly type: 'put';
  readonly key: Bytes;
  readonly value: Bytes;
}

interface Opened {
  readonly db: Level<Bytes, Bytes>;
  readonly subs: Sublevels;
}

/** Options of a LevelStore. */
export interface LevelStoreOptions {
  /**
   * Open for `candor fsck` and `candor repair`: without the leaf-hash index (no lookups or
   * commits), and without refusing a store with holes or lost commits, which those
   * commands are there to report and fix.
   */
  maintenance?: boolean;
}

/** A LogStore in a LevelDB directory, created on first open. One writer per directory. */
export class LevelStore implements RepairableStore {
  /** The LevelDB directory. */
  readonly dir: string;
  private readonly maintenance: boolean;
  private opened: Opened | undefined;
  private dedup: DedupIndex | undefined;
  private mark: CommitMark | undefined;
  private latest: StoredCheckpoint | undefined;
  private committing = false;
  /** Set when a batch write failed: whether it landed is unknown until reopened. */
  private failed: { readonly cause: unknown; readonly error: LogError } | undefined;
  /** The commit whose batch is being written, if one is (reopen waits for it). */
  private writing: Promise<void> | undefined;
  /** A reopen under way (reopen()); close() waits for it. */
  private reopening: Promise<void> | undefined;
  /**
   * Set while the store is closed by reopen() rather than by its owner: during a reopen,
   * or after one failed. Reads and writes then fail with this error (STORAGE, retryable;
   * CORRUPT when the reopen found corruption).
   */
  private down: LogError | undefined;

  /** Does no I/O; call open(). */
  constructor(dir: string, options: LevelStoreOptions = {}) {
    this.dir = dir;
    this.maintenance = options.maintenance === true;
  }

  /**
   * LevelDB's in-memory write buffer (memtable), 32 MiB rather than the default 4 MiB: a
   * batch of 4096 entries is over a megabyte, and with a small buffer LevelDB flushes and
   * compacts every few batches (measured from 1M to 4M entries: with 4 MiB appends lost a
   * quarter of their rate, with 32 MiB far less). The cost is that much memory and at most
   * that much log replay at open.
   */
  static readonly WRITE_BUFFER_SIZE = 32 * 1024 * 1024;

  /**
   * LevelDB options of the log's databases (this store's and its leaf-hash index): the
   * write buffer above, and no Snappy compression. What they hold is hashes and the entries
   * users send, which compress to nothing; compressing every block at every compaction cost
   * about a tenth of the append rate and saved no disk in the benchmark (README,
   * Performance).
   *
   * Not among them: paranoid_checks and verify_checksums. classic-level 3.0.0 passes
   * LevelDB only create_if_missing, error_if_exists, compression, the cache, the filter
   * policy, write_buffer_size, block_size, max_open_files, block_restart_interval and
   * max_file_size at open, and only fill_cache and a snapshot on reads (binding.cc): a
   * damaged `.ldb` block is read back as data and a damaged block of the write-ahead log is
   * skipped. candor gets the same guarantee from its own checks instead: the holes check
   * and the commit mark at open (contiguity.ts, commit-mark.ts), and the Log's check of
   * every entry and tile it serves against the tree (src/log/integrity.ts).
   */
  static readonly LEVEL_OPTIONS = { writeBufferSize: LevelStore.WRITE_BUFFER_SIZE, compression: false } as const;

  /**
   * Opens (creating if missing) the directory and reads the latest checkpoint.
   * @throws Error naming the directory when another process or LevelStore holds it open,
   * or it cannot be opened at all. Do not call open() twice concurrently.
   * @throws LogError CORRUPT when LevelDB reports corruption, or the stored entries and
   * the latest checkpoint disagree.
   */
  async open(): Promise<void> {
    if (this.opened !== undefined) return;
    const db = new Level<Bytes, Bytes>(this.dir, { ...VIEW, ...LevelStore.LEVEL_OPTIONS });
    try {
      await db.open();
    } catch (err) {
      const cause = (err as { cause?: { code?: unknown; message?: unknown } }).cause;
      const detail = String(cause?.message ?? err);
      if (cause?.code === 'LEVEL_LOCKED') {
        const message = `store ${this.dir} is locked: another process or LevelStore has it open`;
        throw new Error(message, { cause: err });
      }
      if (cause?.code === 'LEVEL_CORRUPTION') {
        throw new LogError('CORRUPT', `store ${this.dir} is corrupt: ${detail}`, { cause: err });
      }
      throw new Error(`cannot open store ${this.dir}: ${detail}`, { cause: err });
    }
    const subs = openSublevels(db);
    const dedup = this.makeDedupIndex(join(this.dir, 'dedup'));
    let mark: CommitMark | undefined;
    try {
      const latest = await loadLatest(subs);
      this.latest = latest;
      if (this.maintenance) {
        this.opened = { db, subs };
        this.failed = undefined;
        return;
      }
      // Entries and tiles must be there up to the latest checkpoint, and no commit may have
      // vanished from the end: a store LevelDB damaged is refused, not served.
      await assertNoHoles(readStoredKeys(subs), latest?.size ?? 0, this.dir, dirname(this.dir));
      await checkCommitMark(this.dir, latest, (size) => readCheckpointAt(subs, size));
      await dedup.open({
        size: latest?.size ?? 0,
        rootAt: async (size) => {
          const bytes = await subs.checkpoints.get(checkpointKey(size));
          return bytes === undefined ? undefined : codec.decodeCheckpoint(bytes).rootHash;
        },
        leafTile: async (index) => {
          const v = await subs.tiles.get(tileKey(0, index));
          return v === undefined ? undefined : plain(v);
        },
      });
      mark = await CommitMark.open(this.dir);
      if (latest !== undefined) mark.set(latest.size, latest.rootHash);
    } catch (err) {
      await dedup.close().catch(() => undefined);
      await db.close();
      throw err;
    }
    this.opened = { db, subs };
    this.dedup = dedup;
    this.mark = mark;
    this.failed = undefined;
  }

  /** The keys the holes check reads (contiguity.ts), for `candor fsck`. @throws CLOSED. */
  storedKeys(): StoredKeys {
    return readStoredKeys(this.use().subs);
  }

  /**
   * Rewrites damaged tiles and bundles in place, after checkRepair (store.ts,
   * RepairableStore): one atomic, fsynced batch. A bundle's old chunks are deleted and it
   * is written again split where commits split it (at the sizes of its checkpoints), so
   * the store looks as if it had never been damaged.
   * @throws LogError PROOF_FAILED / MALFORMED writing nothing; CLOSED when not open.
   */
  async repair(fix: RepairWrite): Promise<void> {
    const { subs } = this.use();
    await checkRepair(fix, this.latest, (level, index) => this.readTile(level, index));
    const ops = await repairOps(subs, fix);
    // The commit point of a repair: one batch; a crash leaves the damage or the repair.
    await closedIfNotOpen(this.use().db.batch(ops, { sync: true }));
  }

  /** Test seam: the leaf-hash index this store keeps in `dir`. */
  protected makeDedupIndex(dir: string): DedupIndex {
    return new DedupIndex(dir, MAX_PENDING_ENTRIES, LevelStore.LEVEL_OPTIONS);
  }

  /**
   * Closes the directory; later calls but open() reject with LogError CLOSED. Waits for a
   * reopen under way. A healthy store writes its memtable out first (flushMemtable), so the
   * next open replays no write-ahead log and needs only kilobytes of free space.
   */
  async close(): Promise<void> {
    await this.reopening?.catch(() => undefined);
    this.down = undefined;
    const opened = this.opened;
    const dedup = this.dedup;
    const healthy = this.failed === undefined && dedup?.failed === undefined;
    const mark = this.mark;
    this.opened = undefined;
    this.dedup = undefined;
    this.mark = undefined;
    this.latest = undefined;
    await mark?.close();
    await dedup?.close(healthy);
    if (opened === undefined) return;
    if (healthy) await flushMemtable(opened.db);
    await opened.db.close();
  }

  /**
   * Why the store refuses commits, or undefined when it takes them: a batch write of this
   * store or of its leaf-hash index failed (LogError STORAGE; only a reopen tells whether
   * it landed), or a reopen failed (STORAGE, or CORRUPT when it found corruption). Reads
   * keep being served from the open store until reopen() closes it.
   */
  get failure(): LogError | undefined {
    if (this.down !== undefined) return this.down;
    if (this.failed !== undefined) return this.failed.error;
    const index = this.dedup?.failed;
    return index === undefined ? undefined : (index as LogError);
  }

  /**
   * Why a reopen cannot succeed yet, or undefined when it may: LevelDB rewrites its
   * write-ahead logs as tables when it opens (free-space.ts), so a reopen needs about their
   * size free, and trying with less would only close the store for reads.
   */
  async reopenBlocker(): Promise<string | undefined> {
    const need = await bytesToOpen([this.dir, join(this.dir, 'dedup')]);
    let free: number;
    try {
      free = await freeBytes(this.dir);
    } catch {
      return undefined; // cannot tell: let the reopen find out
    }
    if (free >= need) return undefined;
    return `${mib(free)} free on the filesystem of ${this.dir}, and reopening it needs about ${mib(need)}`;
  }

  /**
   * After a failed write (failure is STORAGE): closes the directory and opens it again.
   * LevelDB replays its write-ahead log, so the latest checkpoint read then says whether
   * the failed batch landed (all of it or none: see the module comment), and the
   * leaf-hash index catches up from the tiles. Waits for a commit still writing. Between
   * the close and a successful open every call fails with STORAGE (retryable); if the
   * open fails the store stays so (failure says why) and reopen() may be called again.
   * @throws LogError STORAGE when the open fails (no space, an I/O error); CORRUPT when
   * the reopened store is corrupt; CLOSED when its owner closed it.
   */
  reopen(): Promise<void> {
    if (this.reopening !== undefined) return this.reopening;
    if (this.opened === undefined && this.down === undefined) {
      return Promise.reject(new LogError('CLOSED', `store ${this.dir} is not open`));
    }
    const run = async (): Promise<void> => {
      await this.writing?.catch(() => undefined);
      const opened = this.opened;
      const dedup = this.dedup;
      const mark = this.mark;
      const cause = this.failure?.message ?? 'a failed write';
      this.down = new LogError('STORAGE', `store ${this.dir} is reopening after ${cause}; retry shortly`);
      this.opened = undefined;
      this.dedup = undefined;
      this.mark = undefined;
      // Errors closing a failed database change nothing: the open below reads the truth.
      await mark?.close().catch(() => undefined);
      await dedup?.close(false).catch(() => undefined);
      await opened?.db.close().catch(() => undefined);
      try {
        await this.open();
        this.down = undefined;
      } catch (err) {
        this.down = isLogError(err, 'CORRUPT')
          ? err
          : new LogError('STORAGE', `store ${this.dir} could not be reopened: ${messageOf(err)}`, {
              cause: err,
            });
        throw this.down;
      }
    };
    this.reopening = run().finally(() => (this.reopening = undefined));
    return this.reopening;
  }

  /** @throws LogError CLOSED when not open; CORRUPT when the record does not decode. */
  async readMeta(): Promise<LogMeta | undefined> {
    const { subs } = this.use();
    const bytes = await closedIfNotOpen(subs.meta.get(META_KEY));
    return bytes === undefined ? undefined : codec.decodeMeta(bytes);
  }

  /** Writes the meta record, fsynced. @throws LogError CLOSED when not open. */
  async writeMeta(meta: LogMeta): Promise<void> {
    const { db, subs } = this.use();
    if (typeof meta.origin !== 'string' || typeof meta.verifierKey !== 'string') {
      throw new TypeError('meta.origin and meta.verifierKey must be strings');
    }
    // A root batch, because sublevel put options have no typed `sync`.
    const value = codec.encodeMeta(meta);
    await closedIfNotOpen(db.batch([{ type: 'put', sublevel: subs.meta, key: META_KEY, value }], { sync: true }));
  }

  /** From memory (read on open). @throws LogError CLOSED when not open. */
  async latestCheckpoint(): Promise<StoredCheckpoint | undefined> {
    this.use();
    return copyCheckpoint(this.latest);
  }

  /** @throws LogError CLOSED when not open; CORRUPT when the record does not decode. */
  async readCheckpoint(size: number): Promise<StoredCheckpoint | undefined> {
    const { subs } = this.use();
    assertIndex(size, 'size');
    if (size > this.size) return undefined;
    const bytes = await closedIfNotOpen(subs.checkpoints.get(checkpointKey(size)));
    if (bytes === undefined) return undefined;
    const cp = codec.decodeCheckpoint(bytes);
    if (cp.size !== size) {
      throw new LogError('CORRUPT', `checkpoint at ${size} says size ${cp.size}`);
    }
    return cp;
  }

  /**
   * Commits a batch as one atomic, fsynced LevelDB batch.
   * @throws TypeError for a malformed batch; LogError CONFLICT when the stored size is not
   * `batch.oldSize` or another commit is in flight; LogError CLOSED when not open; LogError
   * STORAGE when the write fails, and for every commit after that until reopen() (which
   * learns whether it landed). Only a failed write can have written anything.
   */
  async commit(batch: IntegrationBatch): Promise<void> {
    this.use();
    assertValidBatch(batch);
    if (this.failed !== undefined) {
      const why = messageOf(this.failed.cause);
      const message = `store ${this.dir} is recovering from a failed write (${why}); retry shortly`;
      throw new LogError('STORAGE', message, { cause: this.failed.cause });
    }
    if (this.dedup === undefined) throw new LogError('CLOSED', `store ${this.dir} is open for maintenance only`);
    // The leaf-hash index could not keep up with the log (a failed write): refuse before
    // writing anything, as after a failed commit. A reopen rebuilds the index.
    if (this.dedup!.failed !== undefined) throw this.dedup!.failed;
    if (this.committing) throw new LogError('CONFLICT', 'another commit is in flight');
    if (batch.oldSize !== this.size) {
      throw new LogError('CONFLICT', `stored size is ${this.size}, batch expects ${batch.oldSize}`);
    }
    const checkpoint = copyCheckpoint(batch.checkpoint);
    const ops = batchOps(batch, checkpoint);

    // The commit point. A crash before the batch reaches LevelDB's log leaves the store
    // at the previous checkpoint: nothing of this batch exists, and nobody was told it
    // did. A crash after leaves all of it, entries to checkpoint; reopening reads that
    // checkpoint as the latest. If the write fails, LevelDB may or may not have logged
    // it, so this instance refuses further commits: only a reopen reads the truth.
    this.committing = true;
    const writing = this.writeBatch(ops);
    this.writing = writing;
    try {
      await writing;
    } catch (err) {
      const range = `entries [${batch.oldSize}, ${checkpoint.size})`;
      const error = new LogError(
        'STORAGE',
        `the write of ${range} to store ${this.dir} failed (${messageOf(err)}): they may or may not be ` +
          'logged; the store reopens itself once the cause is gone, and resubmitting them is safe',
        { cause: err }
      );
      this.failed = { cause: err, error };
      throw isNotOpen(err) ? new LogError('CLOSED', `store ${this.dir} closed during commit`) : error;
    } finally {
      this.committing = false;
      this.writing = undefined;
    }
    // Durable now: only here does the in-memory size move, so reads never run ahead.
    this.latest = checkpoint;
    // Recorded outside LevelDB's write-ahead log, in the background (commit-mark.ts).
    this.mark?.set(checkpoint.size, checkpoint.rootHash);
    // The leaf-hash index follows (dedup-index.ts): queued now, answered from memory until
    // written, rebuilt from the tiles after a crash.
    await this.dedup!.add(batch.oldSize, batch.leafHashes, checkpoint.rootHash);
  }

  /**
   * One range read of the chunks of the bundles holding [start, end).
   * @throws LogError NOT_FOUND beyond the log; CLOSED when not open; CORRUPT when an entry
   * of the log is missing or a chunk does not decode.
   */
  async readEntries(start: number, end: number): Promise<Uint8Array[]> {
    const { subs } = this.use();
    assertIndex(start, 'start');
    assertIndex(end, 'end');
    if (start > end) throw new TypeError(`range [${start}, ${end}) has start after end`);
    if (end > this.size) {
      throw new LogError('NOT_FOUND', `entries [${start}, ${end}) are beyond size ${this.size}`);
    }
    if (start === end) return [];
    const first = Math.floor(start / BUNDLE_WIDTH);
    const last = Math.floor((end - 1) / BUNDLE_WIDTH);
    const range = { gte: chunkKey(first, 0), lt: chunkKey(last + 1, 0) };
    const chunks = await closedIfNotOpen(subs.chunks.iterator(range).all());
    const out: Uint8Array[] = [];
    let next = start;
    for (const [key, value] of chunks) {
      const { bundle, offset } = decodeChunkKey(key);
      const entries = decodeChunk(plain(value));
      for (let i = 0; i < entries.length && next < end; i++) {
        const index = bundle * BUNDLE_WIDTH + offset + i;
        if (index < next) continue;
        if (index !== next) break;
        out.push(entries[i]!);
        next++;
      }
    }
    if (out.length !== end - start) {
      const missing = `entries [${start}, ${end}) are missing in a log of ${this.size}`;
      throw new LogError('CORRUPT', missing);
    }
    return out;
  }

  /**
   * The chunks of bundle `bundle` that hold its first `width` entries, concatenated: the
   * tlog-tiles entry bundle itself, with no decoding when the chunks end exactly there.
   * Undefined when the bundle does not hold `width` entries in the committed log.
   * @throws LogError CLOSED when not open; CORRUPT when a chunk does not decode.
   */
  async readBundle(bundle: number, width: number): Promise<Uint8Array | undefined> {
    const { subs } = this.use();
    assertIndex(bundle, 'bundle');
    if (width < 1 || width > BUNDLE_WIDTH || bundle * BUNDLE_WIDTH + width > this.size) return undefined;
    const range = { gte: chunkKey(bundle, 0), lt: chunkKey(bundle + 1, 0) };
    const chunks = await closedIfNotOpen(subs.chunks.iterator(range).all());
    const parts: Uint8Array[] = [];
    let count = 0;
    let bytes = 0;
    for (const [key, value] of chunks) {
      if (count >= width) break;
      const { offset } = decodeChunkKey(key);
      if (offset !== count) throw new LogError('CORRUPT', `bundle ${bundle} has a gap at ${count}`);
      const entries = decodeChunk(plain(value));
      if (count + entries.length <= width) {
        parts.push(plain(value));
        bytes += value.length;
        count += entries.length;
      } else {
        for (const e of entries.slice(0, width - count)) {
          parts.push(encodeChunk([e], 0, 1));
          bytes += 2 + e.length;
        }
        count = width;
      }
    }
    if (count !== width) throw new LogError('CORRUPT', `bundle ${bundle} is missing entries`);
    if (parts.length === 1) return parts[0]!.slice();
    const out = new Uint8Array(bytes);
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }

  /** @throws LogError CLOSED when not open; CORRUPT when a logged entry is missing. */
  async readEntry(index: number): Promise<Uint8Array | undefined> {
    const { subs } = this.use();
    assertIndex(index, 'index');
    if (index >= this.size) return undefined;
    const bundle = Math.floor(index / BUNDLE_WIDTH);
    const offset = index - bundle * BUNDLE_WIDTH;
    // The chunk holding it is the last one of its bundle that starts at or before it.
    const range = { gte: chunkKey(bundle, 0), lte: chunkKey(bundle, offset), reverse: true, limit: 1 };
    const [found] = await closedIfNotOpen(subs.chunks.iterator(range).all());
    const entry =
      found === undefined
        ? undefined
        : decodeChunk(plain(found[1]))[offset - decodeChunkKey(found[0]).offset];
    if (entry === undefined) throw new LogError('CORRUPT', `entry ${index} is missing`);
    return entry;
  }

  /** @throws LogError CLOSED when not open. */
  async readTile(level: number, index: number): Promise<Uint8Array | undefined> {
    const { subs } = this.use();
    assertIndex(index, 'tile index');
    const value = await closedIfNotOpen(subs.tiles.get(tileKey(level, index)));
    return value === undefined ? undefined : plain(value);
  }

  /**
   * One getMany. An index at or past the committed size reads as undefined: LevelDB can
   * show a batch a moment before its commit resolves, and such a leaf is not logged yet.
   * @throws LogError CLOSED when not open; CORRUPT when a value does not decode.
   */
  async lookupLeafHashes(leafHashes: readonly Uint8Array[]): Promise<(number | undefined)[]> {
    this.use();
    if (this.dedup === undefined) throw new LogError('CLOSED', `store ${this.dir} is open for maintenance only`);
    for (const h of leafHashes) dedupKey(h); // checks the shape
    if (leafHashes.length === 0) return [];
    const found = await closedIfNotOpen(this.dedup!.lookup(leafHashes));
    const size = this.size;
    return found.map((index) => (index !== undefined && index < size ? index : undefined));
  }

  /**
   * Writes one commit's puts as one atomic, fsynced batch. The only write of commit(),
   * and the seam fault-injection tests override.
   */
  protected async writeBatch(ops: LevelPut[]): Promise<void> {
    const batch = this.use().db.batch();
    try {
      for (const op of ops) batch.put(op.key, op.value);
    } catch (err) {
      await batch.close();
      throw err;
    }
    await batch.write({ sync: true });
  }

  private get size(): number {
    return this.latest?.size ?? 0;
  }

  private use(): Opened {
    if (this.opened !== undefined) return this.opened;
    throw this.down ?? new LogError('CLOSED', `store ${this.dir} is not open`);
  }
}

/**
 * Every put of a commit: entries, dedup keys (first index wins), tiles, and the checkpoint
 * last. Keys carry their sublevel prefix (rootKey), so this is the on-disk layout of keys.ts.
 */
function batchOps(batch: IntegrationBatch, cp: StoredCheckpoint): LevelPut[] {
  const { entries, oldSize } = batch;
  const ops: LevelPut[] = [];
  // One chunk per entry bundle the batch reaches into.
  for (let i = 0; i < entries.length; ) {
    const index = oldSize + i;
    const bundle = Math.floor(index / BUNDLE_WIDTH);
    const offset = index - bundle * BUNDLE_WIDTH;
    const end = Math.min(entries.length, i + BUNDLE_WIDTH - offset);
    ops.push({ type: 'put', key: rootKey(SUBLEVEL.chunks, chunkKey(bundle, offset)), value: encodeChunk(entries, i, end) });
    i = end;
  }
  for (const t of batch.tiles) {
    ops.push({ type: 'put', key: rootKey(SUBLEVEL.tiles, tileKey(t.level, t.index)), value: t.data });
  }
  const cpKey = rootKey(SUBLEVEL.checkpoints, checkpointKey(cp.size));
  ops.push({ type: 'put', key: cpKey, value: codec.encodeCheckpoint(cp) });
  return ops;
}

/** The latest checkpoint, checked against the last stored entry. */
async function loadLatest(subs: Sublevels): Promise<StoredCheckpoint | undefined> {
  const last = await subs.checkpoints.iterator({ reverse: true, limit: 1 }).all();
  let latest: StoredCheckpoint | undefined;
  if (last[0] !== undefined) {
    const [key, value] = last[0];
    latest = codec.decodeCheckpoint(value);
    const size = decodeU64Key(key, 'checkpoint');
    if (latest.size !== size) {
      throw new LogError('CORRUPT', `checkpoint at ${size} says size ${latest.size}`);
    }
  }
  const size = latest?.size ?? 0;
  if ((await subs.format1Entries.keys({ limit: 1 }).all()).length > 0) {
    const why = 'it was written by an older candor (one record per entry); this one reads entry chunks';
    throw new LogError('CORRUPT', `store format 1 is not supported: ${why}`);
  }
  const lastChunk = await subs.chunks.iterator({ reverse: true, limit: 1 }).all();
  let entries = 0;
  if (lastChunk[0] !== undefined) {
    const [key, value] = lastChunk[0];
    const { bundle, offset } = decodeChunkKey(key);
    entries = bundle * BUNDLE_WIDTH + offset + decodeChunk(plain(value)).length;
  }
  if (entries !== size) {
    const why = `the latest checkpoint has size ${size} but ${entries} entries are stored`;
    throw new LogError('CORRUPT', why);
  }
  return latest;
}

/** The message of an error and of its cause (level wraps LevelDB's own message). */
function messageOf(err: unknown): string {
  const e = err as { message?: unknown; cause?: { message?: unknown } } | undefined;
  const own = String(e?.message ?? err);
  const cause = e?.cause?.message;
  return cause === undefined || own.includes(String(cause)) ? own : `${own}: ${String(cause)}`;
}

/** Bytes as MiB, one decimal. */
function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/** The checkpoint stored at exactly `size`, decoded, or undefined. */
async function readCheckpointAt(subs: Sublevels, size: number): Promise<StoredCheckpoint | undefined> {
  const bytes = await subs.checkpoints.get(checkpointKey(size));
  return bytes === undefined ? undefined : codec.decodeCheckpoint(bytes);
}

/**
 * Refuses a store whose commit mark (commit-mark.ts) is ahead of its latest checkpoint, or
 * names a root the store's checkpoint at that size does not have: commits were lost from
 * the end of LevelDB's write-ahead log (or the directory was put back from an older copy).
 * @throws LogError CORRUPT saying what is lost and what to run.
 */
async function checkCommitMark(
  dir: string,
  latest: StoredCheckpoint | undefined,
  readCheckpoint: (size: number) => Promise<StoredCheckpoint | undefined>
): Promise<void> {
  const mark = await readCommitMark(dir);
  if (mark === undefined) return;
  const size = latest?.size ?? 0;
  const data = dirname(dir);
  const what =
    `Run \`candor fsck --data ${data}\`; to refill them from another copy of this log, ` +
    `\`candor repair --data ${data} --from URL\`. If the directory was put back from an older ` +
    `copy on purpose, delete ${join(dir, COMMIT_MARK_FILE)} to accept it`;
  if (mark.size > size) {
    const lost = `commits up to size ${mark.size} were acknowledged, but the latest checkpoint is ${size}`;
    throw new LogError('CORRUPT', `store ${dir} lost its last commits (${lost}: entries [${size}, ${mark.size}) are gone). ${what}`);
  }
  const cp = await readCheckpoint(mark.size);
  if (cp !== undefined && !equalBytes(cp.rootHash, mark.rootHash)) {
    const why = `its checkpoint at size ${mark.size} is not the one committed there`;
    throw new LogError('CORRUPT', `store ${dir} is not the log that was committed here (${why}). ${what}`);
  }
}

function isNotOpen(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code;
  return code === 'LEVEL_DATABASE_NOT_OPEN' || code === 'LEVEL_ITERATOR_NOT_OPEN';
}

/** Maps level's "not open" errors (a close() raced the read) to LogError CLOSED. */
async function closedIfNotOpen<T>(p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (err) {
    if (isNotOpen(err)) throw new LogError('CLOSED', 'store closed during read', { cause: err });
    throw err;
  }
}

/** classic-level returns Buffers: hand out plain Uint8Array views of the same memory. */
function plain(b: Uint8Array): Uint8Array {
  return b.constructor === Uint8Array ? b : new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

function copyCheckpoint<T extends StoredCheckpoint | undefined>(cp: T): T {
  if (cp === undefined) return cp;
  const { size, rootHash, note, timestamp } = cp;
  return { size, rootHash: rootHash.slice(), note, timestamp } as T;
}
