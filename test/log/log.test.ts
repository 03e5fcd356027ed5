import { describe, expect, it } from 'vitest';
import { openTestLog, makeEntry, TEST_VERIFIER_KEY, TEST_ORIGIN } from '../helpers/test-log.js';
import { referenceRoot } from '../helpers/reference-tree.js';
import { leafHash } from '../../src/merkle/hash.js';
import { verifyConsistency, verifyInclusion } from '../../src/merkle/verify.js';
import { openCheckpoint } from '../../src/checkpoint/checkpoint.js';
import { ed25519Verifier } from '../../src/note/keys.js';
import { MemoryStore } from '../../src/storage/memory-store.js';
import { Log } from '../../src/log/log.js';
import { ed25519Signer } from '../../src/note/keys.js';
import { TEST_SIGNER_KEY } from '../helpers/test-log.js';
import { isLogError } from '../../src/util/errors.js';

const verifier = ed25519Verifier(TEST_VERIFIER_KEY);

describe('Log', () => {
  it('signs an empty checkpoint when created', async () => {
    const { log } = await openTestLog();
    const { checkpoint } = openCheckpoint(log.checkpoint.note, verifier);
    expect(checkpoint).toMatchObject({ origin: TEST_ORIGIN, size: 0 });
    expect(Buffer.from(checkpoint.rootHash).toString('hex')).toBe(
      'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'
    );
  });

  it('assigns consecutive indices and proves each entry in its checkpoint', async () => {
    const { log } = await openTestLog();
    const entries = Array.from({ length: 600 }, (_, i) => makeEntry(i));
    const results = await Promise.all(entries.map((e) => log.add(e)));
    expect(results.map((r) => r.index).sort((a, b) => a - b)).toEqual(entries.map((_, i) => i));
    expect(log.size).toBe(600);
    const leaves = entries.map(leafHash);
    const { checkpoint } = openCheckpoint(log.checkpoint.note, verifier);
    expect(Buffer.from(checkpoint.rootHash).equals(Buffer.from(referenceRoot(leaves)))).toBe(true);
    for (const r of results) {
      const cp = openCheckpoint(r.checkpoint.note, verifier).checkpoint;
      const proof = await log.inclusionProof(r.index, cp.size);
      expect(verifyInclusion(r.leafHash, r.index, cp.size, proof, cp.rootHash)).toBe(true);
      expect(r.duplicate).toBe(false);
    }
  });

  it('returns the existing index for the same bytes, within a batch and across batches', async () => {
    const { log } = await openTestLog(undefined, { batchAgeMs: 20 });
    const a = makeEntry(1);
    const b = makeEntry(2);
    const [r1, r2, r3] = await Promise.all([log.add(a), log.add(b), log.add(a)]);
    expect(r1!.index).toBe(r3!.index);
    expect([r1!.duplicate, r2!.duplicate, r3!.duplicate]).toEqual([false, false, true]);
    const again = await log.add(a);
    expect(again).toMatchObject({ index: r1!.index, duplicate: true });
    expect(log.size).toBe(2);
    // A batch of only duplicates signs nothing new.
    const before = log.checkpoint;
    await log.addMany([a, b]);
    expect(log.checkpoint).toBe(before);
  });

  it('proves consistency between every pair of published sizes', async () => {
    const { log } = await openTestLog();
    const published: { size: number; root: Uint8Array }[] = [];
    for (let i = 0; i < 40; i++) {
      const batch = Array.from({ length: 1 + (i % 7) * 3 }, (_, k) => makeEntry(i * 100 + k));
      const res = await log.addMany(batch);
      published.push({ size: res[0]!.checkpoint.size, root: res[0]!.checkpoint.rootHash });
    }
    for (const a of published) {
      for (const b of published) {
        if (a.size > b.size) continue;
        const proof = await log.consistencyProof(a.size, b.size);
        expect(verifyConsistency(a.size, b.size, proof, a.root, b.root)).toBe(true);
      }
    }
  });

  it('reopens on the same store with the same tree, and keeps appending correctly', async () => {
    const store = new MemoryStore();
    const first = await openTestLog(store);
    const entries = Array.from({ length: 700 }, (_, i) => makeEntry(i, 40));
    await first.log.addMany(entries.slice(0, 513));
    await first.log.drain();
    const second = await Log.open({ store, signer: ed25519Signer(TEST_SIGNER_KEY), origin: TEST_ORIGIN });
    expect(second.size).toBe(513);
    await second.addMany(entries.slice(513));
    expect(Buffer.from(second.checkpoint.rootHash).equals(Buffer.from(referenceRoot(entries.map(leafHash))))).toBe(true);
    // Entries from before the restart are still deduplicated.
    expect(await second.add(entries[5]!)).toMatchObject({ index: 5, duplicate: true });
  });

  it('grows across tile levels exactly (level 1 and level 2 tiles)', async () => {
    const { log } = await openTestLog(undefined, { batchMax: 4096 });
    const n = 65536 + 300;
    const leaves: Uint8Array[] = [];
    for (let start = 0; start < n; start += 4096) {
      const batch = Array.from({ length: Math.min(4096, n - start) }, (_, k) => makeEntry(start + k, 8));
      leaves.push(...batch.map(leafHash));
      await log.addMany(batch);
    }
    expect(log.size).toBe(n);
    expect(Buffer.from(log.checkpoint.rootHash).equals(Buffer.from(referenceRoot(leaves)))).toBe(true);
    const l2 = await log.hashTile(2, 0, 1);
    expect(Buffer.from(l2).equals(Buffer.from(referenceRoot(leaves.slice(0, 65536))))).toBe(true);
    for (const index of [0, 255, 256, 65535, 65536, n - 1]) {
      const proof = await log.inclusionProof(index, n);
      expect(verifyInclusion(leaves[index]!, index, n, proof, log.checkpoint.rootHash)).toBe(true);
    }
  });

  it('refuses empty and oversized entries', async () => {
    const { log } = await openTestLog();
    expect(() => log.add(new Uint8Array(0))).toThrow(expect.objectContaining({ code: 'EMPTY' }));
    expect(() => log.add(new Uint8Array(65536))).toThrow(expect.objectContaining({ code: 'TOO_LARGE' }));
    await expect(log.add(new Uint8Array(65535).fill(1))).resolves.toMatchObject({ index: 0 });
  });

  it('rejects proofs beyond the tree', async () => {
    const { log } = await openTestLog();
    await log.addMany([makeEntry(1), makeEntry(2)]);
    await expect(log.inclusionProof(2, 2)).rejects.toMatchObject({ code: 'MALFORMED' });
    await expect(log.inclusionProof(0, 3)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(log.consistencyProof(0, 2)).rejects.toMatchObject({ code: 'MALFORMED' });
    await expect(log.consistencyProof(2, 1)).rejects.toMatchObject({ code: 'MALFORMED' });
    await expect(log.entry(2)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('refuses to open a store whose tiles do not match its checkpoint', async () => {
    const store = new MemoryStore();
    const { log } = await openTestLog(store);
    await log.addMany([makeEntry(1), makeEntry(2), makeEntry(3)]);
    const cp = log.checkpoint;
    // Forge a commit whose tile disagrees with its checkpoint root.
    await store.commit({
      oldSize: 3,
      entries: [makeEntry(4)],
      leafHashes: [leafHash(makeEntry(4))],
      tiles: [{ level: 0, index: 0, data: new Uint8Array(4 * 32).fill(9) }],
      checkpoint: { ...cp, size: 4 },
    });
    let err: unknown;
    try {
      await Log.open({ store, signer: ed25519Signer(TEST_SIGNER_KEY), origin: TEST_ORIGIN });
    } catch (e) {
      err = e;
    }
    expect(isLogError(err, 'CORRUPT')).toBe(true);
  });

  it('rejects the waiters of a batch whose commit fails, and stays consistent', async () => {
    const store = new MemoryStore();
    const { log } = await openTestLog(store);
    await log.add(makeEntry(0));
    const realCommit = store.commit.bind(store);
    let failNext = true;
    store.commit = async (batch) => {
      if (failNext) {
        failNext = false;
        throw new Error('injected I/O failure');
      }
      return realCommit(batch);
    };
    await expect(log.add(makeEntry(1))).rejects.toThrow('injected I/O failure');
    expect(log.size).toBe(1);
    const r = await log.add(makeEntry(2));
    expect(r.index).toBe(1);
    const leaves = [makeEntry(0), makeEntry(2)].map(leafHash);
    expect(Buffer.from(log.checkpoint.rootHash).equals(Buffer.from(referenceRoot(leaves)))).toBe(true);
  });
});

describe('Log pipelining', () => {
  /** Makes the store's commits wait for `release()` (all waiting ones), which may fail them. */
  function gate(store: MemoryStore): { commits: number[]; release: (fail?: boolean) => void } {
    const real = store.commit.bind(store);
    const commits: number[] = [];
    let waiting: Array<(fail: boolean) => void> = [];
    store.commit = async (batch) => {
      commits.push(batch.oldSize);
      const fail = await new Promise<boolean>((resolve) => waiting.push(resolve));
      if (fail) throw new Error('injected I/O failure');
      return real(batch);
    };
    const release = (fail = false): void => {
      const next = waiting;
      waiting = [];
      for (const w of next) w(fail);
    };
    return { commits, release };
  }

  async function until(cond: () => boolean): Promise<void> {
    for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 2));
    expect(cond()).toBe(true);
  }

  it('prepares the next batch while one commits, commits in order, and finds repeats in flight', async () => {
    const store = new MemoryStore();
    const { log } = await openTestLog(store, { batchMax: 3 });
    const gated = gate(store);
    const first = log.addMany([makeEntry(1), makeEntry(2), makeEntry(3)]);
    await until(() => gated.commits.length === 1);
    // The second batch repeats an entry of the first, which is not committed yet.
    const second = log.addMany([makeEntry(4), makeEntry(2), makeEntry(5)]);
    await new Promise((r) => setTimeout(r, 20));
    expect(log.queueDepth).toBe(0); // the second batch is being integrated already...
    expect(gated.commits).toEqual([0]); // ...and its commit waits behind the first
    gated.release();
    await until(() => gated.commits.length === 2);
    expect(gated.commits).toEqual([0, 3]);
    gated.release();
    const [a, b] = await Promise.all([first, second]);
    expect(a.map((r) => r.index)).toEqual([0, 1, 2]);
    expect(b.map((r) => [r.index, r.duplicate])).toEqual([[3, false], [1, true], [4, false]]);
    const leaves = [1, 2, 3, 4, 5].map((i) => leafHash(makeEntry(i)));
    expect(Buffer.from(log.checkpoint.rootHash).equals(Buffer.from(referenceRoot(leaves)))).toBe(true);
    for (const r of [...a, ...b]) {
      const cp = openCheckpoint(r.checkpoint.note, verifier).checkpoint;
      expect(cp.size).toBeGreaterThan(r.index);
      const proof = await log.inclusionProof(r.index, cp.size);
      expect(verifyInclusion(r.leafHash, r.index, cp.size, proof, cp.rootHash)).toBe(true);
    }
  });

  it('fails the batch prepared behind a failed commit without writing it, then goes on from what is durable', async () => {
    const store = new MemoryStore();
    const { log } = await openTestLog(store, { batchMax: 2 });
    const gated = gate(store);
    const first = log.addMany([makeEntry(1), makeEntry(2)]);
    await until(() => gated.commits.length === 1);
    const second = log.addMany([makeEntry(3), makeEntry(1)]); // a repeat of the failing batch
    await new Promise((r) => setTimeout(r, 20));
    expect(log.queueDepth).toBe(0); // prepared behind the first batch
    gated.release(true);
    await expect(first).rejects.toThrow('injected I/O failure');
    await expect(second).rejects.toThrow('injected I/O failure');
    expect(gated.commits).toEqual([0]); // the second batch never reached the store
    expect(log.size).toBe(0);
    const third = log.addMany([makeEntry(3), makeEntry(1)]);
    await until(() => gated.commits.length === 2);
    gated.release();
    const r = await third;
    expect(r.map((x) => [x.index, x.duplicate])).toEqual([[0, false], [1, false]]);
    const leaves = [3, 1].map((i) => leafHash(makeEntry(i)));
    expect(Buffer.from(log.checkpoint.rootHash).equals(Buffer.from(referenceRoot(leaves)))).toBe(true);
  });

  it('answers inclusion proofs as API JSON and base64 exactly as from the generic prover, cached tiles or not', async () => {
    // A small tile cache, so that some proofs find their tiles cached and others do not.
    const { log } = await openTestLog(undefined, { tileCacheSize: 3 });
    for (let start = 0; start < 70_000; start += 7000) {
      await log.addMany(Array.from({ length: 7000 }, (_, i) => makeEntry(start + i, 8)));
    }
    const sizes = [1, 2, 255, 256, 257, 4096, 65535, 65536, 65537, 69_999, 70_000];
    for (const size of sizes) {
      for (const index of new Set([0, 1, 255, 256, 4095, 65535, 65536, size - 2, size - 1])) {
        if (index < 0 || index >= size) continue;
        const want = (await log.inclusionProof(index, size)).map((h) => Buffer.from(h).toString('base64'));
        expect(await log.inclusionProofBase64(index, size)).toEqual(want);
        const json = new TextDecoder().decode(await log.inclusionProofJson(index, size));
        expect(json).toBe(JSON.stringify({ index, size, hashes: want }));
      }
    }
    await expect(log.inclusionProofJson(5, 5)).rejects.toThrow(/not below/);
    await expect(log.inclusionProofJson(0, 70_001)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});
