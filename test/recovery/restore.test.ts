/**
 * restoreLog in process, on real LevelDB directories: batching through the store's commit
 * path (intermediate commits write no checkpoint record; only the source's own note is
 * stored), the leaf-hash index and appending after a restore, clean-up when the source
 * fails mid-way, and that a restore cut off before its final commit never opens as a log.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LevelStore } from '../../src/storage/level-store.js';
import { restoreLog } from '../../src/recovery/restore.js';
import { RestoreStore } from '../../src/recovery/restore-store.js';
import { LOCAL_URL, storeFetch } from '../../src/recovery/sources.js';
import { TileBuilder } from '../../src/recovery/tile-builder.js';
import { leafHash } from '../../src/merkle/hash.js';
import { useNodeSha256 } from '../../src/server/node-crypto.js';
import { isLogError } from '../../src/util/errors.js';
import type { FetchFn } from '../../src/client/tile-reader.js';
import { TEST_ORIGIN, TEST_SIGNER_KEY, TEST_VERIFIER_KEY, makeEntry, openTestLog } from '../helpers/test-log.js';

useNodeSha256();

describe('restoreLog', () => {
  let dir: string;
  let source: LevelStore;
  const SIZE = 3000;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'candor-restore-'));
    source = new LevelStore(join(dir, 'source'));
    const { log } = await openTestLog(source, { batchMax: 500 });
    await log.addMany(Array.from({ length: SIZE }, (_, i) => makeEntry(i)));
    await log.drain();
  });
  afterEach(async () => {
    await source.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('commits in batches, stores only the source checkpoint, and the log appends after', async () => {
    const data = join(dir, 'restored');
    const record = await restoreLog({
      source: { url: LOCAL_URL, fetch: storeFetch(source) },
      from: 'the source store',
      verifierKey: TEST_VERIFIER_KEY,
      dataDir: data,
      signerKey: TEST_SIGNER_KEY,
      batchEntries: 700,
    });
    expect(record).toMatchObject({ size: SIZE, signerKey: true });
    const want = (await source.latestCheckpoint())!;
    const store = new LevelStore(join(data, 'db'));
    const { log } = await openTestLog(store);
    try {
      expect(log.checkpoint.note).toBe(want.note);
      // No checkpoint the log never published: none at the restore's batch sizes.
      for (const size of [700, 1400, 2100, 2800]) expect(await store.readCheckpoint(size)).toBeUndefined();
      expect(await store.readEntries(0, SIZE)).toEqual(await source.readEntries(0, SIZE));
      expect(await store.readMeta()).toEqual({ origin: TEST_ORIGIN, verifierKey: TEST_VERIFIER_KEY });
      // The leaf-hash index knows every restored entry: re-adding one is a duplicate.
      const [again] = await log.addMany([makeEntry(1234)]);
      expect(again).toMatchObject({ index: 1234, duplicate: true });
      const [fresh] = await log.addMany([makeEntry(SIZE + 1)]);
      expect(fresh).toMatchObject({ index: SIZE, duplicate: false });
      await log.drain();
      expect(log.size).toBe(SIZE + 1);
    } finally {
      await store.close();
    }
  });

  it('removes everything when the source fails part-way', async () => {
    const inner = storeFetch(source);
    const failing: FetchFn = async (url, init) =>
      url.endsWith('/tile/entries/007') ? new Response('busy', { status: 503 }) : inner(url, init);
    const data = join(dir, 'restored');
    const err = await restoreLog({
      source: { url: LOCAL_URL, fetch: failing },
      from: 'a failing source',
      verifierKey: TEST_VERIFIER_KEY,
      dataDir: data,
      batchEntries: 512,
    }).catch((e: unknown) => e);
    expect(isLogError(err, 'PUSHBACK')).toBe(true);
    expect(existsSync(data)).toBe(false);
  });

  it('a store cut off before the final commit does not open as a log', async () => {
    const path = join(dir, 'cut');
    const store = new RestoreStore(path);
    await store.open();
    const entries = Array.from({ length: 300 }, (_, i) => makeEntry(i));
    const leafHashes = entries.map((e) => leafHash(e));
    const builder = new TileBuilder();
    const tiles = builder.append(leafHashes);
    await store.commitIntermediate({ oldSize: 0, entries, leafHashes, tiles }, builder.root());
    await store.close();
    const reopened = new LevelStore(path);
    const err = await reopened.open().catch((e: unknown) => e);
    expect(isLogError(err, 'CORRUPT')).toBe(true);
    expect((err as Error).message).toContain('300 entries are stored');
  });
});
