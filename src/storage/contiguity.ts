/**
 * The cheap check at open that a store holds every entry and every hash tile up to its
 * latest checkpoint, from keys alone (no value is read, so it costs one key scan, about
 * one key per commit plus one per 256 entries).
 *
 * Why it is needed. LevelDB replays its write-ahead log at open, and when a block of it is
 * corrupt it skips the block silently (a line in `db/LOG`; classic-level cannot turn on
 * paranoid_checks). Every commit is one WAL record, so what vanishes is whole commits: their
 * entry chunks, their tiles and their checkpoint, while later commits (and the latest
 * checkpoint) survive. Served as it is, such a store would answer for indices it no longer
 * has and append on top of the hole.
 *
 * What the keys must show, for a latest checkpoint of size N:
 * - an entry chunk starting at every multiple of 256 below N (a commit splits its entries
 *   at bundle boundaries) and at the size of every stored checkpoint below N (the next
 *   commit starts there): a commit lost from the middle of the log takes with it the chunk
 *   that started at the checkpoint before it. The value of the last chunk is read by the
 *   store itself (its end must be N);
 * - every hash tile of the tree of size N: the full ones and the partial one of each level.
 * What it does not see: a damaged value (that is what the checks of every read, in
 * src/log/integrity.ts, and `candor fsck` are for), or commits lost from the very end, which
 * leave an older consistent store (see src/storage/commit-mark.ts).
 */
import { TILE_HEIGHT, TILE_WIDTH } from '../merkle/tiles.js';
import { LogError } from '../util/errors.js';
import { pow2 } from '../util/integers.js';

/** Keys in order, a batch at a time (LevelDB iterators' nextv). */
export type KeyBatches<T> = () => Promise<T[]>;

/** What a store shows of itself, as streams of keys in key order (empty batch = done). */
export interface StoredKeys {
  /** The first entry index of each stored entry chunk. */
  chunkStarts: KeyBatches<number>;
  /** The tree size of each stored checkpoint. */
  checkpointSizes: KeyBatches<number>;
  /** Each stored hash tile, ordered by level, then index. */
  tiles: KeyBatches<{ level: number; index: number }>;
}

/** What is missing: ranges of entry indices and tiles (at most `limit` of each listed). */
export interface Holes {
  entries: Array<[start: number, end: number]>;
  tiles: Array<{ level: number; index: number }>;
  /** Totals, when more were found than listed. */
  missingEntries: number;
  missingTiles: number;
}

/** Items of each kind listed in a report; the totals are counted in full. */
const LIST_LIMIT = 8;

/** A stream of sorted numbers with one item of lookahead. */
class Cursor<T> {
  private buf: T[] = [];
  private at = 0;
  private done = false;
  constructor(private readonly next: KeyBatches<T>) {}
  async peek(): Promise<T | undefined> {
    while (this.at >= this.buf.length && !this.done) {
      this.buf = await this.next();
      this.at = 0;
      if (this.buf.length === 0) this.done = true;
    }
    return this.at < this.buf.length ? this.buf[this.at] : undefined;
  }
  async take(): Promise<T | undefined> {
    const v = await this.peek();
    this.at++;
    return v;
  }
}

/**
 * Finds the entries and tiles missing below `size` (see the module comment). Reads keys
 * only; memory stays constant whatever the size of the log.
 */
export async function findHoles(keys: StoredKeys, size: number): Promise<Holes> {
  const holes: Holes = { entries: [], tiles: [], missingEntries: 0, missingTiles: 0 };
  // Entries: walk the chunk starts against the starts there must be (the bundle boundaries
  // and the checkpoint sizes below `size`, merged in order).
  const chunks = new Cursor(keys.chunkStarts);
  const checkpoints = new Cursor(keys.checkpointSizes);
  let boundary = 0;
  // The smallest start there must be at or after `from`.
  const required = async (from: number): Promise<number> => {
    while (boundary < from) boundary += TILE_WIDTH;
    let cp = await checkpoints.peek();
    while (cp !== undefined && cp < from) {
      await checkpoints.take();
      cp = await checkpoints.peek();
    }
    return Math.min(boundary, cp ?? Infinity);
  };
  for (let from = 0; ; ) {
    const want = await required(from);
    if (want >= size) break;
    let start = await chunks.peek();
    while (start !== undefined && start < want) {
      await chunks.take();
      start = await chunks.peek();
    }
    if (start === want) {
      from = want + 1;
      continue;
    }
    // A hole from `want` to the next chunk that exists (or the end); the starts it covers
    // are skipped, not counted again.
    const end = Math.min(start ?? size, size);
    holes.missingEntries += end - want;
    if (holes.entries.length < LIST_LIMIT) holes.entries.push([want, end]);
    from = end;
  }
  // Tiles: for each level, every tile the tree of `size` has.
  const tiles = new Cursor(keys.tiles);
  for (let level = 0; level <= 63; level++) {
    const hashes = Math.floor(size / pow2(TILE_HEIGHT * level));
    if (hashes === 0) break;
    const count = Math.ceil(hashes / TILE_WIDTH);
    for (let index = 0; index < count; index++) {
      let t = await tiles.peek();
      while (t !== undefined && (t.level < level || (t.level === level && t.index < index))) {
        t = (await tiles.take(), await tiles.peek());
      }
      if (t !== undefined && t.level === level && t.index === index) continue;
      // Missing: this one, and (quickly) the run up to the next stored tile of the level.
      const upTo = t !== undefined && t.level === level ? Math.min(t.index, count) : count;
      for (let i = index; i < upTo; i++) {
        holes.missingTiles++;
        if (holes.tiles.length < LIST_LIMIT) holes.tiles.push({ level, index: i });
      }
      index = upTo - 1;
    }
  }
  return holes;
}

/** Human-readable list of what `holes` says is missing ("entries [a, b), hash tiles 0/3, …"). */
export function describeHoles(holes: Holes): string {
  const parts: string[] = [];
  if (holes.missingEntries > 0) {
    const ranges = holes.entries.map(([a, b]) => (b - a === 1 ? `${a}` : `[${a}, ${b})`)).join(', ');
    const more = holes.entries.reduce((n, [a, b]) => n + b - a, 0) < holes.missingEntries ? ', …' : '';
    parts.push(`${holes.missingEntries} entries (${ranges}${more})`);
  }
  if (holes.missingTiles > 0) {
    const list = holes.tiles.map((t) => `${t.level}/${t.index}`).join(', ');
    const more = holes.tiles.length < holes.missingTiles ? ', …' : '';
    parts.push(`${holes.missingTiles} hash tiles (${list}${more})`);
  }
  return parts.join(' and ');
}

/**
 * Throws when the store has holes below its latest checkpoint.
 * @throws LogError CORRUPT saying what is missing and what to run.
 */
export async function assertNoHoles(keys: StoredKeys, size: number, where: string, dataDir: string): Promise<void> {
  const holes = await findHoles(keys, size);
  if (holes.missingEntries === 0 && holes.missingTiles === 0) return;
  const message =
    `store ${where} is missing ${describeHoles(holes)} below its latest checkpoint (size ${size}): ` +
    `LevelDB lost records (see ${where}/LOG), so candor will not serve it. Run ` +
    `\`candor fsck --data ${dataDir}\` for the full damage, and \`candor repair --data ${dataDir} ` +
    `--from URL\` to refill it from another copy of this log (a mirror, or its tiles)`;
  throw new LogError('CORRUPT', message);
}
