/**
 * The leaf-hash index of LevelStore (src/storage/dedup-index.ts): kept apart from the log
 * and written after each commit, it must never miss a committed leaf: not while a write is
 * queued, not after writes were lost in a crash, not when it belongs to another log.
 */
import { mkdtemp, rm, cp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LevelStore } from '../../src/storage/level-store.js';
import { DedupIndex } from '../../src/storage/dedup-index.js';
import { isLogError } from '../../src/util/errors.js';
import { FakeLog } from './fake-log.js';

/** A DedupIndex whose writes can be held, dropped (a crash before they reached disk) or failed. */
class ControlledIndex extends DedupIndex {
  mode: 'pass' | 'hold' | 'drop' | 'fail' = 'pass';
  private held: (() => void)[] = [];
  writes = 0;
  release(): void {
    this.mode = 'pass';
    for (const r of this.held.splice(0)) r();
  }
  protected override async write(batch: Parameters<DedupIndex['write']>[0]): Promise<void> {
    this.writes++;
    if (this.mode === 'drop') return batch.close();
    if (this.mode === 'fail') {
      await batch.close();
      throw new Error('injected: disk full');
    }
    if (this.mode === 'hold') await new Promise<void>((r) => this.held.push(r));
    await super.write(batch);
  }
}

class ControlledStore extends LevelStore {
  index!: ControlledIndex;
  constructor(dir: string, private readonly maxPending?: number) {
    super(dir);
  }
  protected override makeDedupIndex(dir: string): DedupIndex {
    this.index = new ControlledIndex(dir, this.maxPending);
    return this.index;
  }
}

describe('LevelStore leaf-hash index', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'candor-dedup-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function grow(store: LevelStore, log: FakeLog, sizes: number[], entryBytes = 40): Promise<void> {
    for (const n of sizes) {
      const b = log.next(n, entryBytes);
      await store.commit(b);
      log.apply(b);
    }
  }
  const all = (log: FakeLog): number[] => log.hashes.map((_, i) => i);

  it('answers leaves whose index write is still queued', async () => {
    const store = new ControlledStore(join(dir, 'db'));
    await store.open();
    const log = new FakeLog();
    await grow(store, log, [10]);
    store.index.mode = 'hold';
    await grow(store, log, [300, 7]);
    expect(await store.lookupLeafHashes(log.hashes)).toEqual(all(log));
    store.index.release();
    await store.index.flush();
    expect(await store.lookupLeafHashes(log.hashes)).toEqual(all(log));
    await store.close();
  });

  it('rebuilds from the tiles what a crash kept from the index, and keeps answering', async () => {
    const store = new ControlledStore(join(dir, 'db'));
    await store.open();
    const log = new FakeLog();
    await grow(store, log, [100, 200]);
    await store.index.flush();
    store.index.mode = 'drop'; // these never reach the disk
    await grow(store, log, [300, 5, 256]);
    await store.close();
    const again = new ControlledStore(join(dir, 'db'));
    await again.open();
    expect(again.index.writes).toBeGreaterThan(0); // the catch-up wrote the missing leaves
    expect(await again.lookupLeafHashes(log.hashes)).toEqual(all(log));
    // And it goes on from there.
    await grow(again, log, [40]);
    expect(await again.lookupLeafHashes(log.hashes.slice(-50))).toEqual(all(log).slice(-50));
    await again.close();
  });

  it('clears and rebuilds an index that belongs to another log', async () => {
    const a = new LevelStore(join(dir, 'a'));
    await a.open();
    const logA = new FakeLog();
    await grow(a, logA, [50]);
    await a.close();
    const b = new LevelStore(join(dir, 'b'));
    await b.open();
    const logB = new FakeLog();
    await grow(b, logB, [70], 41); // other entries
    expect(Buffer.from(logB.hashes[0]!).equals(Buffer.from(logA.hashes[0]!))).toBe(false);
    await b.close();
    // B's directory now holds A's index (a restore gone wrong).
    await rm(join(dir, 'b', 'dedup'), { recursive: true });
    await cp(join(dir, 'a', 'dedup'), join(dir, 'b', 'dedup'), { recursive: true });
    const again = new LevelStore(join(dir, 'b'));
    await again.open();
    expect(await again.lookupLeafHashes(logB.hashes)).toEqual(all(logB));
    expect(await again.lookupLeafHashes(logA.hashes.slice(0, 5))).toEqual([undefined, undefined, undefined, undefined, undefined]);
    await again.close();
  });

  it('makes commits wait for the index when too much is queued', async () => {
    const store = new ControlledStore(join(dir, 'db'), 100);
    await store.open();
    const log = new FakeLog();
    store.index.mode = 'hold';
    await grow(store, log, [60]); // 60 queued: within the bound
    const b = log.next(60);
    let done = false;
    const second = store.commit(b).then(() => (done = true));
    await new Promise((r) => setTimeout(r, 50));
    expect(done).toBe(false); // 120 queued: waits for the index
    store.index.release();
    await second;
    log.apply(b);
    expect(await store.lookupLeafHashes(log.hashes)).toEqual(all(log));
    await store.close();
  });

  it('fails later commits after a failed index write, and a reopen repairs it', async () => {
    const store = new ControlledStore(join(dir, 'db'));
    await store.open();
    const log = new FakeLog();
    await grow(store, log, [30]);
    store.index.mode = 'fail';
    await grow(store, log, [20]); // durable in the log; its index write fails behind it
    await store.index.flush().catch(() => undefined);
    const err = await store.commit(log.next(5)).catch((e: unknown) => e);
    expect(isLogError(err, 'STORAGE')).toBe(true);
    expect(store.failure?.code).toBe('STORAGE');
    await store.close();
    const again = new LevelStore(join(dir, 'db'));
    await again.open();
    expect(await again.lookupLeafHashes(log.hashes)).toEqual(all(log));
    await again.close();
  });

  it('a reopen in place repairs a failed index write, and commits go on', async () => {
    const store = new ControlledStore(join(dir, 'db'));
    await store.open();
    const log = new FakeLog();
    await grow(store, log, [30]);
    store.index.mode = 'fail';
    await grow(store, log, [20]);
    await store.index.flush().catch(() => undefined);
    expect(store.failure?.message).toContain('could not be written');
    await store.reopen();
    expect(store.failure).toBeUndefined();
    expect(await store.lookupLeafHashes(log.hashes)).toEqual(all(log));
    await grow(store, log, [7]);
    expect(await store.lookupLeafHashes(log.hashes)).toEqual(all(log));
    await store.close();
  });
});
