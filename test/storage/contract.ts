/**
 * The LogStore contract suite (src/storage/store.ts), run by every implementation:
 * test/storage/memory-store.test.ts and test/storage/level-store.test.ts. A new store
 * gets the whole contract by calling runStoreContract with a factory.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isLogError } from '../../src/util/errors.js';
import type { ErrorCode } from '../../src/util/errors.js';
import type { IntegrationBatch, LogStore } from '../../src/storage/store.js';
import { FakeLog, expectStoreMatches, leafHashOf, rng } from './fake-log.js';
import type { RepairableStore } from '../../src/storage/store.js';
import { makeEntry, openTestLog } from '../helpers/test-log.js';

/** What a store factory hands the suite. The store comes back unopened. */
export interface StoreHarness {
  store: LogStore;
  /** A new unopened store on the same data, after `store` was closed. Omit if not durable. */
  reopen: () => Promise<LogStore>;
  /**
   * Makes the next commit's write fail: 'lost' before anything is written, 'landed' after
   * the batch is durable. Omit when the store cannot fail once a batch is validated.
   */
  failNextWrite?: (mode: 'lost' | 'landed') => void;
  cleanup: () => Promise<void>;
}

/** Expects `p` to reject with LogError `code`. */
export async function expectLogError(p: Promise<unknown>, code: ErrorCode): Promise<void> {
  const err = await p.then(
    () => new Error(`expected LogError ${code}, but it resolved`),
    (e: unknown) => e
  );
  if (!isLogError(err, code)) throw err;
}

/** Runs the shared suite against the stores `factory` makes. */
/** What a store under test can do beyond the contract's core (gates optional tests). */
export interface StoreSupports {
  /** The harness can make the next write fail (`failNextWrite`). */
  failureInjection: boolean;
}

export function runStoreContract(
  name: string,
  factory: () => Promise<StoreHarness>,
  supports: StoreSupports = { failureInjection: false }
): void {
  describe(`LogStore contract: ${name}`, () => {
    let h: StoreHarness;
    let store: LogStore;
    let log: FakeLog;

    beforeEach(async () => {
      h = await factory();
      store = h.store;
      log = new FakeLog();
      await store.open();
    });
    afterEach(async () => {
      await store.close().catch(() => undefined);
      await h.cleanup();
    });

    async function commit(batch: IntegrationBatch): Promise<void> {
      await store.commit(batch);
      log.apply(batch);
    }

    async function reopen(): Promise<void> {
      await store.close();
      store = await h.reopen();
      await store.open();
    }

    it('starts empty', async () => {
      expect(await store.readMeta()).toBeUndefined();
      expect(await store.latestCheckpoint()).toBeUndefined();
      expect(await store.readCheckpoint(0)).toBeUndefined();
      expect(await store.readEntry(0)).toBeUndefined();
      expect(await store.readEntries(0, 0)).toEqual([]);
      await expectLogError(store.readEntries(0, 1), 'NOT_FOUND');
      expect(await store.readTile(0, 0)).toBeUndefined();
      expect(await store.lookupLeafHashes([])).toEqual([]);
      expect(await store.lookupLeafHashes([leafHashOf(new Uint8Array(1))])).toEqual([undefined]);
    });

    it('writes and reads the meta record', async () => {
      const meta = { origin: 'example.com/log', verifierKey: 'example.com/log+1234+AQID' };
      await store.writeMeta(meta);
      expect(await store.readMeta()).toEqual(meta);
    });

    it('commits the empty tree; re-signing at a size replaces its checkpoint', async () => {
      await commit(log.next(0));
      expect((await store.latestCheckpoint())?.size).toBe(0);
      await commit(log.next(5));
      const resigned = log.next(0);
      await commit(resigned);
      expect(await store.readCheckpoint(5)).toEqual(resigned.checkpoint);
      await expectStoreMatches(store, log);
    });

    it('reads back entries, tiles, dedup and checkpoints after commits', async () => {
      for (const n of [3, 2, 251, 1, 300]) await commit(log.next(n));
      await expectStoreMatches(store, log);
      expect(await store.readEntry(4)).toEqual(log.entries[4]);
      expect(await store.readCheckpoint(4)).toBeUndefined(); // never published
      expect(await store.readCheckpoint(10_000)).toBeUndefined();
    });

    it('keeps each tile at its latest width: wider partials, then the full tile', async () => {
      await commit(log.next(3));
      expect((await store.readTile(0, 0))?.length).toBe(3 * 32);
      await commit(log.next(2));
      expect(await store.readTile(0, 0)).toEqual(log.tile(0, 0));
      expect((await store.readTile(0, 0))?.length).toBe(5 * 32);
      await commit(log.next(251));
      expect((await store.readTile(0, 0))?.length).toBe(8192);
      expect((await store.readTile(1, 0))?.length).toBe(32);
      expect(await store.readTile(0, 1)).toBeUndefined();
      await commit(log.next(1));
      expect(await store.readTile(0, 0)).toEqual(log.tile(0, 0));
      expect((await store.readTile(0, 1))?.length).toBe(32);
    });

    it('looks up leaf hashes in order, hits and misses; first index within a batch', async () => {
      await commit(log.next(4));
      const h = log.hashes;
      const miss = leafHashOf(new Uint8Array([1, 2, 3]));
      expect(await store.lookupLeafHashes([miss, h[3]!, h[0]!, miss, h[3]!])).toEqual([
        undefined, 3, 0, undefined, 3,
      ]);
      const same = new Uint8Array([9, 9, 9]);
      await commit(log.batchOf([new Uint8Array([7]), same, same.slice()]));
      expect(await store.lookupLeafHashes([leafHashOf(same)])).toEqual([5]);
      expect(await store.readEntries(5, 7)).toEqual([same, same]);
    });

    it('rejects a stale or future oldSize with CONFLICT and writes nothing', async () => {
      await commit(log.next(5));
      const snapshot = new FakeLog();
      const stale = snapshot.next(3, 48); // oldSize 0: would overwrite entries 0..2
      await expectLogError(store.commit(stale), 'CONFLICT');
      const ahead = log.next(2);
      const future = { ...ahead, oldSize: 6, checkpoint: { ...ahead.checkpoint, size: 8 } };
      await expectLogError(store.commit(future), 'CONFLICT');
      expect(await store.lookupLeafHashes(stale.leafHashes)).toEqual(
        [undefined, undefined, undefined]
      );
      expect(await store.readCheckpoint(3)).toBeUndefined();
      await expectStoreMatches(store, log);
      await commit(log.next(1)); // and the right oldSize still works
      await expectStoreMatches(store, log);
    });

    it('rejects a malformed batch with TypeError, writing nothing, fault last', async () => {
      await commit(log.next(3));
      const good = (): IntegrationBatch => log.next(4);
      type Mangle = (b: IntegrationBatch) => IntegrationBatch;
      const addTile = (level: number, bytes: number): Mangle => (b) => ({
        ...b,
        tiles: [...b.tiles, { level, index: 0, data: new Uint8Array(bytes) }],
      });
      const bad: [string, Mangle][] = [
        ['leaf hashes missing', (b) => ({ ...b, leafHashes: b.leafHashes.slice(1) })],
        [
          'short leaf hash',
          (b) => ({ ...b, leafHashes: [...b.leafHashes.slice(0, 3), new Uint8Array(31)] }),
        ],
        ['empty tile', addTile(1, 0)],
        ['tile of 33 bytes', addTile(1, 33)],
        ['tile over 8192 bytes', addTile(1, 8224)],
        ['tile level 64', addTile(64, 32)],
        ['tile twice', (b) => ({ ...b, tiles: [...b.tiles, ...b.tiles] })],
        ['checkpoint size', (b) => ({ ...b, checkpoint: { ...b.checkpoint, size: 8 } })],
        [
          'root hash length',
          (b) => ({ ...b, checkpoint: { ...b.checkpoint, rootHash: new Uint8Array(31) } }),
        ],
        ['oldSize not an integer', (b) => ({ ...b, oldSize: 3.5 })],
      ];
      for (const [what, mangle] of bad) {
        await expect(store.commit(mangle(good())), what).rejects.toThrow(TypeError);
      }
      await expectStoreMatches(store, log);
    });

    it('serializes racing commits: one wins, the other gets CONFLICT', async () => {
      await commit(log.next(2));
      const a = log.next(3);
      const b = log.next(4);
      const results = await Promise.allSettled([store.commit(a), store.commit(b)]);
      expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
      const lost = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
      expect(isLogError(lost.reason, 'CONFLICT')).toBe(true);
      log.apply(results[0]!.status === 'fulfilled' ? a : b);
      await expectStoreMatches(store, log);
    });

    it('reads range edges: empty, middle, to the end; NOT_FOUND past the end', async () => {
      await commit(log.next(10));
      expect(await store.readEntries(10, 10)).toEqual([]);
      expect(await store.readEntries(3, 3)).toEqual([]);
      expect(await store.readEntries(2, 5)).toEqual(log.entries.slice(2, 5));
      expect(await store.readEntries(9, 10)).toEqual(log.entries.slice(9));
      await expectLogError(store.readEntries(0, 11), 'NOT_FOUND');
      await expectLogError(store.readEntries(10, 11), 'NOT_FOUND');
      await expectLogError(store.readEntries(12, 20), 'NOT_FOUND');
      await expect(store.readEntries(5, 4)).rejects.toThrow(TypeError);
      await expect(store.readEntries(-1, 4)).rejects.toThrow(TypeError);
    });

    it('reads entry bundles, whole and partial, across commits; undefined past the log', async () => {
      for (const n of [1, 300, 3, 250]) await commit(log.next(n, 10 + n));
      const bundle = (n: number, width: number): Uint8Array =>
        Uint8Array.from(log.entries.slice(n * 256, n * 256 + width).flatMap((e) => [Math.floor(e.length / 256), e.length % 256, ...e]));
      for (const [n, w] of [[0, 256], [0, 1], [1, 256], [1, 45], [1, 48], [2, 42], [2, 1]] as const) {
        expect(await store.readBundle(n, w)).toEqual(bundle(n, w));
      }
      expect(await store.readBundle(2, 43)).toBeUndefined();
      expect(await store.readBundle(9, 1)).toBeUndefined();
    });

    it('does not let callers mutate stored bytes through passed or returned arrays', async () => {
      const batch = log.next(300);
      await commit(batch); // log.apply copied the batch
      batch.entries[0]!.fill(0);
      batch.leafHashes[1]!.fill(0);
      batch.tiles[0]!.data.fill(0);
      batch.checkpoint.rootHash.fill(0);
      (await store.readEntries(0, 2))[0]!.fill(0);
      (await store.readEntry(1))!.fill(0);
      (await store.readTile(0, 0))!.fill(0);
      (await store.latestCheckpoint())!.rootHash.fill(0);
      (await store.readCheckpoint(300))!.rootHash.fill(0);
      await expectStoreMatches(store, log);
    });

    it('stays consistent over 50 commits of random sizes', async () => {
      const random = rng(0xc4d0);
      for (let i = 0; i < 50; i++) {
        const n = random() < 0.3 ? Math.floor(random() * 4) : Math.floor(random() * 700);
        const batch = log.next(n);
        await commit(batch);
        expect(await store.latestCheckpoint()).toEqual(batch.checkpoint);
        const indices = batch.leafHashes.map((_, j) => batch.oldSize + j);
        expect(await store.lookupLeafHashes(batch.leafHashes)).toEqual(indices);
        if (i % 10 === 9) await expectStoreMatches(store, log);
      }
    });

    it('rejects every call with CLOSED after close; a racing read ends either way', async () => {
      await commit(log.next(300));
      const racing = store.readEntries(0, 300);
      await store.close();
      await racing.then(
        (entries) => expect(entries).toEqual(log.entries),
        (err: unknown) => expect(isLogError(err, 'CLOSED')).toBe(true)
      );
      const calls: (() => Promise<unknown>)[] = [
        () => store.readMeta(),
        () => store.writeMeta({ origin: 'o', verifierKey: 'k' }),
        () => store.latestCheckpoint(),
        () => store.readCheckpoint(300),
        () => store.commit(log.next(1)),
        () => store.readEntries(0, 1),
        () => store.readEntry(0),
        () => store.readTile(0, 0),
        () => store.lookupLeafHashes([log.hashes[0]!]),
      ];
      for (const call of calls) await expectLogError(call(), 'CLOSED');
    });

    it('keeps everything across close and reopen, and goes on committing', async () => {
      await store.writeMeta({ origin: 'example.com/log', verifierKey: 'vkey' });
      for (const n of [0, 3, 300, 0, 1]) await commit(log.next(n));
      await reopen();
      expect(await store.readMeta()).toEqual({ origin: 'example.com/log', verifierKey: 'vkey' });
      await expectStoreMatches(store, log);
      await expectLogError(store.commit(new FakeLog().next(1)), 'CONFLICT');
      await commit(log.next(260));
      await reopen();
      await expectStoreMatches(store, log);
    });

    for (const mode of supports.failureInjection ? (['lost', 'landed'] as const) : []) {
      it(`after a failed write (${mode}), commits stop until a reopen`, async () => {
        await commit(log.next(5));
        const failing = log.next(7);
        h.failNextWrite!(mode);
        await expect(store.commit(failing)).rejects.toThrow();
        // Reads still serve the last committed state (a tile may already be wider: allowed).
        expect(await store.latestCheckpoint()).toEqual(log.latest);
        expect(await store.readEntries(0, 5)).toEqual(log.entries);
        expect(await store.readEntry(5)).toBeUndefined();
        const none = failing.leafHashes.map(() => undefined);
        expect(await store.lookupLeafHashes(failing.leafHashes)).toEqual(none);
        await expectLogError(store.commit(failing), 'STORAGE');
        await reopen();
        if (mode === 'landed') log.apply(failing);
        await expectStoreMatches(store, log);
        await commit(log.next(2));
        await expectStoreMatches(store, log);
      });
    }

    it('repairs only with the tree\'s own bytes (RepairableStore), all or nothing', async () => {
      // A real tree (the Log's tiles and checkpoints): commits of 300 and 300 entries, so a
      // checkpoint falls inside bundle 1 and bundle 2 is partial.
      const { log: real } = await openTestLog(store);
      await real.addMany(Array.from({ length: 300 }, (_, i) => makeEntry(i)));
      await real.addMany(Array.from({ length: 300 }, (_, i) => makeEntry(300 + i)));
      await real.drain();
      const repairable = store as Partial<RepairableStore>;
      expect(typeof repairable.repair).toBe('function');
      const fix = repairable.repair!.bind(store);
      const bundle1 = await store.readEntries(256, 512);
      const tile0 = (await store.readTile(0, 0))!;
      const tile2 = (await store.readTile(0, 2))!;
      const bad = bundle1.map((e) => e.slice());
      bad[44]![0]! ^= 1;
      await expectLogError(fix({ tiles: [], bundles: [{ index: 1, entries: bad }] }), 'PROOF_FAILED');
      await expectLogError(fix({ tiles: [], bundles: [{ index: 1, entries: bundle1.slice(1) }] }), 'MALFORMED');
      const badTile = tile0.slice();
      badTile[40]! ^= 1;
      // A wrong tile is refused even with the right entries of another bundle beside it.
      await expectLogError(
        fix({ tiles: [{ level: 0, index: 0, data: badTile }], bundles: [{ index: 1, entries: bundle1 }] }),
        'PROOF_FAILED'
      );
      await expectLogError(fix({ tiles: [{ level: 0, index: 2, data: tile2.subarray(32) }], bundles: [] }), 'MALFORMED');
      await expectLogError(fix({ tiles: [{ level: 0, index: 3, data: tile2 }], bundles: [] }), 'MALFORMED');
      expect(await store.readEntry(300)).toEqual(makeEntry(300)); // nothing was written
      expect(await store.readTile(0, 0)).toEqual(tile0);
      // The tree's own bytes are written, and the store reads (and reopens) as before.
      const wholeBundle = await store.readBundle(1, 256);
      await fix({
        tiles: [
          { level: 0, index: 0, data: tile0 },
          { level: 0, index: 2, data: tile2 },
        ],
        bundles: [
          { index: 1, entries: bundle1 },
          { index: 2, entries: await store.readEntries(512, 600) },
        ],
      });
      expect(await store.readBundle(1, 256)).toEqual(wholeBundle);
      expect(await store.readEntries(250, 600)).toEqual(Array.from({ length: 350 }, (_, i) => makeEntry(250 + i)));
      await reopen();
      expect((await store.latestCheckpoint())?.size).toBe(600);
      expect(await store.readEntry(300)).toEqual(makeEntry(300));
    });
  });
}
