/**
 * The integrator: the log's single writer. It turns a batch of submitted entries into
 * new leaves, hash tiles and a signed checkpoint, and commits all of it in one atomic,
 * fsynced store batch before anyone hears of the new indices.
 *
 * It keeps the right edge of the tree in memory (a Frontier of at most ~53 subtree
 * roots, and the partial tile at each tile level), so appending costs O(batch · log n)
 * hashing and never reads the store for tree data: no work grows with the log's size.
 *
 * Crash safety. Everything a batch produces is computed in memory first, on copies of
 * the right-edge state. The store commit is the only point of no return:
 * - a crash before it leaves the store at the previous checkpoint, and the batch's
 *   submitters never got an answer, so nothing promised is lost;
 * - a crash after it leaves entries, tiles, dedup keys and the checkpoint all written
 *   (LevelDB applies a batch whole), and reopening derives the right edge again from
 *   the stored tiles and checks it against the stored checkpoint.
 * Only after the commit resolves does the in-memory state move and the waiters resolve.
 *
 * Pipelining. A batch is prepared (deduplicated, hashed, tiled, signed) on the "tip": the
 * right edge after the last batch prepared, which may still be committing. Its commit is
 * chained behind that batch's: the store still sees one commit at a time, in order, but
 * batch k+1 is prepared while batch k's fsync runs (integrate's `handoff` tells the
 * sequencer when the next batch may start). If a commit fails, every batch chained behind
 * it fails with the same error without writing, and the tip goes back to the committed
 * state: the next batch is prepared on what is durable, exactly as without pipelining.
 */
import { formatCheckpoint } from '../checkpoint/checkpoint.js';
import { signNote } from '../note/note.js';
import type { Signer } from '../note/keys.js';
import { Frontier, rangeNodes } from '../merkle/tree.js';
import { TILE_HEIGHT, TILE_WIDTH } from '../merkle/tiles.js';
import { EMPTY_ROOT, HASH_SIZE } from '../merkle/hash.js';
import type { LogStore, StoredCheckpoint, StoredTile } from '../storage/store.js';
import { LogError, invariant } from '../util/errors.js';
import { equalBytes } from '../util/bytes.js';
import { TileCache } from './tile-cache.js';
import { TileNodeReader } from './node-reader.js';
import type { LeafFilter } from './leaf-filter.js';
import { HashIndex } from '../util/hash-index.js';

/** Where one submitted entry ended up. */
export interface Placement {
  index: number;
  /** True when the same bytes were already logged (or submitted earlier in this batch). */
  duplicate: boolean;
}

export interface IntegrationResult {
  placements: Placement[];
  /** The checkpoint that includes every placement. */
  checkpoint: StoredCheckpoint;
}

export interface IntegratorDeps {
  store: LogStore;
  cache: TileCache;
  reader: TileNodeReader;
  signer: Signer;
  origin: string;
  /** Wall clock in milliseconds, injected for tests. */
  now: () => number;
  /**
   * Leaf hashes known to be absent skip the store's dedup lookup (leaf-filter.ts). The
   * integrator adds every hash it commits.
   */
  filter?: LeafFilter | undefined;
}

/** A tile being written by a batch: an 8 KiB buffer and how many hashes it holds. */
interface TileBuffer {
  level: number;
  index: number;
  data: Uint8Array;
  width: number;
}

interface EdgeTile {
  index: number;
  data: Uint8Array; // width × 32 bytes
}

/** The right edge of the tree at some size: what a batch is prepared on. */
interface Edge {
  frontier: Frontier;
  edges: Map<number, EdgeTile>;
  size: number;
}

/** A batch prepared on the tip whose commit has not resolved yet. */
interface InFlight {
  hashes: readonly Uint8Array[];
  index: HashIndex;
  placements: Placement[];
}

export class Integrator {
  private readonly deps: IntegratorDeps;
  /** The right edge of the committed tree, and its checkpoint. */
  private committed: Edge;
  private latest: StoredCheckpoint;
  /** The right edge after the last batch prepared (committed or not). */
  private tip: Edge;
  /** The last commit queued; rejects when that commit (or one before it) failed. */
  private chain: Promise<void> = Promise.resolve();
  /** Bumped by each failed commit: batches prepared before it are void. */
  private epoch = 0;
  private readonly inflight: InFlight[] = [];

  private constructor(
    deps: IntegratorDeps,
    frontier: Frontier,
    edges: Map<number, EdgeTile>,
    latest: StoredCheckpoint
  ) {
    this.deps = deps;
    this.committed = { frontier, edges, size: latest.size };
    this.tip = this.committed;
    this.latest = latest;
  }

  /**
   * Loads the right edge of the stored tree and checks it against the stored checkpoint.
   * A new store gets a signed checkpoint of the empty tree, so /checkpoint always answers.
   * @throws LogError CORRUPT when the tiles do not hash to the checkpoint's root.
   */
  static async load(deps: IntegratorDeps): Promise<Integrator> {
    const stored = await deps.store.latestCheckpoint();
    if (stored === undefined) {
      const integrator = new Integrator(deps, new Frontier(), new Map(), emptyCheckpoint());
      const first = integrator.signCheckpoint(0, EMPTY_ROOT);
      await deps.store.commit({
        oldSize: 0,
        entries: [],
        leafHashes: [],
        tiles: [],
        checkpoint: first,
      });
      integrator.latest = first;
      return integrator;
    }
    const { frontier, edges } = await loadEdge(deps, stored);
    return new Integrator(deps, frontier, edges, stored);
  }

  /**
   * Takes the store's latest checkpoint and the right edge of its tiles as the committed
   * state, after the store reopened following a failed commit (recovery.ts). The store
   * holds the committed checkpoint, or a later one when the failed write landed after all:
   * that batch was prepared on the committed tree, so the tree stored must extend the
   * committed one, which is checked (the root of its first `size` leaves is the committed
   * root) before anything is taken: no fork of a published checkpoint, ever. Call it only
   * when no batch is in flight (after a failed commit none can commit until it is done).
   * @returns the size the store holds.
   * @throws LogError CORRUPT when the store lost committed entries or holds another tree.
   */
  async resync(): Promise<number> {
    invariant(this.inflight.length === 0, 'resync with batches in flight');
    const stored = await this.deps.store.latestCheckpoint();
    const size = this.latest.size;
    if (stored === undefined || stored.size < size) {
      const has = stored === undefined ? 'no checkpoint' : `size ${stored.size}`;
      throw new LogError('CORRUPT', `the reopened store holds ${has}, but size ${size} was committed`);
    }
    if (size > 0 && stored.size > size) {
      const prefix = new Frontier(size, await this.deps.reader.readNodes(rangeNodes(0, size)));
      if (!equalBytes(prefix.root(), this.latest.rootHash)) {
        const why = `the reopened store's tree does not extend the committed one at size ${size}`;
        throw new LogError('CORRUPT', why);
      }
    } else if (stored.size === size && !equalBytes(stored.rootHash, this.latest.rootHash)) {
      throw new LogError('CORRUPT', `the reopened store holds another tree at the committed size ${size}`);
    }
    // The new edge is read from the store unchecked, through a cache of its own: the Log's
    // cache checks every tile against the committed tree (integrity.ts), which a landed
    // batch is beyond until this returns. What it reads is checked here instead: the prefix
    // against the committed root above, the whole against the stored checkpoint's root.
    const own = new TileCache(this.deps.store, 64);
    const { frontier, edges } = await loadEdge({ cache: own, reader: new TileNodeReader(own) }, stored);
    // Batches prepared before this are void (as after any failed commit); the next one is
    // prepared on what the store holds.
    this.epoch++;
    this.committed = { frontier, edges, size: stored.size };
    this.tip = this.committed;
    this.chain = Promise.resolve();
    this.latest = stored;
    return stored.size;
  }

  /** The latest committed checkpoint. */
  get checkpoint(): StoredCheckpoint {
    return this.latest;
  }

  get size(): number {
    return this.latest.size;
  }

  /**
   * The committed partial tile at the right edge of tile level `level` (a view of memory
   * the integrator computed and checked: do not mutate), or undefined when the committed
   * tree has none at that level. It moves together with `size`, in the same turn.
   */
  edgeTile(level: number): { index: number; data: Uint8Array } | undefined {
    return this.committed.edges.get(level);
  }

  /**
   * Integrates a batch: deduplicates, appends, signs, commits, then returns placements.
   * `leafHashes[i]` must be the RFC 6962 leaf hash of `entries[i]`. `handoff` is called once
   * the batch is prepared and its commit queued: from then on the next batch may be
   * integrated (it is prepared on top of this one and committed after it).
   */
  async integrate(
    entries: readonly Uint8Array[],
    leafHashes: readonly Uint8Array[],
    handoff: () => void = () => {}
  ): Promise<IntegrationResult> {
    invariant(entries.length === leafHashes.length, 'entries and leaf hashes differ in length');
    let placed: Placed;
    let epoch: number;
    do {
      epoch = this.epoch;
      placed = await this.place(leafHashes);
    } while (epoch !== this.epoch); // a commit failed meanwhile: place again on the reset tip
    const { placements, fresh, index } = placed;
    if (fresh.length === 0) {
      // Only known leaves (perhaps of batches still committing): answer once those landed.
      const prior = this.chain;
      handoff();
      await prior;
      return { placements, checkpoint: this.latest };
    }

    // Step 1: compute the new right edge on copies of the tip; nothing shared changes yet.
    const base = this.tip;
    const oldSize = base.size;
    const frontier = base.frontier.clone();
    // A batch may fill tiles and start new ones; every tile it writes to is kept, in order.
    const written: TileBuffer[] = [];
    const current = new Map<number, TileBuffer>(); // tile level -> tile being written
    // Nodes at levels 0, 8, 16, … are tile hashes (tileHashPosition, inlined: this runs for
    // every leaf and node of the batch).
    const onNode = (level: number, index: number, hash: Uint8Array): void => {
      if (level % TILE_HEIGHT !== 0) return;
      const tileLevel = level / TILE_HEIGHT;
      const tileIndex = Math.floor(index / TILE_WIDTH);
      const offset = index - tileIndex * TILE_WIDTH;
      let t = current.get(tileLevel);
      if (t === undefined || t.index !== tileIndex) {
        invariant(t === undefined || t.width === TILE_WIDTH, 'left a tile before it was full');
        t = startTile(base.edges, tileLevel, tileIndex);
        current.set(tileLevel, t);
        written.push(t);
      }
      invariant(offset === t.width, 'tile hashes must be appended in order');
      t.data.set(hash, offset * HASH_SIZE);
      t.width++;
    };
    const freshHashes = new Array<Uint8Array>(fresh.length);
    for (let j = 0; j < fresh.length; j++) freshHashes[j] = leafHashes[fresh[j]!]!;
    frontier.appendLeaves(freshHashes, onNode);
    const newSize = oldSize + fresh.length;
    const tiles: StoredTile[] = written.map((t) => ({
      level: t.level,
      index: t.index,
      data: t.data.subarray(0, t.width * HASH_SIZE),
    }));
    const edges = new Map(base.edges);
    for (const t of tiles) {
      const width = t.data.length / HASH_SIZE;
      if (width < TILE_WIDTH) edges.set(t.level, { index: t.index, data: t.data.slice() });
      else if (edges.get(t.level)?.index === t.index) edges.delete(t.level);
    }
    const checkpoint = this.signCheckpoint(newSize, frontier.root());

    // The next batch is prepared on this one, and its duplicates of this batch's leaves are
    // found here (in flight) rather than in the store.
    const next: Edge = { frontier, edges, size: newSize };
    this.tip = next;
    const flight: InFlight = { hashes: leafHashes, index, placements };
    this.inflight.push(flight);
    const filter = this.deps.filter;
    if (filter !== undefined) for (const i of fresh) filter.add(leafHashes[i]!);

    // Step 2: the point of no return. One atomic batch, fsynced, after the batch before.
    const prior = this.chain;
    const commit = (async () => {
      await prior;
      await this.deps.store.commit({
        oldSize,
        entries: fresh.map((i) => entries[i]!),
        leafHashes: freshHashes,
        tiles,
        checkpoint,
      });
    })();
    this.chain = commit;
    handoff();
    try {
      await commit;
    } catch (err) {
      this.inflight.splice(this.inflight.indexOf(flight), 1);
      if (this.epoch === epoch) {
        // The first failure of this epoch: void every batch prepared on top of the
        // committed state, and prepare the next one on what is durable.
        this.epoch++;
        this.tip = this.committed;
        this.chain = Promise.resolve();
      }
      throw err;
    }

    // Step 3: the batch is durable; move the committed state and publish.
    this.inflight.splice(this.inflight.indexOf(flight), 1);
    this.committed = next;
    for (const t of tiles) this.deps.cache.putData(t.level, t.index, t.data);
    this.latest = checkpoint;
    return { placements, checkpoint };
  }

  /**
   * Assigns indices: known leaves keep theirs (logged, or in a batch still committing),
   * repeats within the batch share one, new leaves follow the tip.
   */
  private async place(leafHashes: readonly Uint8Array[]): Promise<Placed> {
    const firstSeen = new HashIndex();
    const unique: number[] = [];
    const repeatOf: number[] = new Array<number>(leafHashes.length).fill(-1);
    for (let i = 0; i < leafHashes.length; i++) {
      const first = firstSeen.addOrGet(leafHashes, i);
      if (first === i) unique.push(i);
      else repeatOf[i] = first;
    }
    // Only hashes the filter cannot rule out are looked up: first among the batches in
    // flight, then in the store.
    const filter = this.deps.filter;
    const ask: number[] = filter === undefined ? unique : unique.filter((i) => filter.mightContain(leafHashes[i]!));
    const known = new Map<number, number>();
    const stored: number[] = [];
    for (const i of ask) {
      const index = this.inFlightIndex(leafHashes[i]!);
      if (index === undefined) stored.push(i);
      else known.set(i, index);
    }
    const answers = stored.length === 0 ? [] : await this.deps.store.lookupLeafHashes(stored.map((i) => leafHashes[i]!));
    for (let j = 0; j < stored.length; j++) {
      const index = answers[j];
      if (index !== undefined) known.set(stored[j]!, index);
    }
    const placements: Placement[] = new Array<Placement>(leafHashes.length);
    const fresh: number[] = [];
    const base = this.tip.size;
    for (let j = 0; j < unique.length; j++) {
      const i = unique[j]!;
      const index = known.get(i);
      if (index !== undefined) {
        placements[i] = { index, duplicate: true };
      } else {
        placements[i] = { index: base + fresh.length, duplicate: false };
        fresh.push(i);
      }
    }
    for (let i = 0; i < repeatOf.length; i++) {
      const first = repeatOf[i]!;
      if (first >= 0) placements[i] = { index: placements[first]!.index, duplicate: true };
    }
    return { placements, fresh, index: firstSeen };
  }

  /** The index of a leaf hash in a batch prepared but not yet committed, if any. */
  private inFlightIndex(h: Uint8Array): number | undefined {
    for (const b of this.inflight) {
      const at = b.index.get(b.hashes, h);
      if (at !== undefined) return b.placements[at]!.index;
    }
    return undefined;
  }

  private signCheckpoint(size: number, rootHash: Uint8Array): StoredCheckpoint {
    const text = formatCheckpoint({ origin: this.deps.origin, size, rootHash });
    const note = signNote(text, [this.deps.signer]);
    return { size, rootHash, note, timestamp: this.deps.now() };
  }
}

/** What place() decides for a batch. */
interface Placed {
  placements: Placement[];
  /** Positions in the batch of the new leaves, in order. */
  fresh: number[];
  /** The batch's hashes by first position. */
  index: HashIndex;
}

/**
 * The right edge of the stored tree at checkpoint `stored`: its frontier, from the stored
 * tiles, checked against the checkpoint's root, and the partial tile at each level.
 * @throws LogError CORRUPT when the tiles do not hash to the checkpoint's root.
 */
async function loadEdge(
  deps: Pick<IntegratorDeps, 'cache' | 'reader'>,
  stored: StoredCheckpoint
): Promise<{ frontier: Frontier; edges: Map<number, EdgeTile> }> {
  const size = stored.size;
  const hashes = await deps.reader.readNodes(rangeNodes(0, size));
  const frontier = new Frontier(size, hashes);
  if (!equalBytes(frontier.root(), stored.rootHash)) {
    throw new LogError(
      'CORRUPT',
      `stored tiles do not hash to the root of the latest checkpoint (size ${size})`
    );
  }
  const edges = new Map<number, EdgeTile>();
  for (let level = 0; TILE_WIDTH ** level <= size; level++) {
    const width = Math.floor(size / TILE_WIDTH ** level) % TILE_WIDTH;
    if (width === 0) continue;
    const index = Math.floor(size / TILE_WIDTH ** (level + 1));
    const tile = await deps.cache.get(level, index, width);
    edges.set(level, { index, data: tile.data.slice(0, width * HASH_SIZE) });
  }
  return { frontier, edges };
}

/** A writable 8 KiB buffer for tile (level, index), pre-filled from the edge if it is there. */
function startTile(edges: Map<number, EdgeTile>, level: number, index: number): TileBuffer {
  const data = new Uint8Array(TILE_WIDTH * HASH_SIZE);
  const edge = edges.get(level);
  if (edge !== undefined && edge.index === index) {
    data.set(edge.data);
    return { level, index, data, width: edge.data.length / HASH_SIZE };
  }
  return { level, index, data, width: 0 };
}

/** Placeholder before the first checkpoint is signed; never published. */
function emptyCheckpoint(): StoredCheckpoint {
  return { size: 0, rootHash: EMPTY_ROOT, note: '', timestamp: 0 };
}
