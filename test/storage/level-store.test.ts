import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LevelStore } from '../../src/storage/level-store.js';
import type { LevelPut } from '../../src/storage/level-store.js';
import { isLogError } from '../../src/util/errors.js';
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
});
