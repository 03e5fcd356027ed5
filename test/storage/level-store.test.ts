import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LevelStore } from '../../src/storage/level-store.js';
import { FaultyLevelStore } from '../helpers/faulty-level-store.js';
import { isLogError } from '../../src/util/errors.js';
import { Level } from 'level';
import { FakeLog } from './fake-log.js';
import { runStoreContract } from './contract.js';
import { OPEN_MARGIN_BYTES, bytesToOpen, walBytes } from '../../src/storage/free-space.js';

runStoreContract('LevelStore', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'candor-store-'));
  const store = new FaultyLevelStore(dir);
  return {
    store,
    reopen: async () => new LevelStore(dir),
    failNextWrite: (mode) => (store.fault = mode),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}, { failureInjection: true });

describe('LevelStore', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'candor-store-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses a second store on a directory that is open, naming the directory', async () => {
    const first = new LevelStore(dir);
    await first.open();
    const second = new LevelStore(dir);
    await expect(second.open()).rejects.toThrow(`store ${dir} is locked`);
    await first.close();
    await second.open(); // the lock is released on close
    await second.close();
  });

  it('creates missing directories, and names the directory when it cannot open', async () => {
    const nested = new LevelStore(join(dir, 'a', 'b', 'db'));
    await nested.open();
    await nested.close();
    const file = join(dir, 'not-a-dir');
    await writeFile(file, 'x');
    await expect(new LevelStore(file).open()).rejects.toThrow(`cannot open store ${file}`);
  });

  it('a clean close writes the memtable out, so the next open replays (and needs) almost nothing', async () => {
    const store = new LevelStore(dir);
    await store.open();
    const log = new FakeLog();
    for (let i = 0; i < 4; i++) {
      const b = log.next(1000, 500);
      await store.commit(b);
      log.apply(b);
    }
    const dedupDir = join(dir, 'dedup');
    await store.lookupLeafHashes(log.hashes.slice(0, 1)); // the index has caught up in memory
    expect(await walBytes(dir)).toBeGreaterThan(2_000_000); // ~2 MB of entries in the log
    await store.close();
    expect(await walBytes(dir)).toBe(0);
    expect(await walBytes(dedupDir)).toBe(0);
    expect(await bytesToOpen([dir, dedupDir])).toBe(OPEN_MARGIN_BYTES);
    const again = new LevelStore(dir);
    await again.open();
    expect(await again.readEntries(0, 4000)).toEqual(log.entries);
    expect(await again.lookupLeafHashes(log.hashes)).toEqual(log.hashes.map((_, i) => i));
    await again.close();
  });

  it('a failed store is not flushed at close: the next open replays its log and reads the truth', async () => {
    const store = new FaultyLevelStore(dir);
    await store.open();
    const log = new FakeLog();
    const b = log.next(100, 500);
    await store.commit(b);
    log.apply(b);
    store.fault = 'landed';
    const landed = log.next(10, 500);
    await expect(store.commit(landed)).rejects.toMatchObject({ code: 'STORAGE' });
    await store.close();
    expect(await walBytes(dir)).toBeGreaterThan(50_000);
    const again = new LevelStore(dir);
    await again.open();
    expect((await again.latestCheckpoint())!.size).toBe(110);
    await again.close();
  });

  it('refuses to open with CORRUPT when entries disagree with the latest checkpoint', async () => {
    const store = new FaultyLevelStore(dir);
    await store.open();
    const log = new FakeLog();
    const first = log.next(3);
    await store.commit(first);
    log.apply(first);
    store.fault = 'drop-checkpoint'; // entries 3..4 land without their checkpoint
    await store.commit(log.next(2));
    await store.close();
    const err: unknown = await new LevelStore(dir).open().catch((e: unknown) => e);
    expect(isLogError(err, 'CORRUPT')).toBe(true);
    expect(String(err)).toContain('size 3 but 5 entries');
  });

  it('stores entries as chunks of bundles and reads any range, entry and bundle across them', async () => {
    const store = new LevelStore(dir);
    await store.open();
    const log = new FakeLog();
    // Batches of 1, 300 (crossing two bundle boundaries), 3 and 250 entries.
    for (const n of [1, 300, 3, 250]) {
      const b = log.next(n, 10 + n);
      await store.commit(b);
      log.apply(b);
    }
    const all = log.entries;
    expect(await store.readEntries(0, all.length)).toEqual(all);
    for (const [a, b] of [[0, 1], [1, 301], [255, 257], [300, 304], [511, 512], [256, 554]] as const) {
      expect(await store.readEntries(a, b)).toEqual(all.slice(a, b));
    }
    for (const i of [0, 1, 255, 256, 300, 301, 303, 304, 511, 512, 553]) {
      expect(await store.readEntry(i)).toEqual(all[i]);
    }
    const bundle = (n: number, width: number): Uint8Array => {
      const parts = all.slice(n * 256, n * 256 + width).map((e) => [Math.floor(e.length / 256), e.length % 256, ...e]);
      return Uint8Array.from(parts.flat());
    };
    for (const [n, w] of [[0, 256], [0, 1], [0, 2], [1, 256], [1, 45], [1, 48], [2, 42], [2, 1]] as const) {
      expect(await store.readBundle(n, w)).toEqual(bundle(n, w));
    }
    expect(await store.readBundle(2, 43)).toBeUndefined(); // beyond the log
    await store.close();
  });

  it('finds every leaf hash at its first index, below and above 2^16 entries (packed index values)', async () => {
    const store = new LevelStore(dir);
    await store.open();
    const log = new FakeLog();
    // 65_530 entries, then a batch across 2^16 (one-by-one values) and one beyond (packed).
    for (const n of [40_000, 25_530, 20, 3000]) {
      const b = log.next(n, 12);
      await store.commit(b);
      log.apply(b);
    }
    const hashes = log.hashes;
    const probe = [0, 65_529, 65_530, 65_535, 65_536, 65_549, 65_550, 68_549];
    expect(await store.lookupLeafHashes(probe.map((i) => hashes[i]!))).toEqual(probe);
    await store.close();
  });

  it('refuses a store of the earlier one-record-per-entry format with CORRUPT', async () => {
    const store = new LevelStore(dir);
    await store.open();
    await store.close();
    const db = new Level<Uint8Array, Uint8Array>(dir, { keyEncoding: 'view', valueEncoding: 'view' });
    await db.put(Uint8Array.from([0x21, 0x65, 0x21, 0, 0, 0, 0, 0, 0, 0, 0]), Uint8Array.of(1));
    await db.close();
    const err: unknown = await new LevelStore(dir).open().catch((e: unknown) => e);
    expect(isLogError(err, 'CORRUPT')).toBe(true);
    expect(String(err)).toContain('format 1');
  });
});
