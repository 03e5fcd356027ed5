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
import { LeafFilter } from './leaf-filter.js';
import { StoreRecovery, isRecoverable } from './recovery.js';
import { Integrity } from './integrity.js';
import { base64Into, base64Length } from '../util/bytes.js';
import { largestPowerOfTwoBelow } from '../util/integers.js';
import { HASH_SIZE } from '../merkle/hash.js';

/** Largest entry the tlog-tiles bundle format can carry (uint16 length prefix). */
export const MAX_ENTRY_SIZE = 65535;

export interface LogOptions {
  store: LogStore;
  signer: Signer;
  origin: string;
  /** Largest number of entries integrated (and signed) at once. Default 4096. */
  batchMax?: number;
  /**
   * Longest a lone entry waits for others before integration, in ms. Default 0: integrate
   * at the next turn of the event loop; under load, batches still fill while the previous
   * batch commits (group commit), which measured faster than any fixed wait.
   */
  batchAgeMs?: number;
  /** Entries allowed to wait before submissions are refused (PUSHBACK). Default 65536. */
  queueMax?: number;
  /** Bytes allowed to wait before submissions are refused. Default 64 MiB. */
  queueMaxBytes?: number;
  /** Hash tiles kept in memory. Default 4096 (about 64 MiB with interior nodes at most). */
  tileCacheSize?: number;
  /**
   * Bytes of the Bloom filter in front of the dedup lookup (leaf-filter.ts): a power of two,
   * or 0 for none. Default 16 MiB, about 1% false positives at 13M entries; past that the
   * filter lets more hashes through to the store, never fewer.
   */
  leafFilterBytes?: number;
  now?: () => number;
  metrics?: Metrics;
  /** Called with operational warnings (a failed write, its recovery); default: standard error. */
  warn?: (line: string) => void;
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
  /** Checks of everything read from the store before it is served (integrity.ts). */
  private readonly integrity: Integrity;
  private closed = false;
  private readonly filling: Promise<void> | undefined;
  /** Reopens the store after a failed write (recovery.ts); none for stores that cannot fail. */
  private readonly recovery: StoreRecovery | undefined;
  /** Hashes of leaf ranges [lo, hi) that are not one subtree (rangeHash). */
  private readonly foldMemo = new RangeMemo<Uint8Array>();
  /** The upper part of inclusion proofs, by level-0 tile and tree size (proofParts). */
  private readonly upperMemo = new RangeMemo<UpperPart>();

  private constructor(
    opts: LogOptions,
    integrator: Integrator,
    cache: TileCache,
    reader: TileNodeReader,
    metrics: Metrics,
    filter: LeafFilter | undefined
  ) {
    this.origin = opts.origin;
    this.store = opts.store;
    this.integrator = integrator;
    this.cache = cache;
    this.reader = reader;
    this.metrics = metrics;
    this.now = opts.now ?? Date.now;
    this.metrics.setSize(integrator.size);
    this.integrity = new Integrity({
      size: () => integrator.size,
      edgeTile: (level) => integrator.edgeTile(level),
      tile: (level, index, minWidth) => cache.get(level, index, minWidth),
    });
    // From here on every tile read from the store is checked against the tree (the tiles
    // loaded so far were checked against the checkpoint's root by Integrator.load).
    cache.check = (level, index, read) => this.integrity.checkTile(level, index, read);
    this.sequencer = new Sequencer<Submission, AddResult>({
      maxBatch: opts.batchMax ?? 4096,
      maxAgeMs: opts.batchAgeMs ?? 0,
      maxPending: opts.queueMax ?? 65536,
      maxPendingBytes: opts.queueMaxBytes ?? 64 * 1024 * 1024,
      flush: (items, handoff) => this.flush(items, handoff),
    });
    if (filter !== undefined) this.filling = this.fillFilter(filter, integrator.size);
    const warn = opts.warn ?? ((line: string) => console.error(`candor: ${line}`));
    // After a reopen the integrator stands on what the store holds, and the size metric too.
    const resync = async (): Promise<void> => metrics.setSize(await integrator.resync());
    const store = opts.store;
    this.recovery = isRecoverable(store) ? new StoreRecovery({ store, resync, warn }) : undefined;
  }

  /**
   * Opens a log on an opened store: checks the stored tree against the stored checkpoint
   * and, for a new store, signs the empty tree's checkpoint.
   */
  static async open(opts: LogOptions): Promise<Log> {
    const cache = new TileCache(opts.store, opts.tileCacheSize ?? 4096);
    const reader = new TileNodeReader(cache);
    const filterBytes = opts.leafFilterBytes ?? 16 * 1024 * 1024;
    const filter = filterBytes === 0 ? undefined : new LeafFilter(filterBytes);
    const integrator = await Integrator.load({
      store: opts.store,
      cache,
      reader,
      signer: opts.signer,
      origin: opts.origin,
      now: opts.now ?? Date.now,
      filter,
    });
    return new Log(opts, integrator, cache, reader, opts.metrics ?? new Metrics(), filter);
  }

  /**
   * Adds the leaf hashes of entries [0, size) to the filter from the level-0 hash tiles, a
   * tile at a time in the background; entries committed meanwhile are added by the
   * integrator. Until it finishes every hash is looked up in the store. A failed read (the
   * store closing) leaves the filter unready, which is only slower.
   */
  private async fillFilter(filter: LeafFilter, size: number): Promise<void> {
    try {
      for (let index = 0; index * TILE_WIDTH < size && !this.closed; index++) {
        const tile = await this.store.readTile(0, index);
        if (tile === undefined) return;
        for (let at = 0; at < tile.length; at += 32) filter.add(tile.subarray(at, at + 32));
      }
      if (!this.closed) filter.markReady();
    } catch {
      // Leave the filter unready: the store answers every lookup.
    }
  }

  /** The latest signed checkpoint. */
  get checkpoint(): StoredCheckpoint {
    return this.integrator.checkpoint;
  }

  get size(): number {
    return this.integrator.size;
  }

  /**
   * Why the log refuses writes after a failed storage write, with what recovery waits for;
   * undefined when it takes them (for /healthz). Starts the recovery if a failure has not
   * been noticed yet (the leaf-hash index fails in the background, between commits).
   */
  get storageFailure(): string | undefined {
    this.recovery?.notice();
    return this.recovery?.reason;
  }

  /** Entries waiting for integration. */
  get queueDepth(): number {
    return this.sequencer.depth;
  }

  /**
   * Submits one entry. Resolves once it is durably included in a signed checkpoint; the
   * same bytes submitted again resolve to the existing index with `duplicate: true`.
   * @throws LogError EMPTY / TOO_LARGE for a bad size, PUSHBACK when the queue is full,
   * CLOSED when the log is closing, STORAGE while it recovers from a failed write.
   */
  add(entry: Uint8Array): Promise<AddResult> {
    checkEntrySize(entry);
    if (this.closed) throw new LogError('CLOSED', 'the log is shutting down');
    this.refuseWhileFailed();
    return this.sequencer.add({ entry, leafHash: leafHash(entry) }, entry.length);
  }

  /** Submits many entries; results in order. All-or-nothing admission to the queue. */
  addMany(entries: readonly Uint8Array[]): Promise<AddResult[]> {
    entries.forEach(checkEntrySize);
    if (this.closed) throw new LogError('CLOSED', 'the log is shutting down');
    this.refuseWhileFailed();
    const items = entries.map((entry) => ({ entry, leafHash: leafHash(entry) }));
    return Promise.all(this.sequencer.addMany(items, entries.map((e) => e.length)));
  }

  /**
   * @throws the recovery's LogError (STORAGE; CORRUPT) while the store is failed, starting
   * the recovery if it is not running (a failed write of the leaf-hash index is noticed
   * here, not by a commit, as no commit is tried while it is failed).
   */
  private refuseWhileFailed(): void {
    const failure = this.recovery?.failure;
    if (failure === undefined) return;
    this.recovery!.notice();
    throw failure;
  }

  private async flush(items: Submission[], handoff: () => void): Promise<AddResult[]> {
    const started = performance.now();
    // Entries queued before a write failed are refused with it, not prepared on a store
    // that is being reopened.
    this.refuseWhileFailed();
    let integrated: Awaited<ReturnType<Integrator['integrate']>>;
    try {
      integrated = await this.integrator.integrate(
        items.map((s) => s.entry),
        items.map((s) => s.leafHash),
        handoff
      );
    } catch (err) {
      this.recovery?.notice(); // a failed write: heal in the background
      throw err;
    }
    const { placements, checkpoint } = integrated;
    this.metrics.observeIntegration((performance.now() - started) / 1000, items.length);
    this.metrics.setSize(checkpoint.size);
    const results = new Array<AddResult>(items.length);
    for (let i = 0; i < items.length; i++) {
      const p = placements[i]!;
      results[i] = { index: p.index, duplicate: p.duplicate, leafHash: items[i]!.leafHash, checkpoint };
    }
    return results;
  }

  /**
   * RFC 6962 inclusion proof of `index` in the tree of `size` (1 ≤ size ≤ current size).
   * @throws LogError MALFORMED / NOT_FOUND for out-of-range arguments.
   */
  async inclusionProof(index: number, size: number): Promise<Uint8Array[]> {
    const parts = this.proofParts(index, size); // checks the arguments
    if (parts === undefined) return proveInclusionAsync(index, size, this.reader);
    return [...parts.below, ...parts.upper.hashes].map((h) => h.slice());
  }

  /**
   * inclusionProof with the hashes in standard base64, as receipts send them: from cached
   * tiles (proofParts), the shared upper part already in base64; else from the provers.
   * @throws LogError MALFORMED / NOT_FOUND for out-of-range arguments.
   */
  async inclusionProofBase64(index: number, size: number): Promise<string[]> {
    const parts = this.proofParts(index, size);
    if (parts === undefined) return (await this.inclusionProof(index, size)).map(base64);
    const { below, upper } = parts;
    upper.base64 ??= upper.hashes.map(base64);
    return [...below.map(base64), ...upper.base64];
  }

  /**
   * The inclusion proof answer of the HTTP API, `{"index":I,"size":N,"hashes":[...]}`, as
   * UTF-8 bytes: byte for byte what JSON.stringify gives for that object, assembled
   * straight from the cached tiles' memory (the proof API's hot path).
   * @throws LogError MALFORMED / NOT_FOUND for out-of-range arguments.
   */
  async inclusionProofJson(index: number, size: number): Promise<Uint8Array> {
    return (
      this.inclusionProofJsonCached(index, size) ??
      proofJson(index, size, await this.inclusionProof(index, size), new Uint8Array(0))
    );
  }

  /**
   * inclusionProofJson from cached tiles only, without a promise: undefined when a tile it
   * needs is not cached (the fast lane then awaits inclusionProofJson).
   * @throws LogError MALFORMED / NOT_FOUND for out-of-range arguments.
   */
  inclusionProofJsonCached(index: number, size: number): Uint8Array | undefined {
    const parts = this.proofParts(index, size);
    if (parts === undefined) return undefined;
    const { below, upper } = parts;
    upper.json ??= encodeHashes(upper.hashes);
    return proofJson(index, size, below, upper.json);
  }

  /**
   * The inclusion proof of `index` in the tree of `size` from cached tiles, in two parts, or
   * undefined when a tile it needs is not cached. The ranges of inclusionPlan are walked
   * top-down. While a range is wider than a tile every split falls on a multiple of 256, so
   * the siblings taken there (the upper part, the proof's last hashes) are the same for all
   * 256 leaves of the leaf's level-0 tile: they are kept per tile and tree size, with their
   * encodings, and only the hashes within the tile (`below`, bottom-up) are read per proof.
   * @throws LogError MALFORMED / NOT_FOUND for out-of-range arguments.
   */
  private proofParts(index: number, size: number): { below: Uint8Array[]; upper: UpperPart } | undefined {
    this.checkSize(size, 1);
    if (index >= size) {
      throw new LogError('MALFORMED', `index ${index} is not below tree size ${size}`);
    }
    const tile = Math.floor(index / TILE_WIDTH);
    let range: [number, number] | undefined = [0, size];
    let upper = this.upperMemo.get(tile, size);
    if (upper !== undefined) {
      const lo = tile * TILE_WIDTH;
      range = [lo, Math.min(lo + TILE_WIDTH, size)];
    } else {
      const above: Uint8Array[] = [];
      range = this.walkProof(index, range, TILE_WIDTH, above);
      if (range === undefined) return undefined;
      upper = { hashes: above.reverse().map((h) => h.slice()) };
      this.upperMemo.set(tile, size, upper);
    }
    const below: Uint8Array[] = [];
    if (this.walkProof(index, range, 1, below) === undefined) return undefined;
    return { below: below.reverse(), upper };
  }

  /**
   * Walks inclusionPlan's ranges top-down from `range` while it is wider than `stop`,
   * pushing each sibling's hash (top-down order); returns the range reached, or undefined
   * when a tile is not cached.
   */
  private walkProof(index: number, range: [number, number], stop: number, out: Uint8Array[]): [number, number] | undefined {
    let [lo, hi] = range;
    while (hi - lo > stop) {
      const mid = lo + largestPowerOfTwoBelow(hi - lo);
      const h = index < mid ? this.rangeHash(mid, hi) : this.rangeHash(lo, mid);
      if (h === undefined) return undefined;
      out.push(h);
      if (index < mid) hi = mid;
      else lo = mid;
    }
    return [lo, hi];
  }

  /**
   * The hash of leaf range [lo, hi) of the committed tree from cached tiles, or undefined
   * when a tile it needs is not cached. A complete subtree is a view into its tile (do not
   * mutate); any other range is folded from its subtrees.
   */
  private rangeHash(lo: number, hi: number): Uint8Array | undefined {
    const width = hi - lo;
    if (width < 2 ** 31) {
      const level = 31 - Math.clz32(width);
      if (2 ** level === width && lo % width === 0) return this.reader.subtreeViewCached(level, lo);
    }
    // Not one subtree: a range at the right edge of the tree, folded from several. Every
    // proof in the tree of that size shares these, so they are remembered.
    let h = this.foldMemo.get(lo, hi);
    if (h === undefined) {
      h = this.reader.rangeHashCached(lo, hi);
      if (h !== undefined) this.foldMemo.set(lo, hi, h);
    }
    return h;
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

  /**
   * The first corruption the log's reads detected (a message naming the entry or tile), or
   * undefined while none was: the log then answers /healthz unhealthy.
   */
  get corruption(): string | undefined {
    return this.integrity.corruption;
  }

  /**
   * One entry's bytes, checked against its leaf hash (integrity.ts).
   * @throws LogError NOT_FOUND beyond the tree; CORRUPT naming the index when the store
   *   lost it or it does not match its leaf hash.
   */
  async entry(index: number): Promise<Uint8Array> {
    if (index >= this.size) throw new LogError('NOT_FOUND', `no entry at index ${index}`);
    let e: Uint8Array | undefined;
    try {
      e = await this.store.readEntry(index);
    } catch (err) {
      throw this.integrity.note(err);
    }
    if (e === undefined) throw this.integrity.corrupt(`entry ${index} is missing from the store`);
    await this.integrity.checkEntry(index, e);
    return e;
  }

  /**
   * Entries [start, end), each checked against its leaf hash, for readers of many entries
   * (the record index). Reads a bundle at a time.
   * @throws LogError NOT_FOUND beyond the tree; CORRUPT as entry().
   */
  async readEntries(start: number, end: number): Promise<Uint8Array[]> {
    if (end > this.size) {
      throw new LogError('NOT_FOUND', `entries [${start}, ${end}) are beyond size ${this.size}`);
    }
    let entries: Uint8Array[];
    try {
      entries = await this.store.readEntries(start, end);
    } catch (err) {
      throw this.integrity.note(err);
    }
    for (let i = 0; i < entries.length; i++) await this.integrity.checkEntry(start + i, entries[i]!);
    return entries;
  }

  /**
   * Hash tile (level, index) with `width` hashes (256 for a full tile), checked against
   * the tree when read from the store (integrity.ts).
   * @throws LogError NOT_FOUND when the tree does not have that many hashes there; CORRUPT
   *   naming the tile when the store lost it or it does not hash as the tree says.
   */
  async hashTile(level: number, index: number, width: number): Promise<Uint8Array> {
    const tile = await this.cache.get(level, index, width);
    return tile.data.subarray(0, width * 32);
  }

  /**
   * Entry bundle `index` with `width` entries (256 for a full bundle): each entry as a
   * big-endian uint16 length followed by its bytes (c2sp.org/tlog-tiles). Every entry is
   * checked against its leaf hash; a full bundle once checked is served from memory.
   * The result is shared: do not mutate it.
   * @throws LogError NOT_FOUND when the tree does not have those entries; CORRUPT naming
   *   the first entry that the store lost or that does not match its leaf hash.
   */
  async entryBundle(index: number, width: number): Promise<Uint8Array> {
    const start = index * TILE_WIDTH;
    if (start + width > this.size) {
      throw new LogError('NOT_FOUND', `entry bundle ${index} of width ${width} is beyond the tree`);
    }
    if (width === TILE_WIDTH) {
      const cached = this.integrity.cachedBundle(index);
      if (cached !== undefined) return cached;
    }
    let bundle: Uint8Array | undefined;
    try {
      bundle = await this.store.readBundle(index, width);
    } catch (err) {
      throw this.integrity.note(err);
    }
    if (bundle === undefined) {
      throw this.integrity.corrupt(`entry bundle ${index} of width ${width} is missing from the store`);
    }
    await this.integrity.checkBundle(index, width, bundle);
    return bundle;
  }

  /** Stops taking entries, integrates what is queued, and closes nothing else. */
  async drain(): Promise<void> {
    this.closed = true;
    await this.sequencer.close();
    await this.recovery?.stop();
    await this.filling;
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

/**
 * The siblings of an inclusion proof above the leaf's level-0 tile (copies), and their
 * encodings as the proof API and receipts send them, made on first use.
 */
interface UpperPart {
  hashes: Uint8Array[];
  json?: Uint8Array;
  base64?: string[];
}

/** Most range hashes one memo keeps (a few MiB); it starts again when full. */
const RANGE_MEMO_MAX = 65536;

/**
 * Values by a pair of numbers (a leaf range [lo, hi), or a tile and a tree size), bounded:
 * what is kept never changes, and what a log's proofs share at any time is little (that of
 * recent tree sizes), so a full memo is simply dropped and refilled.
 */
class RangeMemo<T> {
  private byLo = new Map<number, Map<number, T>>();
  private count = 0;

  get(lo: number, hi: number): T | undefined {
    return this.byLo.get(lo)?.get(hi);
  }

  set(lo: number, hi: number, value: T): void {
    if (this.count >= RANGE_MEMO_MAX) {
      this.byLo = new Map();
      this.count = 0;
    }
    let byHi = this.byLo.get(lo);
    if (byHi === undefined) this.byLo.set(lo, (byHi = new Map()));
    byHi.set(hi, value);
    this.count++;
  }
}

/** Standard base64 of a hash (the server's Buffer codec; the same text as util toBase64). */
function base64(h: Uint8Array): string {
  return Buffer.from(h.buffer, h.byteOffset, h.byteLength).toString('base64');
}

/** `{"index":I,"size":N,"hashes":[...]}` as UTF-8: JSON.stringify's bytes for it. */
function proofJson(index: number, size: number, hashes: readonly Uint8Array[], upper: Uint8Array): Uint8Array {
  const head = `{"index":${index},"size":${size},"hashes":[`;
  const lower = encodeHashes(hashes);
  // Pooled memory: an answer is written once and dropped.
  const out = Buffer.allocUnsafe(head.length + lower.length + upper.length + 3);
  let at = asciiInto(head, out, 0);
  out.set(lower, at);
  at += lower.length;
  if (lower.length > 0 && upper.length > 0) out[at++] = 0x2c; // ,
  out.set(upper, at);
  at += upper.length;
  out[at++] = 0x5d; // ]
  out[at++] = 0x7d; // }
  return out.subarray(0, at);
}

/** Hashes as the inside of a JSON array of base64 strings: `"…","…"` (empty for none). */
function encodeHashes(hashes: readonly Uint8Array[]): Uint8Array {
  if (hashes.length === 0) return new Uint8Array(0);
  const out = new Uint8Array(hashes.length * (base64Length(HASH_SIZE) + 3) - 1);
  let at = 0;
  for (let i = 0; i < hashes.length; i++) {
    if (i > 0) out[at++] = 0x2c; // ,
    out[at++] = 0x22; // "
    at = base64Into(hashes[i]!, out, at);
    out[at++] = 0x22;
  }
  return out;
}

/** Writes ASCII `text` into `out` at `at`; returns the offset after it. */
function asciiInto(text: string, out: Uint8Array, at: number): number {
  for (let i = 0; i < text.length; i++) out[at++] = text.charCodeAt(i);
  return at;
}

function checkEntrySize(entry: Uint8Array): void {
  if (entry.length === 0) throw new LogError('EMPTY', 'an entry must not be empty');
  if (entry.length > MAX_ENTRY_SIZE) {
    throw new LogError('TOO_LARGE', `an entry must be at most ${MAX_ENTRY_SIZE} bytes`);
  }
}
