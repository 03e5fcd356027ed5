/**
 * fsck and repair as libraries (src/log/fsck.ts, src/log/repair.ts) on real LevelDB data
 * directories damaged through LevelDB: each kind of damage is found and named, and what
 * is derivable (tiles from intact entries, the leaf-hash index) is rebuilt without a copy.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Level } from 'level';
import { fsck } from '../../src/log/fsck.js';
import { repair } from '../../src/log/repair.js';
import { LevelStore } from '../../src/storage/level-store.js';
import { checkpointKey, rootKey, SUBLEVEL } from '../../src/storage/keys.js';
import { makeEntry, openTestLog, TEST_ORIGIN, TEST_VERIFIER_KEY } from '../helpers/test-log.js';
import { deleteTile, flipEntryByte, flipTileByte } from '../helpers/tamper.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

/** A data directory with a log of 700 entries in 7 commits. */
async function dataDir(): Promise<string> {
  const data = await mkdtemp(join(tmpdir(), 'candor-fsck-'));
  dirs.push(data);
  const store = new LevelStore(join(data, 'db'));
  const { log } = await openTestLog(store);
  await store.writeMeta({ origin: TEST_ORIGIN, verifierKey: TEST_VERIFIER_KEY });
  for (let k = 0; k < 7; k++) await log.addMany(Array.from({ length: 100 }, (_, i) => makeEntry(k * 100 + i)));
  await log.drain();
  await store.close();
  return data;
}

describe('fsck', () => {
  it('finds a clean log clean, quick and full', async () => {
    const data = await dataDir();
    for (const quick of [true, false]) {
      const r = await fsck(data, { quick });
      expect(r.findings).toEqual([]);
      expect(r.size).toBe(700);
    }
    const full = await fsck(data);
    expect(full.entriesChecked).toBe(700);
    expect(full.checkpointsChecked).toBe(8); // 0, 100, …, 700
  });

  it('names a damaged entry; the stored tiles say it is the entry', async () => {
    const data = await dataDir();
    await flipEntryByte(data + '/db', 450);
    const r = await fsck(data);
    expect(r.findings[0]).toMatchObject({ severity: 'corrupt', where: 'entry 450' });
    expect(r.damage.entries).toEqual([450]);
    expect(r.damage.tiles).toEqual([]);
    expect(r.damage.entriesAuthentic).toBe(false);
    expect((await fsck(data, { quick: true })).findings).toEqual([]); // quick reads no entry
  });

  it('names a damaged tile, and repair rebuilds it from the entries', async () => {
    const data = await dataDir();
    await flipTileByte(data + '/db', 0, 1, 9);
    const r = await fsck(data);
    expect(r.findings.map((f) => f.where)).toEqual(['hash tile 0/1']);
    expect(r.damage.entriesAuthentic).toBe(true);
    const fixed = await repair(data);
    expect(fixed.tilesRebuilt).toBe(1);
    expect(fixed.after.findings).toEqual([]);
  });

  it('rebuilds lost tiles (a hole) from the entries', async () => {
    const data = await dataDir();
    await deleteTile(data + '/db', 0, 0);
    const r = await fsck(data);
    expect(r.findings[0]).toMatchObject({ where: 'holes', message: expect.stringContaining('1 hash tiles (0/0)') });
    const fixed = await repair(data);
    expect(fixed.after.findings).toEqual([]);
    const store = new LevelStore(join(data, 'db'));
    await store.open(); // no longer refused
    await store.close();
  });

  it('finds a checkpoint whose signature does not verify', async () => {
    const data = await dataDir();
    const db = new Level<Uint8Array, Uint8Array>(join(data, 'db'), { keyEncoding: 'view', valueEncoding: 'view' });
    await db.open();
    const key = rootKey(SUBLEVEL.checkpoints, checkpointKey(300));
    const value = Uint8Array.from((await db.get(key))!);
    value[value.length - 20]! ^= 1; // inside the signature line of the note
    await db.put(key, value);
    await db.close();
    const r = await fsck(data);
    expect(r.findings).toHaveLength(1);
    expect(r.findings[0]).toMatchObject({ severity: 'corrupt', where: 'checkpoint 300' });
  });

  it('reports a broken leaf-hash index as derived, and repair rebuilds it', async () => {
    const data = await dataDir();
    await writeFile(join(data, 'db', 'dedup', 'CURRENT'), 'MANIFEST-999999\n');
    const r = await fsck(data);
    expect(r.findings).toHaveLength(1);
    expect(r.findings[0]).toMatchObject({ severity: 'derived', where: 'dedup index' });
    const fixed = await repair(data);
    expect(fixed.dedupRebuilt).toBe(true);
    expect(fixed.after.findings).toEqual([]);
  });
});
