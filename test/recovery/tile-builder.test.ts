/**
 * The restore's tree rebuild (src/recovery/tile-builder.ts) must produce exactly the tiles
 * and root the log's own integrator stored, whatever the batch boundaries on either side:
 * a restored store is read by the same code as the original.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { TileBuilder } from '../../src/recovery/tile-builder.js';
import { leafHash } from '../../src/merkle/hash.js';
import { tilesForSize, TILE_WIDTH } from '../../src/merkle/tiles.js';
import { makeEntry, openTestLog } from '../helpers/test-log.js';
import { toHex } from '../../src/util/bytes.js';
import { useNodeSha256 } from '../../src/server/node-crypto.js';

describe('TileBuilder', () => {
  beforeAll(() => useNodeSha256()); // the same hashes, faster (test/server/node-crypto.test.ts)
  it.each([
    { name: 'one leaf', size: 1, chunk: 1 },
    { name: 'a partial bundle', size: 200, chunk: 64 },
    { name: 'exactly one full tile', size: 256, chunk: 100 },
    { name: 'a full tile and one leaf, in uneven chunks', size: 257, chunk: 77 },
    { name: 'a level-2 tile (2^16 + 21 leaves)', size: 65_557, chunk: 16_384 },
  ])('builds the integrator\'s tiles and root: $name', async ({ size, chunk }) => {
    const { log, store } = await openTestLog(undefined, { batchMax: 4093 });
    const entries = Array.from({ length: size }, (_, i) => makeEntry(i, 1 + (i % 40)));
    for (let i = 0; i < size; i += 20_000) await log.addMany(entries.slice(i, i + 20_000));
    await log.drain();
    expect(log.size).toBe(size);

    const builder = new TileBuilder();
    const latest = new Map<string, Uint8Array>();
    for (let i = 0; i < size; i += chunk) {
      const tiles = builder.append(entries.slice(i, i + chunk).map((e) => leafHash(e)));
      for (const t of tiles) latest.set(`${t.level}/${t.index}`, t.data);
    }
    expect(builder.size).toBe(size);
    expect(builder.root()).toEqual(log.checkpoint.rootHash);
    const paths = tilesForSize(size);
    expect(latest.size).toBe(paths.length);
    for (const p of paths) {
      if (p.kind !== 'hash') continue;
      const width = p.width ?? TILE_WIDTH;
      const stored = (await store.readTile(p.level, p.index))!;
      const built = latest.get(`${p.level}/${p.index}`);
      // Hex strings: vitest's deep equality is slow on thousands of 8 KiB arrays.
      expect(built && toHex(built), `tile ${p.level}/${p.index}`).toBe(toHex(stored.subarray(0, width * 32)));
    }
    const partial = builder.partialTiles().map((t) => `${t.level}/${t.index}:${t.data.length / 32}`);
    const want = paths.filter((p) => p.width !== undefined).map((p) => `${p.kind === 'hash' ? p.level : 'e'}/${p.index}:${p.width}`);
    expect(partial.sort()).toEqual(want.sort());
    await log.drain();
    await store.close();
  });
});
