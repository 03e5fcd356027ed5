/**
 * MemoryStore: the LogStore contract in memory, for tests and benchmarks. Semantics match
 * LevelStore exactly (the shared suite in test/storage/contract.ts runs on both), except
 * durability: nothing survives the process. Data does survive close() and open() on the
 * same instance, which is how the suite's reopen tests run against it.
 *
 * Bytes are copied in and out, so a caller mutating an array it passed to commit() or
 * got from a read cannot change what is stored, just as with a real disk.
 */
import { LogError } from '../util/errors.js';
import { toHex } from '../util/bytes.js';
import { assertIndex } from '../util/integers.js';
import { BUNDLE_WIDTH, assertTileLevel, encodeChunk } from './keys.js';
import { assertValidBatch } from './store.js';
import type { IntegrationBatch, LogMeta, RepairWrite, RepairableStore, StoredCheckpoint } from './store.js';
import { checkRepair } from './repair-check.js';

/** An in-memory LogStore. Commits are atomic trivially: validation happens before any write. */
export class MemoryStore implements RepairableStore {
  private state: 'new' | 'open' | 'closed' = 'new';
  private meta: LogMeta | undefined;
  private readonly entries: Uint8Array[] = [];
  private readonly tiles = new Map<string, Uint8Array>();
  private readonly dedup = new Map<string, number>();
  private readonly checkpoints = new Map<number, StoredCheckpoint>();
  private latest: StoredCheckpoint | undefined;

  /** Opens the store (again, after close(), with its data intact). */
  async open(): Promise<void> {
    this.state = 'open';
  }

  /** Closes the store; every later call but open() rejects with LogError CLOSED. */
  async close(): Promise<void> {
    this.state = 'closed';
  }

  /** @throws LogError CLOSED when not open. */
  async readMeta(): Promise<LogMeta | undefined> {
    this.assertOpen();
    return this.meta === undefined ? undefined : { ...this.meta };
  }

  /** @throws LogError CLOSED when not open. */
  async writeMeta(meta: LogMeta): Promise<void> {
    this.assertOpen();
    if (typeof meta.origin !== 'string' || typeof meta.verifierKey !== 'string') {
      throw new TypeError('meta.origin and meta.verifierKey must be strings');
    }
    this.meta = { origin: meta.origin, verifierKey: meta.verifierKey };
  }

  /** @throws LogError CLOSED when not open. */
  async latestCheckpoint(): Promise<StoredCheckpoint | undefined> {
    this.assertOpen();
    return copyCheckpoint(this.latest);
  }

  /** @throws LogError CLOSED when not open. */
  async readCheckpoint(size: number): Promise<StoredCheckpoint | undefined> {
    this.assertOpen();
    assertIndex(size, 'size');
    return copyCheckpoint(this.checkpoints.get(size));
  }

  /**
   * Validates, checks the stored size, then applies the whole batch synchronously.
   * @throws TypeError for a malformed batch; LogError CONFLICT when the stored size is not
   * `batch.oldSize`; LogError CLOSED when not open. None of these writes anything.
   */
  async commit(batch: IntegrationBatch): Promise<void> {
    this.assertOpen();
    assertValidBatch(batch);
    if (batch.oldSize !== this.size) {
      throw new LogError('CONFLICT', `stored size is ${this.size}, batch expects ${batch.oldSize}`);
    }
    const firstInBatch = new Set<string>();
    batch.entries.forEach((entry, i) => {
      const index = batch.oldSize + i;
      this.entries.push(entry.slice());
      const key = toHex(batch.leafHashes[i]!);
      // A hash repeated within the batch keeps its first index, as in LevelStore.
      if (!firstInBatch.has(key)) this.dedup.set(key, index);
      firstInBatch.add(key);
    });
    for (const t of batch.tiles) this.tiles.set(tileId(t.level, t.index), t.data.slice());
    const cp = copyCheckpoint(batch.checkpoint);
    this.checkpoints.set(cp.size, cp);
    this.latest = cp;
  }

  /** @throws LogError NOT_FOUND when `end` is beyond the log; LogError CLOSED when not open. */
  async readEntries(start: number, end: number): Promise<Uint8Array[]> {
    this.assertOpen();
    assertRange(start, end);
    if (end > this.size) {
      throw new LogError('NOT_FOUND', `entries [${start}, ${end}) are beyond size ${this.size}`);
    }
    return this.entries.slice(start, end).map((e) => e.slice());
  }

  /** @throws LogError CLOSED when not open. */
  async readBundle(bundle: number, width: number): Promise<Uint8Array | undefined> {
    this.assertOpen();
    assertIndex(bundle, 'bundle');
    const start = bundle * BUNDLE_WIDTH;
    if (width < 1 || width > BUNDLE_WIDTH || start + width > this.size) return undefined;
    return encodeChunk(this.entries, start, start + width);
  }

  /** @throws LogError CLOSED when not open. */
  async readEntry(index: number): Promise<Uint8Array | undefined> {
    this.assertOpen();
    assertIndex(index, 'index');
    return index < this.size ? this.entries[index]!.slice() : undefined;
  }

  /** @throws LogError CLOSED when not open. */
  async readTile(level: number, index: number): Promise<Uint8Array | undefined> {
    this.assertOpen();
    assertTileLevel(level);
    assertIndex(index, 'tile index');
    return this.tiles.get(tileId(level, index))?.slice();
  }

  /** @throws LogError CLOSED when not open. */
  async lookupLeafHashes(leafHashes: readonly Uint8Array[]): Promise<(number | undefined)[]> {
    this.assertOpen();
    return leafHashes.map((h) => {
      if (!(h instanceof Uint8Array) || h.length !== 32) {
        throw new TypeError('a leaf hash must be a 32-byte Uint8Array');
      }
      return this.dedup.get(toHex(h));
    });
  }

  /**
   * Rewrites tiles and bundles in place once checkRepair accepts them (RepairableStore).
   * @throws LogError PROOF_FAILED / MALFORMED writing nothing; CLOSED when not open.
   */
  async repair(fix: RepairWrite): Promise<void> {
    this.assertOpen();
    await checkRepair(fix, this.latest, (level, index) => this.readTile(level, index));
    for (const t of fix.tiles) this.tiles.set(tileId(t.level, t.index), t.data.slice());
    for (const b of fix.bundles) {
      b.entries.forEach((e, i) => (this.entries[b.index * BUNDLE_WIDTH + i] = e.slice()));
    }
  }

  private get size(): number {
    return this.latest?.size ?? 0;
  }

  private assertOpen(): void {
    if (this.state !== 'open') throw new LogError('CLOSED', 'memory store is not open');
  }
}

function tileId(level: number, index: number): string {
  return `${level}/${index}`;
}

function copyCheckpoint<T extends StoredCheckpoint | undefined>(cp: T): T {
  if (cp === undefined) return cp;
  const { size, rootHash, note, timestamp } = cp;
  return { size, rootHash: rootHash.slice(), note, timestamp } as T;
}

/** Throws a TypeError unless [start, end) is a well-formed range of indices. */
function assertRange(start: number, end: number): void {
  assertIndex(start, 'start');
  assertIndex(end, 'end');
  if (start > end) throw new TypeError(`range [${start}, ${end}) has start after end`);
}
