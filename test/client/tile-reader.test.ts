/**
 * HttpTileReader: nodes of one tree size read from tlog-tiles hash tiles over an injected
 * fetch. Checked against the naive RFC 6962 reference tree and a real in-process candor log:
 * the exact tile widths fetched, caching of full tiles, the partial-tile fallback, and every
 * failure mode.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { FullTileCache, HttpTileReader, fetchBytes, type FetchFn } from '../../src/client/tile-reader.js';
import { parseTilePath, tileWidth, TILE_WIDTH } from '../../src/merkle/tiles.js';
import { proveConsistencyAsync, proveInclusionAsync, treeRootAsync } from '../../src/merkle/tree.js';
import { verifyConsistency } from '../../src/merkle/verify.js';
import { leafHash } from '../../src/merkle/hash.js';
import { createApp } from '../../src/server/app.js';
import { ReferenceTree } from '../helpers/reference-tree.js';
import { makeEntry, openTestLog, TEST_VERIFIER_KEY } from '../helpers/test-log.js';

const N = 70_000; // three tile levels: 273 full L0 tiles + .p/112, L1 .p/17, L2 .p/1
const leaves = Array.from({ length: N }, (_, i) => leafHash(new TextEncoder().encode(`leaf ${i}`)));
const ref = ReferenceTree.of(leaves);

/** A tlog-tiles server over the reference tree at `served` size; records each request. */
function tileServer(served: number, tamper?: (path: string, body: Uint8Array) => Uint8Array) {
  const requests: string[] = [];
  const fetchFn: FetchFn = async (url) => {
    const path = new URL(url).pathname.slice(1);
    requests.push(path);
    const t = parseTilePath(path);
    if (t.kind !== 'hash') return new Response('no', { status: 404 });
    const width = t.width ?? TILE_WIDTH;
    if (tileWidth(t.level, t.index, served) < width) return new Response('beyond the tree', { status: 404 });
    const body = new Uint8Array(width * 32);
    for (let i = 0; i < width; i++) body.set(ref.node(8 * t.level, t.index * TILE_WIDTH + i), i * 32);
    return new Response(new Uint8Array(tamper ? tamper(path, body) : body), { status: 200 });
  };
  return { fetchFn, requests };
}

describe('HttpTileReader', () => {
  it('builds the same consistency and inclusion proofs as the reference tree, for sizes across tile edges', async () => {
    const cases: Array<[number, number]> = [
      [1, 2], [3, 7], [255, 256], [256, 257], [100, 511], [257, 512], [512, 513],
      [1000, 65535], [65535, 65536], [65536, 65537], [4242, 70000], [69999, 70000],
    ];
    for (const [m, n] of cases) {
      const { fetchFn } = tileServer(N);
      const reader = new HttpTileReader('http://log.test', n, { fetch: fetchFn });
      const proof = await proveConsistencyAsync(m, n, reader);
      expect(proof, `${m}→${n}`).toEqual(ref.consistency(m, n));
      expect(verifyConsistency(m, n, proof, ref.root(m), ref.root(n))).toBe(true);
      expect(await treeRootAsync(n, reader)).toEqual(ref.root(n));
      expect(await proveInclusionAsync(m - 1, n, reader)).toEqual(ref.inclusion(m - 1, n));
    }
  });

  it('fetches full tiles or exactly the partial width the size implies, never wider', async () => {
    for (const n of [1, 255, 256, 300, 65536, 70000, 12345]) {
      const { fetchFn, requests } = tileServer(N);
      const reader = new HttpTileReader('http://log.test/', n, { fetch: fetchFn });
      await treeRootAsync(n, reader);
      await proveConsistencyAsync(Math.max(1, Math.floor(n / 3)), n, reader);
      expect(requests.length).toBeGreaterThan(0);
      for (const path of requests) {
        const t = parseTilePath(path);
        if (t.kind !== 'hash') throw new Error('entries fetched');
        expect(t.width ?? TILE_WIDTH, `${path} for size ${n}`).toBe(tileWidth(t.level, t.index, n));
      }
    }
  });

  it('caches full tiles across readers and sizes, never partial ones', async () => {
    const { fetchFn, requests } = tileServer(N);
    const cache = new FullTileCache();
    const run = (n: number) => proveConsistencyAsync(600, n, new HttpTileReader('http://log.test', n, { fetch: fetchFn, cache }));
    await run(1000);
    const first = [...requests];
    expect(first).toContain('tile/0/002');
    expect(first).toContain('tile/0/003.p/232');
    requests.length = 0;
    await run(1000);
    expect(requests).toEqual(first.filter((p) => p.includes('.p/')));
    expect(cache.size).toBe(first.filter((p) => !p.includes('.p/')).length);
    requests.length = 0;
    await run(1024); // a larger size: full tile 0/002 still cached, one level-1 partial fetched
    expect(requests).toEqual(['tile/1/000.p/4']);
  });

  it('falls back to the full tile when the partial one is gone', async () => {
    const served = tileServer(N);
    const noPartials: FetchFn = async (url, init) =>
      url.includes('.p/') ? new Response('gone', { status: 404 }) : served.fetchFn(url, init);
    const reader = new HttpTileReader('http://log.test', 300, { fetch: noPartials });
    expect(await treeRootAsync(300, reader)).toEqual(ref.root(300));
    expect(served.requests).toContain('tile/0/001');
  });

  it('reports missing tiles (NOT_FOUND), bad lengths (MALFORMED), errors (PUSHBACK) and dead servers (TIMEOUT)', async () => {
    const ahead = new HttpTileReader('http://log.test', 600, { fetch: tileServer(500).fetchFn });
    await expect(treeRootAsync(600, ahead)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    const short = tileServer(N, (_p, body) => body.subarray(0, body.length - 32));
    await expect(treeRootAsync(300, new HttpTileReader('http://x', 300, { fetch: short.fetchFn }))).rejects.toMatchObject({
      code: 'MALFORMED',
    });
    const long = tileServer(N, (_p, body) => new Uint8Array([...body, ...new Uint8Array(32)]));
    await expect(treeRootAsync(300, new HttpTileReader('http://x', 300, { fetch: long.fetchFn }))).rejects.toMatchObject({
      code: 'TOO_LARGE',
    });
    const broken: FetchFn = async () => new Response('oops', { status: 500 });
    await expect(treeRootAsync(3, new HttpTileReader('http://x', 3, { fetch: broken }))).rejects.toMatchObject({ code: 'PUSHBACK' });
    const down: FetchFn = async () => {
      throw new TypeError('fetch failed');
    };
    await expect(treeRootAsync(3, new HttpTileReader('http://x', 3, { fetch: down }))).rejects.toMatchObject({ code: 'TIMEOUT' });
    const hangs: FetchFn = () => new Promise<Response>(() => {});
    const slow = new HttpTileReader('http://x', 3, { fetch: hangs, timeoutMs: 30 });
    await expect(treeRootAsync(3, slow)).rejects.toMatchObject({ code: 'TIMEOUT' });
  });

  it('refuses nodes that are not in the tree of its size', async () => {
    const reader = new HttpTileReader('http://x', 5, { fetch: tileServer(N).fetchFn });
    await expect(reader.readNodes([{ level: 0, index: 5 }])).rejects.toMatchObject({ code: 'MALFORMED' });
    await expect(reader.readNodes([{ level: 3, index: 0 }])).rejects.toMatchObject({ code: 'MALFORMED' });
    expect(await reader.readNodes([{ level: 2, index: 0 }, { level: 0, index: 4 }])).toEqual([ref.node(2, 0), ref.node(0, 4)]);
  });

  it('fetchBytes caps bodies and bounds time', async () => {
    const big: FetchFn = async () => new Response(new Uint8Array(100));
    await expect(fetchBytes(big, 'http://x/a', { maxBytes: 99 })).rejects.toMatchObject({ code: 'TOO_LARGE' });
    expect((await fetchBytes(big, 'http://x/a', { maxBytes: 100 })).body.length).toBe(100);
  });
});

describe('HttpTileReader against an in-process candor log', () => {
  let fetchFn: FetchFn;
  let proofOf: (m: number, n: number) => Promise<Uint8Array[]>;
  beforeAll(async () => {
    const { log } = await openTestLog();
    await log.addMany(Array.from({ length: 700 }, (_, i) => makeEntry(i)));
    const app = createApp({ log, verifierKey: TEST_VERIFIER_KEY });
    fetchFn = async (url, init) => app.request(new URL(url).pathname, init);
    proofOf = (m, n) => log.consistencyProof(m, n);
  });

  it('proves what the log proves, for sizes up to the log size', async () => {
    const cache = new FullTileCache();
    for (const [m, n] of [[1, 700], [256, 512], [300, 699], [511, 513], [699, 700]] as const) {
      const reader = new HttpTileReader('http://log.test', n, { fetch: fetchFn, cache });
      expect(await proveConsistencyAsync(m, n, reader)).toEqual(await proofOf(m, n));
    }
    await expect(treeRootAsync(701, new HttpTileReader('http://log.test', 701, { fetch: fetchFn }))).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
  });
});
