import { beforeAll, describe, expect, it } from 'vitest';
import {
  VerifiedTileReader,
  Frontier,
  formatTilePath,
  parseTilePath,
  isLogError,
  parseCheckpoint,
  parseNote,
  proveConsistencyAsync,
  tilesForSize,
  verifyConsistency,
  type TrustedTree,
} from '../../src/index.js';
import { openTestLog, makeEntry } from '../helpers/test-log.js';
import { createApp } from '../../src/server/app.js';
import { TEST_VERIFIER_KEY } from './fixtures.js';
import type { Log } from '../../src/log/log.js';

type Fetch = (url: string, init?: RequestInit) => Promise<Response>;
const BASE = 'http://log.test';

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'none';
  } catch (err) {
    return isLogError(err) ? err.code : String(err);
  }
}

/** Wraps fetch so that the answer for `path` has byte `at` flipped. */
function tamper(fetch: Fetch, path: string, at: number): Fetch {
  return async (url, init) => {
    const res = await fetch(url, init);
    if (url !== `${BASE}/${path}` || res.status !== 200) return res;
    const body = new Uint8Array(await res.arrayBuffer());
    body[at]! ^= 1;
    return new Response(body, { status: 200 });
  };
}

async function treeAt(log: Log, size: number): Promise<TrustedTree> {
  const note = await log.checkpointAt(size);
  if (note === undefined) throw new Error(`no checkpoint at ${size}`);
  return parseCheckpoint(parseNote(note).text);
}

describe('VerifiedTileReader', () => {
  const sizes = [1, 2, 3, 255, 256, 257, 300, 511, 512, 513, 700];
  let log: Log;
  let fetch: Fetch;
  const entries = Array.from({ length: 700 }, (_, i) => makeEntry(i));

  beforeAll(async () => {
    ({ log } = await openTestLog());
    let size = 0;
    for (const s of sizes) {
      await log.addMany(entries.slice(size, s));
      size = s;
    }
    const app = createApp({ log, verifierKey: TEST_VERIFIER_KEY });
    fetch = async (url, init) => app.request(url, init);
  });

  it('authenticates every hash tile and entry bundle at every published size', async () => {
    for (const size of sizes) {
      const tree = await treeAt(log, size);
      const reader = new VerifiedTileReader(BASE, { fetch });
      for (const t of tilesForSize(size)) {
        if (t.kind !== 'hash') continue;
        const width = t.width ?? 256;
        expect(await reader.hashTile(t.level, t.index, tree), `${size} ${formatTilePath(t)}`).toEqual(
          await log.hashTile(t.level, t.index, width)
        );
        if (t.level === 0) {
          expect(await reader.entryBundle(t.index, tree)).toEqual(entries.slice(t.index * 256, t.index * 256 + width));
        }
      }
      for (const i of [0, size - 1, Math.floor(size / 2)]) {
        expect(await reader.leafHash(i, tree)).toEqual((await log.hashTile(0, Math.floor(i / 256), Math.min(256, size - Math.floor(i / 256) * 256))).subarray((i % 256) * 32, (i % 256) * 32 + 32));
      }
    }
  });

  it('rejects every tampered hash of a full, a partial and a level-1 tile', async () => {
    const tree = await treeAt(log, 700);
    const cases: Array<[string, number, Promise<unknown> | ((r: VerifiedTileReader) => Promise<unknown>)]> = [];
    for (const at of [0, 31, 32 * 100 + 7, 8191]) cases.push(['tile/0/000', at, (r) => r.hashTile(0, 0, tree)]);
    for (const at of [0, 32 * 187 + 31]) cases.push(['tile/0/002.p/188', at, (r) => r.hashTile(0, 2, tree)]);
    for (const at of [0, 32 + 9, 63]) cases.push(['tile/1/000.p/2', at, (r) => r.hashTile(1, 0, tree)]);
    // A tampered tile also breaks reading the tiles it helps authenticate.
    cases.push(['tile/1/000.p/2', 40, (r) => r.hashTile(0, 2, tree)]);
    cases.push(['tile/0/002.p/188', 5, (r) => r.hashTile(0, 1, tree)]);
    for (const [path, at, run] of cases) {
      const reader = new VerifiedTileReader(BASE, { fetch: tamper(fetch, path, at) });
      expect(await codeOf((run as (r: VerifiedTileReader) => Promise<unknown>)(reader)), `${path}@${at}`).toBe(
        'PROOF_FAILED'
      );
    }
  });

  it('rejects a tampered entry, a misframed bundle and a short tile', async () => {
    const tree = await treeAt(log, 700);
    const entryReader = new VerifiedTileReader(BASE, { fetch: tamper(fetch, 'tile/entries/001', 20) });
    expect(await codeOf(entryReader.entryBundle(1, tree))).toBe('ENTRY_MISMATCH');
    const framing = new VerifiedTileReader(BASE, { fetch: tamper(fetch, 'tile/entries/001', 1) });
    expect(await codeOf(framing.entryBundle(1, tree))).toBe('MALFORMED');
    const short: Fetch = async (url, init) =>
      url.endsWith('tile/0/000') ? new Response(new Uint8Array(8160)) : fetch(url, init);
    expect(await codeOf(new VerifiedTileReader(BASE, { fetch: short }).hashTile(0, 0, tree))).toBe('MALFORMED');
    expect(await codeOf(new VerifiedTileReader(BASE, { fetch }).hashTile(0, 3, tree))).toBe('NOT_FOUND');
    expect(await codeOf(new VerifiedTileReader(BASE, { fetch }).leafHash(700, tree))).toBe('NOT_FOUND');
  });

  it('rejects tiles against a tree they do not belong to', async () => {
    const tree = await treeAt(log, 300);
    const wrongRoot = { size: 300, rootHash: (await treeAt(log, 257)).rootHash };
    const reader = new VerifiedTileReader(BASE, { fetch });
    expect(await reader.hashTile(0, 1, tree)).toHaveLength(44 * 32);
    expect(await codeOf(reader.hashTile(0, 1, wrongRoot))).toBe('PROOF_FAILED');
  });

  it('falls back to the full tile when a partial one is gone', async () => {
    const tree = await treeAt(log, 300);
    const requested: string[] = [];
    const noPartials: Fetch = async (url, init) => {
      requested.push(url.slice(BASE.length + 1));
      if (/tile\/(0|entries)\/.*\.p\//.test(url)) return new Response('gone', { status: 404 });
      return fetch(url, init);
    };
    const reader = new VerifiedTileReader(BASE, { fetch: noPartials });
    expect(await reader.entryBundle(1, tree)).toEqual(entries.slice(256, 300));
    expect(requested).toContain('tile/0/001');
    expect(requested).toContain('tile/entries/001');
  });

  it('serves authenticated nodes for proofs built from tiles', async () => {
    const [t300, t700] = [await treeAt(log, 300), await treeAt(log, 700)];
    const reader = new VerifiedTileReader(BASE, { fetch });
    const proof = await proveConsistencyAsync(300, 700, reader.nodeReader(t700));
    expect(verifyConsistency(300, 700, proof, t300.rootHash, t700.rootHash)).toBe(true);
  });
});

// A synthetic tile server over one tree of leaf hashes (no Log): tile (L, N) of width W is
// hashes N·256 … N·256+W-1 of level 8·L, the same for every tree size that has them.
function syntheticTree(max: number, rootsAt: readonly number[]): { fetch: Fetch; roots: Map<number, Uint8Array> } {
  const levels: Uint8Array[][] = [[], [], []];
  const roots = new Map<number, Uint8Array>();
  const frontier = new Frontier();
  const want = new Set(rootsAt);
  for (let i = 0; i < max; i++) {
    const leaf = new Uint8Array(32);
    new DataView(leaf.buffer).setUint32(0, i);
    frontier.append(leaf, (id, hash) => {
      if (id.level % 8 === 0) levels[id.level / 8]![id.index] = hash;
    });
    if (want.has(i + 1)) roots.set(i + 1, frontier.root());
  }
  const fetch: Fetch = async (url) => {
    const t = parseTilePath(url.slice(BASE.length + 1));
    if (t.kind !== 'hash') return new Response('no', { status: 404 });
    const hashes = levels[t.level]!.slice(t.index * 256, t.index * 256 + (t.width ?? 256));
    if (hashes.length !== (t.width ?? 256)) return new Response('no', { status: 404 });
    const body = new Uint8Array(hashes.length * 32);
    hashes.forEach((h, k) => body.set(h, k * 32));
    return new Response(body);
  };
  return { fetch, roots };
}

describe('VerifiedTileReader over synthetic trees', () => {
  const small = Array.from({ length: 140 }, (_, i) => 1 + i * 9); // 1 … 1252
  const large = [65535, 65536, 65537, 65536 + 300, 65536 + 256 * 2 + 1];
  let synthetic: ReturnType<typeof syntheticTree>;
  beforeAll(() => {
    synthetic = syntheticTree(Math.max(...large), [...small, ...large]);
  });

  it('authenticates every tile of trees of many sizes, up to three tile levels', async () => {
    const { fetch, roots } = synthetic;
    for (const size of [...small, ...large]) {
      const tree = { size, rootHash: roots.get(size)! };
      const reader = new VerifiedTileReader(BASE, { fetch });
      const tiles = tilesForSize(size).filter((t) => t.kind === 'hash');
      // For the large trees, the tiles at the right edge and the first of each level.
      const chosen = size < 2000 ? tiles : tiles.filter((t) => t.width !== undefined || t.index === 0);
      for (const t of chosen) {
        const data = await reader.hashTile(t.kind === 'hash' ? t.level : 0, t.index, tree);
        expect(data.length, `${size} ${formatTilePath(t)}`).toBe((t.width ?? 256) * 32);
      }
      const wrong = { size, rootHash: roots.get(size === 1 ? 10 : 1)! };
      expect(await codeOf(reader.hashTile(0, 0, wrong)), `${size} wrong root`).toBe('PROOF_FAILED');
    }
  });

  it('rejects a tampered level-2 tile and the tiles it authenticates', async () => {
    const { fetch, roots } = synthetic;
    const size = 65536 + 300;
    const tree = { size, rootHash: roots.get(size)! };
    for (const [path, run] of [
      ['tile/2/000.p/1', (r: VerifiedTileReader) => r.hashTile(2, 0, tree)],
      ['tile/2/000.p/1', (r: VerifiedTileReader) => r.hashTile(0, 256, tree)],
      ['tile/2/000.p/1', (r: VerifiedTileReader) => r.hashTile(1, 1, tree)],
      ['tile/1/000', (r: VerifiedTileReader) => r.hashTile(1, 0, tree)],
      ['tile/1/001.p/1', (r: VerifiedTileReader) => r.hashTile(0, 100, tree)],
    ] as const) {
      const reader = new VerifiedTileReader(BASE, { fetch: tamper(fetch, path, 7) });
      expect(await codeOf(run(reader)), path).toBe('PROOF_FAILED');
    }
  });
});
