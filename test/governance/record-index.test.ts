/**
 * The record index on its own: what it indexes (and skips), who it attributes records to,
 * catching up after a crash between the log's commit and the index's write, surviving a
 * restart, rebuilding from scratch to the same keys, and refusing an index of another log.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeEnvelope, signEnvelope } from '../../src/governance/dsse.js';
import { INTOTO_PAYLOAD_TYPE } from '../../src/governance/intoto.js';
import { parseSubmitters } from '../../src/governance/submitters.js';
import { LevelKv, MemoryKv, type IndexKv, type KvOp } from '../../src/search/kv.js';
import { RecordIndex } from '../../src/search/record-index.js';
import type { SearchQuery } from '../../src/search/query.js';
import { LevelStore } from '../../src/storage/level-store.js';
import { MemoryStore } from '../../src/storage/memory-store.js';
import { utf8 } from '../../src/util/bytes.js';
import { makeEntry, openTestLog } from '../helpers/test-log.js';
import { SHA_A, SHA_B } from './helpers.js';
import { RKEYS, T0, approval, deployment, recordsAllowlist, signed } from './records-fixture.js';

const list = parseSubmitters(utf8(recordsAllowlist()));
const q = (extra: Partial<SearchQuery> = {}): SearchQuery => ({ limit: 1000, order: 'asc', ...extra });

async function dump(kv: IndexKv): Promise<[string, string][]> {
  const out: [string, string][] = [];
  for await (const kvp of kv.entries({})) out.push(kvp);
  return out;
}

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

describe('RecordIndex', () => {
  test('indexes records, skips other entries, attributes signers with the allowlist', async () => {
    const clock = { now: T0 };
    const { log, store } = await openTestLog(new MemoryStore(), { now: () => clock.now });
    const index = await RecordIndex.open({ kv: new MemoryKv(), store, size: () => log.size, submitters: () => list });
    const d0 = deployment('fraud', 'prod', SHA_A);
    const e0 = signed(d0, RKEYS.alice);
    const slsa = encodeEnvelope(
      signEnvelope(
        INTOTO_PAYLOAD_TYPE,
        utf8(JSON.stringify({ _type: 'https://in-toto.io/Statement/v1', subject: [{ digest: { sha256: SHA_B } }], predicateType: 'https://slsa.dev/provenance/v1' })),
        [RKEYS.ci.signer()]
      )
    );
    // Through /v1/entries, nobody checked these: a forged approval by an unknown key.
    const forged = approval(d0, e0, 0, RKEYS.mallory);
    for (const e of [makeEntry(1), e0, utf8('{"model":"fraud"}'), slsa, forged]) {
      clock.now += 1000;
      await log.add(e);
    }
    await index.catchUp();
    expect(index.indexedSize).toBe(5);
    expect(index.recordsIndexed).toBe(3);
    const page = await index.search(q());
    expect(page.results.map((r) => [r.index, r.changeType, r.signer?.name ?? null])).toEqual([
      [1, 'deployment', 'alice'],
      [3, null, 'release-ci'],
      [4, 'approval', null],
    ]);
    expect(page.results[0]).toMatchObject({ time: new Date(T0 + 2000).toISOString(), approved: false });
    expect(page.results[0]!.approvals![0]).toMatchObject({ index: 4, counted: false, why: expect.stringMatching(/no key/) });
    expect(page.results[2]!.unattributed).toMatch(/^UNKNOWN_KEY/);
    expect((await index.search(q({ subject: `sha256:${SHA_B}` }))).results.map((r) => r.predicateType)).toEqual([
      'https://slsa.dev/provenance/v1',
    ]);
    await log.drain();
  });

  test('polls the log for records logged through /v1/entries', async () => {
    const { log, store } = await openTestLog();
    const index = await RecordIndex.open({ kv: new MemoryKv(), store, size: () => log.size, submitters: () => list });
    index.startPolling(5);
    await log.add(signed(deployment('m', 'prod', SHA_A), RKEYS.alice));
    for (let i = 0; i < 200 && index.indexedSize < 1; i++) await new Promise((r) => setTimeout(r, 5));
    expect((await index.search(q({ model: 'm' }))).results).toHaveLength(1);
    await log.drain();
    await index.close();
  });

  test('an entry is dated by the first checkpoint that includes it', async () => {
    const clock = { now: T0 };
    const { log, store } = await openTestLog(new MemoryStore(), { now: () => clock.now, batchAgeMs: 20 });
    const index = await RecordIndex.open({ kv: new MemoryKv(), store, size: () => log.size, submitters: () => list });
    await log.add(makeEntry(0));
    clock.now = T0 + 5000;
    // Three in one batch, signed at T0+5s.
    await Promise.all([1, 2, 3].map((i) => log.add(signed(deployment('m', 'prod', SHA_A, { reason: `r${i}` }), RKEYS.alice))));
    clock.now = T0 + 9000;
    await log.add(signed(deployment('m', 'prod', SHA_B), RKEYS.alice));
    await index.catchUp();
    const times = (await index.search(q())).results.map((r) => r.time);
    expect(times).toEqual([...Array(3).fill(new Date(T0 + 5000).toISOString()), new Date(T0 + 9000).toISOString()]);
    await log.drain();
  });

  test('catches up after a crash between the log commit and the index write, and survives restarts', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'candor-index-'));
    dirs.push(dir);
    const open = async (): Promise<{ log: Awaited<ReturnType<typeof openTestLog>>['log']; store: LevelStore; kv: LevelKv; index: RecordIndex }> => {
      const { log, store } = await openTestLog(new LevelStore(join(dir, 'db')));
      const kv = await LevelKv.open(join(dir, 'index'));
      const index = await RecordIndex.open({ kv, store, size: () => log.size, submitters: () => list });
      return { log, store: store as LevelStore, kv, index };
    };
    let s = await open();
    for (let i = 0; i < 5; i++) await s.log.add(signed(deployment('m', 'prod', SHA_A, { reason: `first ${i}` }), RKEYS.alice));
    await s.index.catchUp();
    expect(s.index.indexedSize).toBe(5);
    // Logged, never indexed: the process "dies" (the index is not closed, nothing caught up).
    for (let i = 0; i < 7; i++) await s.log.add(signed(deployment('m', 'prod', SHA_B, { reason: `lost ${i}` }), RKEYS.alice));
    await s.log.drain();
    await s.kv.close();
    await s.store.close();

    s = await open();
    expect(s.index.indexedSize).toBe(5); // the marker survived, with its keys
    expect((await s.index.search(q())).results).toHaveLength(5);
    await s.index.catchUp();
    expect(s.index.indexedSize).toBe(12);
    expect(s.index.recordsIndexed).toBe(7); // only the missing ones
    expect((await s.index.search(q({ subject: `sha256:${SHA_B}` }))).results).toHaveLength(7);
    await s.log.drain();
    await s.index.close();
    await s.store.close();

    s = await open();
    expect(s.index.indexedSize).toBe(12);
    await s.index.catchUp();
    expect(s.index.recordsIndexed).toBe(0);
    await s.log.drain();
    await s.index.close();
    await s.store.close();
  });

  test('a rebuild from scratch writes exactly the keys the incremental index wrote', async () => {
    const clock = { now: T0 };
    const { log, store } = await openTestLog(new MemoryStore(), { now: () => clock.now });
    const kv = new MemoryKv();
    const index = await RecordIndex.open({ kv, store, size: () => log.size, submitters: () => list, chunk: 3 });
    for (let i = 0; i < 20; i++) {
      clock.now += 777;
      const p = deployment(i % 2 === 0 ? 'a' : 'b', i % 3 === 0 ? 'prod' : 'staging', i % 4 === 0 ? SHA_A : SHA_B, { reason: `r${i}` });
      const e = signed(p, i % 5 === 0 ? RKEYS.dave : RKEYS.alice);
      const { index: at } = await log.add(e);
      if (i % 2 === 0) await log.add(approval(p, e, at, RKEYS.bob));
      if (i % 3 === 0) await log.add(makeEntry(i));
      if (i % 4 === 0) await index.catchUp();
    }
    await index.catchUp();
    const incremental = await dump(kv);
    expect(incremental.length).toBeGreaterThan(200);
    const before = await index.search(q());
    await index.rebuild();
    expect(await dump(kv)).toEqual(incremental);
    expect(await index.search(q())).toEqual(before);
    await log.drain();
  });

  test('writes the marker and the keys in one batch: a failed write leaves neither', async () => {
    const { log, store } = await openTestLog();
    const kv = new MemoryKv();
    let fail = false;
    const flaky: IndexKv = Object.assign(Object.create(kv) as IndexKv, {
      batch: async (ops: Parameters<IndexKv['batch']>[0]) => {
        if (fail) throw new Error('disk full');
        return kv.batch(ops);
      },
    });
    const index = await RecordIndex.open({ kv: flaky, store, size: () => log.size, submitters: () => list });
    await log.add(signed(deployment('m', 'prod', SHA_A), RKEYS.alice));
    fail = true;
    await expect(index.catchUp()).rejects.toThrow(/disk full/);
    expect(index.indexedSize).toBe(0);
    expect((await dump(kv)).map(([k]) => k)).toEqual(['~format']);
    fail = false;
    await index.catchUp();
    expect(index.indexedSize).toBe(1);
    await log.drain();
  });

  test('an index of another log (or ahead of it) is cleared and rebuilt', async () => {
    const kv = new MemoryKv();
    const a = await openTestLog();
    const ia = await RecordIndex.open({ kv, store: a.store, size: () => a.log.size, submitters: () => list });
    await a.log.add(signed(deployment('m', 'prod', SHA_A), RKEYS.alice));
    await ia.catchUp();
    const b = await openTestLog();
    await b.log.add(signed(deployment('m', 'prod', SHA_B), RKEYS.alice));
    const warnings: string[] = [];
    const ib = await RecordIndex.open({ kv, store: b.store, size: () => b.log.size, submitters: () => list, warn: (l) => warnings.push(l) });
    expect(warnings.join()).toMatch(/does not match/);
    expect(ib.indexedSize).toBe(0);
    await ib.catchUp();
    expect((await ib.search(q())).results.map((r) => r.modelDigest)).toEqual([{ sha256: SHA_B }]);
    const empty = await openTestLog();
    const ic = await RecordIndex.open({ kv, store: empty.store, size: () => empty.log.size, submitters: () => list });
    expect(ic.indexedSize).toBe(0);
    for (const l of [a.log, b.log, empty.log]) await l.drain();
  });

  test('an index of format 2 (no training data) rebuilds itself: trainedOn then answers', async () => {
    const kv = new MemoryKv();
    const { log, store } = await openTestLog();
    const open = (warn?: (l: string) => void): Promise<RecordIndex> =>
      RecordIndex.open({ kv, store, size: () => log.size, submitters: () => list, ...(warn === undefined ? {} : { warn }) });
    const trained = { trainingData: [{ uri: 's3://d/1', digest: { sha256: SHA_B } }] };
    await log.add(signed({ ...deployment('m', 'prod', SHA_A, trained), changeType: 'model-update' }, RKEYS.alice));
    const first = await open();
    await first.catchUp();
    expect((await first.search(q({ trainedOn: `sha256:${SHA_B}` }))).results.map((r) => r.index)).toEqual([0]);
    // What a format-2 index held: no `i` keys, summaries without trainingData, marker at 1.
    const old: KvOp[] = [{ type: 'put', key: '~format', value: '2' }];
    for (const [k, v] of await dump(kv)) {
      if (k.startsWith('i\x00')) old.push({ type: 'del', key: k });
      if (k.startsWith('r\x00')) {
        const { trainingData: _t, trainingDataCount: _n, ...rest } = JSON.parse(v) as Record<string, unknown>;
        old.push({ type: 'put', key: k, value: JSON.stringify(rest) });
      }
    }
    await kv.batch(old);
    expect((await dump(kv)).some(([k]) => k.startsWith('i\x00'))).toBe(false);
    const warnings: string[] = [];
    const reopened = await open((l) => warnings.push(l));
    expect(warnings.join()).toMatch(/older format\): rebuilding it/);
    expect(reopened.indexedSize).toBe(0);
    await reopened.catchUp();
    const found = await reopened.search(q({ trainedOn: `sha256:${SHA_B}` }));
    expect(found.results.map((r) => [r.index, r.trainingData])).toEqual([[0, trained.trainingData]]);
    await log.drain();
  });
});
