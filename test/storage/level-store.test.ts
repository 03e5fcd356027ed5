import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LevelStore } from '../../src/storage/level-store.js';
import type { LevelPut } from '../../src/storage/level-store.js';
import { isLogError } from '../../src/util/errors.js';
import { Level } from 'level';
import { FakeLog } from './fake-log.js';
import { runStoreContract } from './contract.js';

/** A LevelStore whose next batch write can be made to fail, or to drop its last put. */
class FaultyLevelStore extends LevelStore {
  fault: 'lost' | 'landed' | 'drop-checkpoint' | undefined;

  protected override async writeBatch(ops: LevelPut[]): Promise<void> {
    const fault = this.fault;
    this.fault = undefined;
    if (fault === 'lost') throw new Error('injected: write failed, nothing written');
    if (fault === 'drop-checkpoint') return super.writeBatch(ops.slice(0, -1));
    await super.writeBatch(ops);
    if (fault === 'landed') throw new Error('injected: write reported failure after landing');
  }
}

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
