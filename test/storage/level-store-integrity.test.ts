/**
 * LevelStore at open (src/storage/level-store.ts): a store that lost records below its
 * latest checkpoint, or lost its last commits (the commit mark), is refused with a message
 * saying what is missing and what to run; opened for maintenance it opens anyway. A broken
 * leaf-hash index names its directory and says that repair rebuilds it.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LevelStore } from '../../src/storage/level-store.js';
import { COMMIT_MARK_FILE, readCommitMark } from '../../src/storage/commit-mark.js';
import { isLogError } from '../../src/util/errors.js';
import { makeEntry, openTestLog } from '../helpers/test-log.js';
import { deleteChunkOf, deleteTile } from '../helpers/tamper.js';

let data: string;
let dir: string;
beforeEach(async () => {
  data = await mkdtemp(join(tmpdir(), 'candor-open-'));
  dir = join(data, 'db');
  const { log, store } = await openTestLog(new LevelStore(dir));
  for (let k = 0; k < 6; k++) await log.addMany(Array.from({ length: 100 }, (_, i) => makeEntry(k * 100 + i)));
  await log.drain();
  await store.close();
});
afterEach(() => rm(data, { recursive: true, force: true }));

async function openError(store = new LevelStore(dir)): Promise<Error> {
  const err = await store.open().then(
    () => new Error('opened'),
    (e: unknown) => e as Error
  );
  await store.close();
  return err;
}

describe('LevelStore open', () => {
  it('refuses a store with entries missing below its latest checkpoint, naming them', async () => {
    await deleteChunkOf(dir, 250); // the chunk of the commit 200 → 300 that starts at 200
    const err = await openError();
    expect(isLogError(err, 'CORRUPT')).toBe(true);
    expect(err.message).toContain(`store ${dir} is missing 56 entries ([200, 256)) below its latest checkpoint (size 600)`);
    expect(err.message).toContain(`candor fsck --data ${data}`);
    expect(err.message).toContain(`candor repair --data ${data} --from URL`);
    // Opened for maintenance (fsck, repair), it opens.
    const m = new LevelStore(dir, { maintenance: true });
    await m.open();
    expect((await m.latestCheckpoint())?.size).toBe(600);
    await m.close();
  });

  it('refuses a store with a full hash tile missing, naming it', async () => {
    await deleteTile(dir, 0, 1);
    const err = await openError();
    expect(err.message).toContain('is missing 1 hash tiles (0/1) below its latest checkpoint (size 600)');
  });

  it('keeps a commit mark and refuses a store behind it (lost last commits)', async () => {
    const mark = await readCommitMark(dir);
    expect(mark?.size).toBe(600);
    const text = await readFile(join(dir, COMMIT_MARK_FILE), 'latin1');
    expect(text).toHaveLength(96);
    // As if the last commits (600 → 700) had been acknowledged and then lost by LevelDB.
    await writeFile(join(dir, COMMIT_MARK_FILE), text.replace(/^600 /, '700 '), 'latin1');
    const err = await openError();
    expect(isLogError(err, 'CORRUPT')).toBe(true);
    expect(err.message).toContain('lost its last commits (commits up to size 700 were acknowledged, but the latest checkpoint is 600');
    expect(err.message).toContain('entries [600, 700) are gone');
    // A torn mark is no information, not an alarm.
    await writeFile(join(dir, COMMIT_MARK_FILE), '70', 'latin1');
    const store = new LevelStore(dir);
    await store.open();
    await store.close();
    expect((await readCommitMark(dir))?.size).toBe(600); // rewritten at open
  });

  it('names the leaf-hash index directory when it cannot open, and what rebuilds it', async () => {
    await writeFile(join(dir, 'dedup', 'CURRENT'), 'MANIFEST-999999\n');
    const err = await openError();
    expect(err.message).toContain(`cannot open the leaf-hash index ${join(dir, 'dedup')}: `);
    expect(err.message).toContain('candor repair --data DIR` rebuilds it');
  });
});
