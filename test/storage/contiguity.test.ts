/**
 * The holes check at open (src/storage/contiguity.ts), on key streams as a store shows them:
 * commits lost from the middle of a log are found from keys alone, named as entry ranges
 * and tiles; a whole log has none.
 */
import { describe, expect, it } from 'vitest';
import { describeHoles, findHoles, type StoredKeys } from '../../src/storage/contiguity.js';

/** The keys a log of commits ending at `sizes` shows (tile keys of its tree), minus `lost` commits. */
function keysOf(sizes: number[], lost: number[] = [], batch = 3): StoredKeys {
  const chunks: number[] = [];
  const checkpoints: number[] = [0];
  const tiles: Array<{ level: number; index: number }> = [];
  let old = 0;
  const lostTiles = new Set<string>();
  sizes.forEach((size, k) => {
    const gone = lost.includes(k);
    if (!gone) checkpoints.push(size);
    for (let i = old; i < size; i = Math.min(size, (Math.floor(i / 256) + 1) * 256)) if (!gone) chunks.push(i);
    // A commit that fills a level-0 tile writes it last; lost, the full tile is gone.
    for (let t = Math.floor(old / 256); t * 256 < size; t++) if (gone && (t + 1) * 256 <= size) lostTiles.add(`0/${t}`);
    old = size;
  });
  const size = sizes[sizes.length - 1]!;
  for (let level = 0; 256 ** level <= size; level++) {
    const count = Math.ceil(Math.floor(size / 256 ** level) / 256);
    for (let index = 0; index < count; index++) if (!lostTiles.has(`${level}/${index}`)) tiles.push({ level, index });
  }
  const stream = <T>(items: T[]) => {
    let at = 0;
    return async () => {
      const out = items.slice(at, at + batch);
      at += batch;
      return out;
    };
  };
  return { chunkStarts: stream(chunks.sort((a, b) => a - b)), checkpointSizes: stream(checkpoints), tiles: stream(tiles) };
}

describe('findHoles', () => {
  it('finds none in a whole log', async () => {
    const sizes = [10, 300, 301, 700, 1000, 66000];
    const h = await findHoles(keysOf(sizes), 66000);
    expect(h).toEqual({ entries: [], tiles: [], missingEntries: 0, missingTiles: 0 });
  });

  it('names the entries of a commit lost from the middle, and the tile it completed', async () => {
    const h = await findHoles(keysOf([10, 300, 520, 700, 1000], [2]), 1000);
    expect(h.entries).toEqual([[300, 520]]);
    expect(h.missingEntries).toBe(220);
    expect(h.tiles).toEqual([{ level: 0, index: 1 }]);
    expect(describeHoles(h)).toBe('220 entries ([300, 520)) and 1 hash tiles (0/1)');
  });

  it('merges consecutive lost commits into one range, and lists separate ones apart', async () => {
    const h = await findHoles(keysOf([10, 20, 30, 40, 50, 60, 70], [1, 2, 5]), 70);
    expect(h.entries).toEqual([
      [10, 30],
      [50, 60],
    ]);
    expect(h.missingEntries).toBe(30);
  });

  it('finds the first commit lost (and with it the checkpoint at 0 is not enough)', async () => {
    const h = await findHoles(keysOf([100, 200], [0]), 200);
    expect(h.entries).toEqual([[0, 100]]);
  });
});
