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
 */
import { formatCheckpoint } from '../checkpoint/checkpoint.js';
import { signNote } from '../note/note.js';
import type { Signer } from '../note/keys.js';
import { Frontier, rangeNodes } from '../merkle/tree.js';
import { ExpandedTile, TILE_WIDTH, tileHashPosition } from '../merkle/tiles.js';
import { EMPTY_ROOT, HASH_SIZE } from '../merkle/hash.js';
import type { LogStore, StoredCheckpoint, StoredTile } from '../storage/store.js';
import { LogError, invariant } from '../util/errors.js';
import { equalBytes } from '../util/bytes.js';
import type { TileCache } from './tile-cache.js';
import type { TileNodeReader } from './node-reader.js';

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

export class Integrator {
  private readonly deps: IntegratorDeps;
  private frontier: Frontier;
  private edges: Map<number, EdgeTile>;
  private latest: StoredCheckpoint;

  private constructor(
    deps: IntegratorDeps,
    frontier: Frontier,
    edges: Map<number, EdgeTile>,
    latest: StoredCheckpoint
  ) {
    this.deps = deps;
    this.frontier = frontier;
    this.edges = edges;
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
    return new Integrator(deps, frontier, edges, stored);
  }

  /** The latest committed checkpoint. */
  get checkpoint(): StoredCheckpoint {
    return this.latest;
  }

  get size(): number {
    return this.latest.size;
  }

  /**
   * Integrates a batch: deduplicates, appends, signs, commits, then returns placements.
   * `leafHashes[i]` must be the RFC 6962 leaf hash of `entries[i]`.
   */
  async integrate(
    entries: readonly Uint8Array[],
    leafHashes: readonly Uint8Array[]
  ): Promise<IntegrationResult> {
    invariant(entries.length === leafHashes.length, 'entries and leaf hashes differ in length');
    const { placements, fresh } = await this.place(leafHashes);
    if (fresh.length === 0) return { placements, checkpoint: this.latest };

    // Step 1: compute the new right edge on copies; nothing shared changes yet.
    const oldSize = this.latest.size;
    const frontier = this.frontier.clone();
    // A batch may fill tiles and start new ones; every tile it writes to is kept, in order.
    const written: TileBuffer[] = [];
    const current = new Map<number, TileBuffer>(); // tile level -> tile being written
    const onNode = (id: { level: number; index: number }, hash: Uint8Array): void => {
      const pos = tileHashPosition(id);
      if (pos === undefined) return;
      let t = current.get(pos.tileLevel);
      if (t === undefined || t.index !== pos.tileIndex) {
        invariant(t === undefined || t.width === TILE_WIDTH, 'left a tile before it was full');
        t = this.startTile(pos.tileLevel, pos.tileIndex);
        current.set(pos.tileLevel, t);
        written.push(t);
      }
      invariant(pos.offset === t.width, 'tile hashes must be appended in order');
      t.data.set(hash, pos.offset * HASH_SIZE);
      t.width++;
    };
    for (const i of fresh) frontier.append(leafHashes[i]!, onNode);
    const newSize = oldSize + fresh.length;
    const tiles: StoredTile[] = written.map((t) => ({
      level: t.level,
      index: t.index,
      data: t.data.subarray(0, t.width * HASH_SIZE),
    }));
    const checkpoint = this.signCheckpoint(newSize, frontier.root());

    // Step 2: the point of no return. One atomic batch, fsynced.
    await this.deps.store.commit({
      oldSize,
      entries: fresh.map((i) => entries[i]!),
      leafHashes: fresh.map((i) => leafHashes[i]!),
      tiles,
      checkpoint,
    });

    // Step 3: the batch is durable; move the in-memory state and publish.
    this.frontier = frontier;
    for (const t of tiles) {
      const width = t.data.length / HASH_SIZE;
      if (width < TILE_WIDTH) this.edges.set(t.level, { index: t.index, data: t.data.slice() });
      else if (this.edges.get(t.level)?.index === t.index) this.edges.delete(t.level);
      this.deps.cache.put(t.level, t.index, new ExpandedTile(t.data.slice()));
    }
    this.latest = checkpoint;
    return { placements, checkpoint };
  }

  /** Assigns indices: known leaves keep theirs, repeats within the batch share one. */
  private async place(
    leafHashes: readonly Uint8Array[]
  ): Promise<{ placements: Placement[]; fresh: number[] }> {
    const firstSeen = new Map<string, number>();
    const unique: number[] = [];
    const repeatOf: number[] = new Array<number>(leafHashes.length).fill(-1);
    leafHashes.forEach((h, i) => {
      const key = hashKey(h);
      const first = firstSeen.get(key);
      if (first === undefined) {
        firstSeen.set(key, i);
        unique.push(i);
      } else {
        repeatOf[i] = first;
      }
    });
    const known = await this.deps.store.lookupLeafHashes(unique.map((i) => leafHashes[i]!));
    const placements: Placement[] = new Array<Placement>(leafHashes.length);
    const fresh: number[] = [];
    unique.forEach((i, j) => {
      const index = known[j];
      if (index !== undefined) {
        placements[i] = { index, duplicate: true };
      } else {
        placements[i] = { index: this.latest.size + fresh.length, duplicate: false };
        fresh.push(i);
      }
    });
    repeatOf.forEach((first, i) => {
      if (first >= 0) placements[i] = { index: placements[first]!.index, duplicate: true };
    });
    return { placements, fresh };
  }

  /** A writable 8 KiB buffer for tile (level, index), pre-filled from the edge if it is there. */
  private startTile(level: number, index: number): TileBuffer {
    const data = new Uint8Array(TILE_WIDTH * HASH_SIZE);
    const edge = this.edges.get(level);
    if (edge !== undefined && edge.index === index) {
      data.set(edge.data);
      return { level, index, data, width: edge.data.length / HASH_SIZE };
    }
    return { level, index, data, width: 0 };
  }

  private signCheckpoint(size: number, rootHash: Uint8Array): StoredCheckpoint {
    const text = formatCheckpoint({ origin: this.deps.origin, size, rootHash });
    const note = signNote(text, [this.deps.signer]);
    return { size, rootHash, note, timestamp: this.deps.now() };
  }
}

/** Placeholder before the first checkpoint is signed; never published. */
function emptyCheckpoint(): StoredCheckpoint {
  return { size: 0, rootHash: EMPTY_ROOT, note: '', timestamp: 0 };
}

function hashKey(h: Uint8Array): string {
  return String.fromCharCode(...h);
}
