/**
 * The log: a store, the single-writer integrator behind a batching sequencer, and the
 * read side (checkpoints, tiles, entry bundles, proofs) served from caches in front of
 * the store. This is everything the HTTP layer calls; it has no HTTP in it.
 */
import { leafHash } from '../merkle/hash.js';
import {
  proveConsistencyAsync,
  proveInclusionAsync,
} from '../merkle/tree.js';
import { TILE_WIDTH } from '../merkle/tiles.js';
import type { Signer } from '../note/keys.js';
import type { LogStore, StoredCheckpoint } from '../storage/store.js';
import { LogError } from '../util/errors.js';
import { Integrator, type Placement } from './integrator.js';
import { TileNodeReader } from './node-reader.js';
import { Sequencer } from './sequencer.js';
import { TileCache } from './tile-cache.js';
import { Metrics } from './metrics.js';

/** Largest entry the tlog-tiles bundle format can carry (uint16 length prefix). */
export const MAX_ENTRY_SIZE = 65535;

export interface LogOptions {
  store: LogStore;
  signer: Signer;
  origin: string;
  /** Largest number of entries integrated (and signed) at once. Default 4096. */
  batchMax?: number;
  /** Longest a lone entry waits for others before integration, in ms. Default 2. */
  batchAgeMs?: number;
  /** Entries allowed to wait before submissions are refused (PUSHBACK). Default 65536. */
  queueMax?: number;
  /** Bytes allowed to wait before submissions are refused. Default 64 MiB. */
  queueMaxBytes?: number;
  /** Hash tiles kept in memory. Default 4096 (about 64 MiB with interior nodes at most). */
  tileCacheSize?: number;
  now?: () => number;
  metrics?: Metrics;
}

/** The outcome of a submission: where the entry is and the checkpoint that includes it. */
export interface AddResult extends Placement {
  leafHash: Uint8Array;
  checkpoint: StoredCheckpoint;
}

interface Submission {
  entry: Uint8Array;
  leafHash: Uint8Array;
}

export class Log {
  readonly origin: string;
  readonly metrics: Metrics;
  private readonly store: LogStore;
  private readonly integrator: Integrator;
  private readonly sequencer: Sequencer<Submission, AddResult>;
  private readonly reader: TileNodeReader;
  private readonly cache: TileCache;
  private readonly now: () => number;
  private closed = false;

  private constructor(
    opts: LogOptions,
    integrator: Integrator,
    cache: TileCache,
    reader: TileNodeReader,
    metrics: Metrics
  ) {
    this.origin = opts.origin;
    this.store = opts.store;
    this.integrator = integrator;
    this.cache = cache;
    this.reader = reader;
    this.metrics = metrics;
    this.now = opts.now ?? Date.now;
    this.metrics.setSize(integrator.size);
    this.sequencer = new Sequencer<Submission, AddResult>({
      maxBatch: opts.batchMax ?? 4096,
      maxAgeMs: opts.batchAgeMs ?? 2,
      maxPending: opts.queueMax ?? 65536,
      maxPendingBytes: opts.queueMaxBytes ?? 64 * 1024 * 1024,
      flush: (items) => this.flush(items),
    });
  }

  /**
   * Opens a log on an opened store: checks the stored tree against the stored checkpoint
   * and, for a new store, signs the empty tree's checkpoint.
   */
  static async open(opts: LogOptions): Promise<Log> {
    const cache = new TileCache(opts.store, opts.tileCacheSize ?? 4096);
    const reader = new TileNodeReader(cache);
    const integrator = await Integrator.load({
      store: opts.store,
      cache,
      reader,
      signer: opts.signer,
      origin: opts.origin,
      now: opts.now ?? Date.now,
    });
    return new Log(opts, integrator, cache, reader, opts.metrics ?? new Metrics());
  }

  /** The latest signed checkpoint. */
  get checkpoint(): StoredCheckpoint {
    return this.integrator.checkpoint;
  }

  get size(): number {
    return this.integrator.size;
  }

  /** Entries waiting for integration. */
  get queueDepth(): number {
    return this.sequencer.depth;
  }

  /**
   * Submits one entry. Resolves once it is durably included in a signed checkpoint; the
   * same bytes submitted again resolve to the existing index with `duplicate: true`.
   * @throws LogError EMPTY / TOO_LARGE for a bad size, PUSHBACK when the queue is full,
   * CLOSED when the log is closing.
   */
  add(entry: Uint8Array): Promise<AddResult> {
    checkEntrySize(entry);
    if (this.closed) throw new LogError('CLOSED', 'the log is shutting down');
    return this.sequencer.add({ entry, leafHash: leafHash(entry) }, entry.length);
  }

  /** Submits many entries; results in order. All-or-nothing admission to the queue. */
  addMany(entries: readonly Uint8Array[]): Promise<AddResult[]> {
    entries.forEach(checkEntrySize);
    if (this.closed) throw new LogError('CLOSED', 'the log is shutting down');
    const items = entries.map((entry) => ({ entry, leafHash: leafHash(entry) }));
    return Promise.all(this.sequencer.addMany(items, entries.map((e) => e.length)));
  }

  private async flush(items: Submission[]): Promise<AddResult[]> {
    const started = performance.now();
    const { placements, checkpoint } = await this.integrator.integrate(
      items.map((s) => s.entry),
      items.map((s) => s.leafHash)
    );
    this.metrics.observeIntegration((performance.now() - started) / 1000, items.length);
    this.metrics.setSize(checkpoint.size);
    return placements.map((p, i) => ({ ...p, leafHash: items[i]!.leafHash, checkpoint }));
  }

  /**
   * RFC 6962 inclusion proof of `index` in the tree of `size` (1 ≤ size ≤ current size).
   * @throws LogError MALFORMED / NOT_FOUND for out-of-range arguments.
   */
  async inclusionProof(index: number, size: number): Promise<Uint8Array[]> {
    this.checkSize(size, 1);
    if (index >= size) {
      throw new LogError('MALFORMED', `index ${index} is not below tree size ${size}`);
    }
    return proveInclusionAsync(index, size, this.reader);
  }

  /**
   * RFC 6962 consistency proof from `from` to `to` (1 ≤ from ≤ to ≤ current size).
   * @throws LogError MALFORMED / NOT_FOUND for out-of-range arguments.
   */
  async consistencyProof(from: number, to: number): Promise<Uint8Array[]> {
    this.checkSize(to, 1);
    if (from < 1 || from > to) {
      throw new LogError('MALFORMED', `consistency proofs need 1 <= from <= to, got ${from}..${to}`);
    }
    return proveConsistencyAsync(from, to, this.reader);
  }

  /** The signed checkpoint published at exactly `size`, if the log published one. */
  async checkpointAt(size: number): Promise<string | undefined> {
    return (await this.store.readCheckpoint(size))?.note;
  }

  /** The index of the entry with this leaf hash, if logged. */
  async findLeaf(hash: Uint8Array): Promise<number | undefined> {
    const [index] = await this.store.lookupLeafHashes([hash]);
    return index;
  }

  /** One entry's bytes. @throws LogError NOT_FOUND beyond the tree. */
  async entry(index: number): Promise<Uint8Array> {
    if (index >= this.size) throw new LogError('NOT_FOUND', `no entry at index ${index}`);
    const e = await this.store.readEntry(index);
    if (e === undefined) throw new LogError('CORRUPT', `entry ${index} is missing from the store`);
    return e;
  }

  /**
   * Hash tile (level, index) with `width` hashes (256 for a full tile).
   * @throws LogError NOT_FOUND when the tree does not have that many hashes there.
   */
  async hashTile(level: number, index: number, width: number): Promise<Uint8Array> {
    const tile = await this.cache.get(level, index, width);
    return tile.data.subarray(0, width * 32);
  }

  /**
   * Entry bundle `index` with `width` entries (256 for a full bundle): each entry as a
   * big-endian uint16 length followed by its bytes (c2sp.org/tlog-tiles).
   * @throws LogError NOT_FOUND when the tree does not have those entries.
   */
  async entryBundle(index: number, width: number): Promise<Uint8Array> {
    const start = index * TILE_WIDTH;
    if (start + width > this.size) {
      throw new LogError('NOT_FOUND', `entry bundle ${index} of width ${width} is beyond the tree`);
    }
    const entries = await this.store.readEntries(start, start + width);
    let total = 0;
    for (const e of entries) total += 2 + e.length;
    const out = new Uint8Array(total);
    let off = 0;
    for (const e of entries) {
      out[off] = Math.floor(e.length / 256);
      out[off + 1] = e.length % 256;
      out.set(e, off + 2);
      off += 2 + e.length;
    }
    return out;
  }

  /** Stops taking entries, integrates what is queued, and closes nothing else. */
  async drain(): Promise<void> {
    this.closed = true;
    await this.sequencer.close();
  }

  private checkSize(size: number, min: number): void {
    if (size < min) throw new LogError('MALFORMED', `tree size must be at least ${min}`);
    if (size > this.size) {
      throw new LogError('NOT_FOUND', `tree size ${size} is beyond the log's size ${this.size}`);
    }
  }

  /** Milliseconds since the latest checkpoint was signed (for health checks). */
  checkpointAgeMs(): number {
    return this.now() - this.checkpoint.timestamp;
  }
}

function checkEntrySize(entry: Uint8Array): void {
  if (entry.length === 0) throw new LogError('EMPTY', 'an entry must not be empty');
  if (entry.length > MAX_ENTRY_SIZE) {
    throw new LogError('TOO_LARGE', `an entry must be at most ${MAX_ENTRY_SIZE} bytes`);
  }
}
