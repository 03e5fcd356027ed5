/**
 * Never serve a wrong byte (src/log/integrity.ts): a LevelDB store damaged on disk (one bit
 * of an entry or of a hash tile flipped, through LevelDB itself) is opened and served over
 * real sockets on 127.0.0.1, through both HTTP paths (the fast lane and the Hono app alone).
 * Every damaged entry, bundle or tile answers 500 CORRUPT naming the index or tile, never
 * 200; what is intact is still served; /healthz turns unhealthy.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import { createApp } from '../../src/server/app.js';
import { fastLane } from '../../src/server/fast-lane.js';
import type { Log } from '../../src/log/log.js';
import { LevelStore } from '../../src/storage/level-store.js';
import { MemoryStore } from '../../src/storage/memory-store.js';
import type { LogStore } from '../../src/storage/store.js';
import { encodeChunk } from '../../src/storage/keys.js';
import { isLogError } from '../../src/util/errors.js';
import { makeEntry, openTestLog, TEST_VERIFIER_KEY } from '../helpers/test-log.js';
import { flipEntryByte, flipTileByte } from '../helpers/tamper.js';

const SIZE = 600; // bundles 0 and 1 full, bundle 2 partial (88 entries)

interface Served {
  log: Log;
  store: LogStore;
  fast: string;
  plain: string;
  close(): Promise<void>;
}

async function listen(listener: RequestListener): Promise<{ server: Server; url: string }> {
  const server = createServer(listener);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

/** Serves `log` twice: through the fast lane in front of the app, and by the app alone. */
async function serve(log: Log, store: LogStore): Promise<Served> {
  const app = createApp({ log, verifierKey: TEST_VERIFIER_KEY });
  const listener = getRequestListener(app.fetch);
  const a = await listen(fastLane({ log }, listener));
  const b = await listen(listener);
  return {
    log,
    store,
    fast: a.url,
    plain: b.url,
    close: async () => {
      for (const s of [a.server, b.server]) {
        s.closeAllConnections();
        await new Promise((r) => s.close(r));
      }
      await log.drain();
      await store.close();
    },
  };
}

const dirs: string[] = [];
const running: Served[] = [];
afterEach(async () => {
  for (const s of running.splice(0)) await s.close();
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

/** A LevelDB log of SIZE entries, closed, in a fresh directory. */
async function levelLog(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'candor-integrity-'));
  dirs.push(dir);
  const { log, store } = await openTestLog(new LevelStore(dir));
  await log.addMany(Array.from({ length: SIZE }, (_, i) => makeEntry(i)));
  await log.drain();
  await store.close();
  return dir;
}

async function reopen(dir: string): Promise<Served> {
  const { log, store } = await openTestLog(new LevelStore(dir));
  const s = await serve(log, store);
  running.push(s);
  return s;
}

async function expectCorrupt(url: string, naming: string): Promise<void> {
  const res = await fetch(url);
  const body = (await res.json()) as { error: { code: string; message: string } };
  expect(res.status, url).toBe(500);
  expect(body.error.code, url).toBe('CORRUPT');
  expect(body.error.message, url).toContain(naming);
}

async function expectBytes(url: string, want: Uint8Array): Promise<void> {
  const res = await fetch(url);
  expect(res.status, url).toBe(200);
  expect(new Uint8Array(await res.arrayBuffer()), url).toEqual(want);
}

async function health(base: string): Promise<{ status: number; body: { ok: boolean; reason?: string } }> {
  const res = await fetch(`${base}/healthz`);
  return { status: res.status, body: (await res.json()) as { ok: boolean; reason?: string } };
}

const bundleOf = (first: number, n: number): Uint8Array =>
  encodeChunk(
    Array.from({ length: n }, (_, i) => makeEntry(first + i)),
    0,
    n
  );

describe('serving a store damaged on disk', () => {
  it('answers 500 CORRUPT naming the entry for a flipped entry byte, through both paths', async () => {
    const dir = await levelLog();
    await flipEntryByte(dir, 300);
    await flipEntryByte(dir, 590); // in the partial bundle at the right edge
    const s = await reopen(dir);
    expect((await health(s.fast)).body.ok).toBe(true); // nothing read yet
    for (const base of [s.fast, s.plain]) {
      await expectCorrupt(`${base}/v1/entries/300`, 'entry 300');
      await expectCorrupt(`${base}/tile/entries/001`, 'entry 300');
      await expectCorrupt(`${base}/v1/entries/590`, 'entry 590');
      await expectCorrupt(`${base}/tile/entries/002.p/88`, 'entry 590');
      await expectCorrupt(`${base}/tile/entries/002.p/79`, 'entry 590');
      // What is intact is served, byte for byte.
      await expectBytes(`${base}/v1/entries/299`, makeEntry(299));
      await expectBytes(`${base}/tile/entries/000`, bundleOf(0, 256));
      await expectBytes(`${base}/tile/entries/002.p/78`, bundleOf(512, 78));
    }
    const h = await health(s.fast);
    expect(h.status).toBe(503);
    expect(h.body.ok).toBe(false);
    expect(h.body.reason).toMatch(/^corrupt: entry 300 /);
  });

  it('answers 500 CORRUPT naming the tile for a flipped hash in a full tile', async () => {
    const dir = await levelLog();
    await flipTileByte(dir, 0, 1, 7); // leaf hash of entry 263
    const s = await reopen(dir);
    for (const base of [s.fast, s.plain]) {
      await expectCorrupt(`${base}/tile/0/001`, 'hash tile 0/1');
      // Entries of that bundle cannot be checked against a wrong tile: not served either.
      await expectCorrupt(`${base}/tile/entries/001`, 'hash tile 0/1');
      await expectCorrupt(`${base}/v1/entries/263`, 'hash tile 0/1');
      await expectCorrupt(`${base}/v1/proof/inclusion?index=263&size=${SIZE}`, 'hash tile 0/1');
      await expectBytes(`${base}/tile/entries/000`, bundleOf(0, 256));
    }
    expect((await health(s.plain)).body.reason).toContain('hash tile 0/1');
  });

  it('refuses to open when the right edge does not hash to the latest checkpoint', async () => {
    const dir = await levelLog();
    await flipTileByte(dir, 0, 2, 3); // the partial level-0 tile
    const store = new LevelStore(dir);
    const err = await openTestLog(store).then(
      () => undefined,
      (e: unknown) => e
    );
    await store.close();
    expect(isLogError(err, 'CORRUPT')).toBe(true);
    expect((err as Error).message).toContain('root of the latest checkpoint');
  });
});

/**
 * A store that reads back one entry with a bit flipped, like a disk going bad under a store
 * of any kind (the checks live in the Log, not in LevelStore).
 */
class BadDiskStore extends MemoryStore {
  bad: number | undefined;
  bundleReads = 0;

  override async readEntry(index: number): Promise<Uint8Array | undefined> {
    const e = await super.readEntry(index);
    if (e !== undefined && index === this.bad) e[0]! ^= 0x80;
    return e;
  }

  override async readBundle(bundle: number, width: number): Promise<Uint8Array | undefined> {
    this.bundleReads++;
    const b = await super.readBundle(bundle, width);
    const bad = this.bad;
    if (b !== undefined && bad !== undefined && Math.floor(bad / 256) === bundle && bad % 256 < width) {
      let at = 0;
      for (let i = 0; i < bad % 256; i++) at += 2 + b[at]! * 256 + b[at + 1]!;
      b[at + 2]! ^= 0x80;
    }
    return b;
  }
}

describe('serving from any store', () => {
  it('checks a MemoryStore the same way, and serves checked full bundles from memory', async () => {
    const store = new BadDiskStore();
    const { log } = await openTestLog(store);
    await log.addMany(Array.from({ length: SIZE }, (_, i) => makeEntry(i)));
    const s = await serve(log, store);
    running.push(s);
    await expectBytes(`${s.fast}/tile/entries/000`, bundleOf(0, 256));
    const reads = store.bundleReads;
    store.bad = 10; // the disk goes bad after bundle 0 was checked
    await expectBytes(`${s.fast}/tile/entries/000`, bundleOf(0, 256));
    await expectBytes(`${s.plain}/tile/entries/000`, bundleOf(0, 256));
    expect(store.bundleReads).toBe(reads); // from memory, not read (or hashed) again
    await expectCorrupt(`${s.fast}/v1/entries/10`, 'entry 10');
    store.bad = 520;
    await expectCorrupt(`${s.fast}/tile/entries/002.p/88`, 'entry 520');
    await expectCorrupt(`${s.plain}/tile/entries/002.p/9`, 'entry 520');
    await expectBytes(`${s.plain}/tile/entries/002.p/8`, bundleOf(512, 8));
    expect((await health(s.fast)).body).toMatchObject({ ok: false, reason: expect.stringContaining('entry 10 ') });
  });
});

/** A store whose tile reads answer late, with what they read when they began. */
class SlowTileStore extends MemoryStore {
  slow = false;
  override async readTile(level: number, index: number): Promise<Uint8Array | undefined> {
    const data = await super.readTile(level, index);
    if (this.slow) await new Promise((r) => setTimeout(r, 100));
    return data;
  }
}

describe('reads racing commits', () => {
  it('does not take a tile read before a commit for a damaged one after it', async () => {
    const store = new SlowTileStore();
    // No tile cache: every tile comes from the store, and every one is checked.
    const { log } = await openTestLog(store, { tileCacheSize: 0 });
    await log.addMany(Array.from({ length: 300 }, (_, i) => makeEntry(i)));
    const want = (await store.readTile(0, 1))!;
    store.slow = true;
    const reading = log.hashTile(0, 1, 44); // the right edge, 44 hashes wide
    await log.add(makeEntry(300)); // lands while the read is out: the edge is 45 wide now
    expect(log.size).toBe(301);
    expect(await reading).toEqual(want);
    expect(log.corruption).toBeUndefined();
    store.slow = false;
    await log.drain();
  });
});
