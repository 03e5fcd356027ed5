/**
 * Reading a range of entries for a catch-up: bundle by bundle, each checked against the
 * authenticated level-0 tile (VerifiedTileReader.entryBundle), with a few bundles fetched
 * ahead so that a large backlog is not one round trip per 256 entries.
 */
import type { TrustedTree, VerifiedTileReader } from '../client/verified-tiles.js';
import { TILE_WIDTH } from '../merkle/tiles.js';

/** Bundles fetched ahead of the one being emitted. */
export const LOOKAHEAD = 4;

/** The verified entries of one bundle, the first of them at `index`. */
export interface BundleRead {
  index: number;
  /** Resolves with the entries, or rejects with the reader's LogError. */
  entries: Promise<Uint8Array[]>;
}

/**
 * Entries [start, end) of `tree` (end: its size by default), as a queue of bundle reads in
 * order, each started up to LOOKAHEAD bundles ahead of the one taken. A read that fails
 * rejects only when taken (a read left behind after the caller stops is ignored).
 */
export class BundleQueue {
  private readonly queue: BundleRead[] = [];
  private nextFetch: number;

  constructor(
    private readonly tiles: VerifiedTileReader,
    private readonly tree: TrustedTree,
    start: number,
    private readonly end = tree.size
  ) {
    this.nextFetch = start;
  }

  /** The next bundle read, or undefined after the last. */
  take(): BundleRead | undefined {
    while (this.queue.length <= LOOKAHEAD && this.nextFetch < this.end) {
      const index = this.nextFetch;
      const n = Math.floor(index / TILE_WIDTH);
      const to = Math.min(TILE_WIDTH, this.end - n * TILE_WIDTH);
      const entries = this.tiles.entryBundle(n, this.tree, index - n * TILE_WIDTH, to);
      entries.catch(() => {}); // handled when taken
      this.queue.push({ index, entries });
      this.nextFetch = (n + 1) * TILE_WIDTH;
    }
    return this.queue.shift();
  }
}
