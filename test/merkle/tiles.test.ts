import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { sha256 } from '@noble/hashes/sha2.js';
import {
  ExpandedTile,
  TILE_HEIGHT,
  TILE_WIDTH,
  formatTileIndex,
  formatTilePath,
  parseTileIndex,
  parseTilePath,
  tileForNode,
  tileHashPosition,
  tileWidth,
  tilesForSize,
  type TilePath,
} from '../../src/merkle/tiles.js';
import { Frontier } from '../../src/merkle/tree.js';
import { leafHash, useSha256 } from '../../src/merkle/hash.js';
import { concatBytes, fromHex, toHex, utf8 } from '../../src/util/bytes.js';
import { isLogError } from '../../src/util/errors.js';
import { ReferenceTree } from '../helpers/reference-tree.js';

function malformed(fn: () => unknown): boolean {
  try {
    fn();
    return false;
  } catch (err) {
    return isLogError(err, 'MALFORMED');
  }
}

describe('tile index and path text', () => {
  const examples: Array<[number, string]> = [
    [0, '000'], [1, '001'], [999, '999'], [1000, 'x001/000'], [1234067, 'x001/x234/067'],
    [256000000, 'x256/x000/000'], [2 ** 53 - 1, 'x009/x007/x199/x254/x740/991'],
  ];

  it('formats and parses the §5 index examples', () => {
    for (const [n, s] of examples) {
      expect(formatTileIndex(n)).toBe(s);
      expect(parseTileIndex(s)).toBe(n);
    }
  });

  it('rejects non-canonical tile indices', () => {
    for (const s of [
      '', '0', '00', '0000', '001/000', 'x001', 'x001/x000', 'x000/001', 'x001//000', '/000',
      'x00a/000', '0x1', ' 001', '001 ', 'x009/x007/x199/x254/x740/992', 'x1/000',
      'x001/x000/x000/x000/x000/x000/000', '१२३', 'X001/000',
    ]) {
      expect(malformed(() => parseTileIndex(s)), JSON.stringify(s)).toBe(true);
    }
  });

  it('round-trips tile paths', () => {
    const tiles: Array<[TilePath, string]> = [
      [{ kind: 'hash', level: 0, index: 0 }, 'tile/0/000'],
      [{ kind: 'hash', level: 0, index: 273, width: 112 }, 'tile/0/273.p/112'],
      [{ kind: 'hash', level: 63, index: 1234067 }, 'tile/63/x001/x234/067'],
      [{ kind: 'hash', level: 2, index: 0, width: 1 }, 'tile/2/000.p/1'],
      [{ kind: 'hash', level: 10, index: 1000, width: 255 }, 'tile/10/x001/000.p/255'],
      [{ kind: 'entries', index: 0 }, 'tile/entries/000'],
      [{ kind: 'entries', index: 1234067, width: 8 }, 'tile/entries/x001/x234/067.p/8'],
    ];
    for (const [t, path] of tiles) {
      expect(formatTilePath(t)).toBe(path);
      expect(parseTilePath(path)).toEqual(t);
    }
    // A width of 256 is a full tile.
    expect(formatTilePath({ kind: 'hash', level: 1, index: 2, width: 256 })).toBe('tile/1/002');
    expect(() => formatTilePath({ kind: 'hash', level: 64, index: 0 })).toThrow(TypeError);
    expect(() => formatTilePath({ kind: 'entries', index: 0, width: 0 })).toThrow(TypeError);
    expect(() => formatTilePath({ kind: 'entries', index: -1 })).toThrow(TypeError);
  });

  it('rejects malformed tile paths', () => {
    const bad: Array<[string, string]> = [
      ['tile/00/000', 'leading zero in level'],
      ['tile/01/000', 'leading zero in level'],
      ['tile/64/000', 'level 64'],
      ['tile/100/000', 'level 100'],
      ['tile/-1/000', 'negative level'],
      ['tile/a/000', 'non-digit level'],
      ['tile/0/0000', 'four digits'],
      ['tile/0/00', 'two digits'],
      ['tile/0/001/000', 'missing x'],
      ['tile/0/x001/x000', 'x on the last group'],
      ['tile/0/x000/001', 'leading zero group'],
      ['tile/0/000.p/0', 'width 0'],
      ['tile/0/000.p/256', 'width 256'],
      ['tile/0/000.p/007', 'leading zeros in width'],
      ['tile/0/000.p/1000', 'width 1000'],
      ['tile/0/000.p/', 'empty width'],
      ['tile/0/000.p/8/', 'trailing slash after width'],
      ['tile/0/000.p/8.p/8', 'two widths'],
      ['tile/0/000/', 'trailing slash'],
      ['/tile/0/000', 'leading slash'],
      ['tile//000', 'empty level'],
      ['tile/0//000', 'extra slash'],
      ['tile/0/x001//000', 'empty group'],
      ['tile/0/', 'no index'],
      ['tile/0/00a', 'non-digit index'],
      ['tile/0/000?x=1', 'query'],
      ['tile/8/0/000', 'Go sumdb layout with height'],
      ['tile/data/000', 'static-ct data tile'],
      ['tile/entries/000.p/256', 'entries width 256'],
      ['tile/entries/x000/000', 'entries leading zero group'],
      ['TILE/0/000', 'upper case'],
      ['tile/0/000 ', 'trailing space'],
      ['', 'empty'],
    ];
    for (const [path, why] of bad) {
      expect(malformed(() => parseTilePath(path)), `${why}: ${path}`).toBe(true);
    }
  });
});

describe('tile sizes', () => {
  const summary = (size: number, since = 0): string[] =>
    tilesForSize(size, since).map((t) => formatTilePath(t));

  it('lists the tiles of s = 70000, 256 and 65536 (§5 examples)', () => {
    const t70000 = summary(70000);
    expect(t70000).toHaveLength(273 + 1 + 1 + 1 + 1);
    expect(t70000.slice(272, 277)).toEqual([
      'tile/0/272', 'tile/0/273.p/112', 'tile/1/000', 'tile/1/001.p/17', 'tile/2/000.p/1',
    ]);
    expect(summary(256)).toEqual(['tile/0/000', 'tile/1/000.p/1']);
    const t65536 = summary(65536);
    expect(t65536).toHaveLength(256 + 1 + 1);
    expect(t65536.slice(255)).toEqual(['tile/0/255', 'tile/1/000', 'tile/2/000.p/1']);
    expect(summary(0)).toEqual([]);
  });

  it('lists only the new or grown tiles since an older size', () => {
    expect(summary(600, 300)).toEqual(['tile/0/001', 'tile/0/002.p/88', 'tile/1/000.p/2']);
    expect(summary(600, 512)).toEqual(['tile/0/002.p/88']);
    expect(summary(600, 600)).toEqual([]);
    expect(summary(70000, 69999)).toEqual(['tile/0/273.p/112']);
    expect(() => tilesForSize(5, 6)).toThrow(TypeError);
  });

  it('computes the width of any tile for any size', () => {
    expect(tileWidth(0, 273, 70000)).toBe(112);
    expect(tileWidth(0, 272, 70000)).toBe(256);
    expect(tileWidth(0, 274, 70000)).toBe(0);
    expect(tileWidth(1, 1, 70000)).toBe(17);
    expect(tileWidth(2, 0, 70000)).toBe(1);
    expect(tileWidth(3, 0, 70000)).toBe(0);
    expect(tileWidth(63, 0, 2 ** 53 - 1)).toBe(0);
    expect(tileWidth(6, 0, 2 ** 53 - 1)).toBe(31); // floor((2^53 - 1) / 2^48)
    expect(tileWidth(4, 2 ** 13 - 1, 2 ** 53 - 1)).toBe(255); // 2^21 - 1 hashes at level 32
    expect(tileWidth(4, 2 ** 13 - 2, 2 ** 53 - 1)).toBe(256);
  });

  it('locates nodes in tiles', () => {
    const where = (level: number, index: number): number[] => {
      const t = tileForNode({ level, index });
      return [t.tileLevel, t.tileIndex, t.subLevel, t.subIndex];
    };
    expect(where(0, 300)).toEqual([0, 1, 0, 44]);
    expect(where(3, 40)).toEqual([0, 1, 3, 8]);
    expect(where(8, 5)).toEqual([1, 0, 0, 5]);
    expect(where(17, 2 ** 35 + 3)).toEqual([2, 2 ** 28, 1, 3]);
    expect(where(52, 1)).toEqual([6, 0, 4, 1]);
    expect(tileHashPosition({ level: 8, index: 300 })).toEqual({
      tileLevel: 1, tileIndex: 1, offset: 44,
    });
    expect(tileHashPosition({ level: 40, index: 2 ** 12 + 7 })).toEqual({
      tileLevel: 5, tileIndex: 16, offset: 7,
    });
    expect(tileHashPosition({ level: 3, index: 1 })).toBeUndefined();
  });
});

describe('tile contents', () => {
  const N = 3 * 256 + 77;
  const leaves = Array.from({ length: N }, (_, i) => leafHash(utf8(`entry ${i}`)));
  const ref = ReferenceTree.of(leaves);
  /** Hash tile (level, index) of the tree of N leaves, built from the reference tree. */
  const tileData = (level: number, index: number): Uint8Array => {
    const w = tileWidth(level, index, N);
    const hashes = Array.from({ length: w }, (_, k) =>
      ref.node(TILE_HEIGHT * level, index * TILE_WIDTH + k)
    );
    return concatBytes(...hashes);
  };

  afterEach(() => useSha256(sha256));

  it('matches the §5 entry bundle and tile/0/000.p/8 examples', () => {
    const data = [
      '', '00', '10', '2021', '3031', '40414243', '5051525354555657',
      '606162636465666768696a6b6c6d6e6f',
    ];
    const entry = (x: string): Uint8Array =>
      concatBytes(Uint8Array.of(0, x.length / 2), fromHex(x));
    const bundle = concatBytes(...data.map(entry));
    expect(toHex(bundle)).toBe(
      '00000001000001100002202100023031000440414243' +
        '000850515253545556570010606162636465666768696a6b6c6d6e6f'
    );
    const tile = concatBytes(...data.map((x) => leafHash(fromHex(x))));
    expect(tile).toHaveLength(256);
    expect(createHash('sha256').update(tile).digest('hex')).toBe(
      'aea2f1bbb5140fd5f8eacb503fdf54c00c3d860c72588e40233addd416bc8f10'
    );
    expect(toHex(new ExpandedTile(tile).node(3, 0))).toBe(
      '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328'
    );
  });

  it('gives every perfect subtree of an 845-leaf tree through tileForNode', () => {
    const tiles = new Map<string, ExpandedTile>();
    let checked = 0;
    for (let level = 0; 2 ** level <= N; level++) {
      for (let index = 0; (index + 1) * 2 ** level <= N; index++) {
        const t = tileForNode({ level, index });
        const key = `${t.tileLevel}/${t.tileIndex}`;
        let tile = tiles.get(key);
        if (tile === undefined) {
          tile = new ExpandedTile(tileData(t.tileLevel, t.tileIndex));
          tiles.set(key, tile);
        }
        expect((t.subIndex + 1) * 2 ** t.subLevel).toBeLessThanOrEqual(tile.width);
        const hash = tile.node(t.subLevel, t.subIndex);
        expect(hash, `${level}/${index}`).toEqual(ref.node(level, index));
        checked++;
      }
    }
    expect(checked).toBe(845 + 422 + 211 + 105 + 52 + 26 + 13 + 6 + 3 + 1);
    expect([...tiles.keys()].sort()).toEqual(['0/0', '0/1', '0/2', '0/3', '1/0']);
  });

  it('rebuilds full-tile roots at sub-level 8 and refuses incomplete nodes', () => {
    const full = new ExpandedTile(tileData(0, 1));
    expect(full.width).toBe(256);
    expect(full.node(8, 0)).toEqual(ref.node(8, 1));
    const partial = new ExpandedTile(tileData(0, 3));
    expect(partial.width).toBe(77);
    expect(partial.node(6, 0)).toEqual(ref.node(6, 12));
    expect(() => partial.node(6, 1)).toThrow(/internal error/);
    expect(() => partial.node(0, 77)).toThrow(/internal error/);
    expect(() => partial.node(9, 0)).toThrow(/internal error/);
    const level1 = new ExpandedTile(tileData(1, 0));
    expect(level1.width).toBe(3);
    expect(level1.node(1, 0)).toEqual(ref.node(9, 0));
  });

  it('extends a partial tile to the same state as a fresh build, without rehashing', () => {
    const full = tileData(0, 1);
    let calls = 0;
    useSha256((d) => {
      calls++;
      return sha256(d);
    });
    const nodesOf = (t: ExpandedTile): string[] => {
      const out: string[] = [];
      for (let k = 0; k <= TILE_HEIGHT; k++) {
        for (let i = 0; (i + 1) * 2 ** k <= t.width; i++) out.push(toHex(t.node(k, i)));
      }
      return out;
    };
    const steps = [[0, 1], [1, 2], [3, 77], [77, 200], [128, 256], [255, 256], [10, 10]] as const;
    for (const [w1, w2] of steps) {
      const grown = new ExpandedTile(full.subarray(0, w1 * 32));
      nodesOf(grown);
      calls = 0;
      grown.extend(full.subarray(0, w2 * 32));
      const fresh = new ExpandedTile(full.subarray(0, w2 * 32));
      expect(grown.width).toBe(w2);
      expect(grown.data).toEqual(fresh.data);
      const got = nodesOf(grown);
      // Only nodes that were not complete at width w1 get hashed.
      const interior = (w: number): number => {
        let n = 0;
        for (let k = 1; k <= TILE_HEIGHT; k++) n += Math.floor(w / 2 ** k);
        return n;
      };
      expect(calls, `${w1}->${w2}`).toBe(interior(w2) - interior(w1));
      expect(got).toEqual(nodesOf(fresh));
    }
  });

  it('rejects bad tile data and extensions that change or shrink the tile', () => {
    expect(malformed(() => new ExpandedTile(new Uint8Array(33)))).toBe(true);
    expect(malformed(() => new ExpandedTile(new Uint8Array(257 * 32)))).toBe(true);
    const data = tileData(0, 3);
    const t = new ExpandedTile(data.subarray(0, 10 * 32));
    expect(malformed(() => t.extend(data.subarray(0, 9 * 32)))).toBe(true);
    const changed = data.slice();
    changed[5] = changed[5]! ^ 1;
    expect(malformed(() => t.extend(changed))).toBe(true);
    expect(malformed(() => t.extend(new Uint8Array(11 * 32 + 1)))).toBe(true);
    expect(t.width).toBe(10);
  });

  it('copies its input data, even from a Node Buffer (whose slice is a view)', () => {
    const data = tileData(0, 0);
    const t = new ExpandedTile(data);
    data.fill(0);
    expect(t.node(8, 0)).toEqual(ref.node(8, 0));
    const buf = Buffer.from(tileData(0, 1));
    const b = new ExpandedTile(buf.subarray(0, 100 * 32));
    b.extend(buf);
    buf.fill(0);
    expect(b.node(8, 0)).toEqual(ref.node(8, 1));
    expect(b.node(0, 3)).toEqual(ref.node(0, 259));
  });

  it('fills tiles from Frontier onNode reports via tileHashPosition', () => {
    const tiles = new Map<string, number[][]>();
    const f = new Frontier();
    for (const leaf of leaves) {
      f.append(leaf, (id, hash) => {
        const pos = tileHashPosition(id);
        if (pos === undefined) return;
        const key = `${pos.tileLevel}/${pos.tileIndex}`;
        const t = tiles.get(key) ?? [];
        expect(pos.offset).toBe(t.length);
        t.push([...hash]);
        tiles.set(key, t);
      });
    }
    expect([...tiles.keys()].sort()).toEqual(['0/0', '0/1', '0/2', '0/3', '1/0']);
    for (const [key, hashes] of tiles) {
      const [level, index] = key.split('/').map(Number) as [number, number];
      expect(Uint8Array.from(hashes.flat()), key).toEqual(tileData(level, index));
    }
  });
});
