/**
 * The witness state rules (specs §6.1): compare-and-swap under a per-origin lock (the race
 * with the stall hook), persistence across reopen (never backwards), the bounded history,
 * and telling a stale replay of an old checkpoint from a conflicting one.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { isLogError } from '../../src/util/errors.js';
import { WitnessStore } from '../../src/witness/witness-store.js';
import { originHash } from '../../src/witness/witness-store.js';
import { LEAVES_8, LOG_ORIGIN, TestTree, addBody, openTestWitness, post, tempDir } from './helpers.js';

type W = Awaited<ReturnType<typeof openTestWitness>>;
const tree = new TestTree().add(...LEAVES_8);

describe('witness state', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  const open: W[] = [];
  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir());
  });
  afterEach(async () => {
    for (const w of open.splice(0)) await w.close();
    await cleanup();
  });
  async function witness(overrides: Parameters<typeof openTestWitness>[1] = {}): Promise<W> {
    const w = await openTestWitness(dir, overrides);
    open.push(w);
    return w;
  }
  const add = (w: W, old: number, size: number, proof = tree.proof(old, size)): Promise<Response> =>
    post(w.app, '/add-checkpoint', addBody(old, proof, tree.checkpoint(size)));

  for (const [first, second] of [
    [8, 5],
    [5, 8],
  ] as const) {
    it(`two racing requests (2→${first} stalled, 2→${second} waiting): no rollback, the loser gets 409`, async () => {
      let stallNext = false;
      let entered!: () => void;
      const inside = new Promise<void>((r) => (entered = r));
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      const w = await witness({
        testingOnlyStall: async () => {
          if (!stallNext) return;
          stallNext = false;
          entered();
          await gate;
        },
      });
      expect((await add(w, 0, 2)).status).toBe(200);
      stallNext = true;
      const a = add(w, 2, first);
      await inside; // A passed every check and holds the origin
      let bDone = false;
      const b = Promise.resolve(add(w, 2, second)).finally(() => (bDone = true));
      await new Promise((r) => setTimeout(r, 20));
      expect(bDone).toBe(false); // B waits for A's compare-and-swap
      expect(w.witness.state(LOG_ORIGIN)?.size).toBe(2);
      release();
      expect((await a).status).toBe(200);
      const lost = await b;
      expect(lost.status).toBe(409);
      expect(await lost.text()).toBe(`${first}\n`);
      expect(w.witness.state(LOG_ORIGIN)?.size).toBe(first);
      // The loser retries from the size it was told; only a forward move succeeds.
      const retry = await add(w, first, Math.max(first, second));
      expect(retry.status).toBe(200);
      expect(w.witness.state(LOG_ORIGIN)?.size).toBe(Math.max(first, second));
    });
  }

  it('the store itself refuses a second concurrent commit, a stale expected size, going back, and a second root', async () => {
    const store = new WitnessStore(join(dir, 'db'));
    await store.open();
    try {
      const s = (size: number, root = tree.root(size)) => ({ size, rootHash: root, note: `n${size}`, updated: 1 });
      const results = await Promise.allSettled([store.commit(LOG_ORIGIN, undefined, s(3)), store.commit(LOG_ORIGIN, undefined, s(5))]);
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected']);
      expect(isLogError((results[1] as PromiseRejectedResult).reason, 'CONFLICT')).toBe(true);
      await expect(store.commit(LOG_ORIGIN, undefined, s(5))).rejects.toMatchObject({ code: 'CONFLICT' });
      await expect(store.commit(LOG_ORIGIN, 3, s(2))).rejects.toMatchObject({ code: 'CONFLICT' });
      await expect(store.commit(LOG_ORIGIN, 3, s(3, tree.root(4)))).rejects.toMatchObject({ code: 'CONFLICT' });
      await store.commit(LOG_ORIGIN, 3, s(5));
      expect(store.state(LOG_ORIGIN)?.size).toBe(5);
    } finally {
      await store.close();
    }
  });

  it('survives reopening: the state, the published note, and never moving backwards', async () => {
    let w = await witness();
    expect((await add(w, 0, 6)).status).toBe(200);
    const note = w.witness.state(LOG_ORIGIN)!.note;
    await w.close();
    open.length = 0;
    w = await witness();
    expect(w.witness.state(LOG_ORIGIN)?.note).toBe(note);
    expect(await (await w.app.request(`/${originHash(LOG_ORIGIN)}/checkpoint`)).text()).toBe(note);
    const restart = await add(w, 0, 3); // a log that lost its state cannot roll the witness back
    expect(restart.status).toBe(409);
    expect(await restart.text()).toBe('6\n');
    expect((await add(w, 6, 3, [])).status).toBe(400);
    expect((await add(w, 6, 8)).status).toBe(200);
    await w.close();
    open.length = 0;
    w = await witness();
    expect(w.witness.state(LOG_ORIGIN)?.size).toBe(8);
  });

  it('keeps alerts and halts across reopening, until cleared', async () => {
    let w = await witness();
    expect((await add(w, 0, 6)).status).toBe(200);
    const fork = new TestTree().grow(6, 'fork');
    expect((await post(w.app, '/add-checkpoint', addBody(6, [], fork.checkpoint(6)))).status).toBe(409);
    await w.close();
    open.length = 0;
    w = await witness();
    expect(w.witness.isHalted(LOG_ORIGIN)).toBe(true);
    expect(w.witness.alerts()).toHaveLength(1);
    expect((await add(w, 6, 8)).status).toBe(403);
    expect(await w.witness.clear(LOG_ORIGIN)).toBe(1);
    await w.close();
    open.length = 0;
    w = await witness();
    expect(w.witness.isHalted(LOG_ORIGIN)).toBe(false);
    expect(w.witness.alerts()[0]!.cleared).not.toBeNull();
    expect((await add(w, 6, 8)).status).toBe(200);
    // The same evidence again does not fire (or halt) twice.
    expect((await post(w.app, '/add-checkpoint', addBody(8, [], fork.checkpoint(6)))).status).toBe(400);
    expect(w.witness.isHalted(LOG_ORIGIN)).toBe(false);
  });

  it('tells a stale replay of an old checkpoint (no alert) from a conflicting one (alert)', async () => {
    const w = await witness();
    for (const [old, size] of [
      [0, 3],
      [3, 6],
      [6, 8],
    ] as const) {
      expect((await add(w, old, size)).status).toBe(200);
    }
    // Stale: sizes 3 and 6 were cosigned with these roots.
    expect((await post(w.app, '/add-checkpoint', addBody(3, [], tree.checkpoint(3)))).status).toBe(409);
    expect((await post(w.app, '/add-checkpoint', addBody(8, [], tree.checkpoint(6)))).status).toBe(400);
    // Never cosigned at 5: nothing to compare with, no alert.
    expect((await post(w.app, '/add-checkpoint', addBody(5, [], tree.checkpoint(5)))).status).toBe(409);
    expect(w.witness.alerts()).toEqual([]);
    // Conflicting: size 3 was cosigned with another root (evidence whatever `old` says).
    const fork = new TestTree().grow(3, 'fork');
    expect((await post(w.app, '/add-checkpoint', addBody(5, [], fork.checkpoint(3)))).status).toBe(400);
    expect(w.witness.alerts()).toHaveLength(1);
    expect(w.witness.isHalted(LOG_ORIGIN)).toBe(true);
    await w.witness.clear(LOG_ORIGIN);
    const res = await post(w.app, '/add-checkpoint', addBody(0, [], fork.checkpoint(3)));
    expect(res.status).toBe(409);
    expect(await res.text()).toBe('8\n');
    expect(w.witness.isHalted(LOG_ORIGIN)).toBe(false); // the same evidence fires once
    const alerts = w.witness.alerts();
    expect(alerts).toHaveLength(1);
    expect(alerts[0]!.kind).toBe('conflicting-root');
    expect(alerts[0]!.evidence[0]).toContain(`${LOG_ORIGIN}\n3\n`);
    expect(alerts[0]!.evidence[1]).toBe(fork.checkpoint(3));
  });

  it('bounds the history per origin', async () => {
    const w = await witness({ historyMax: 3 });
    for (let size = 1; size <= 6; size++) expect((await add(w, size - 1, size)).status).toBe(200);
    const fork = new TestTree().grow(2, 'fork');
    // Size 2 fell out of the history: a conflicting size-2 checkpoint is no longer recognised here.
    await post(w.app, '/add-checkpoint', addBody(0, [], fork.checkpoint(2)));
    expect(w.witness.alerts()).toEqual([]);
    const fork4 = new TestTree().grow(4, 'fork');
    await post(w.app, '/add-checkpoint', addBody(0, [], fork4.checkpoint(4)));
    expect(w.witness.alerts()).toHaveLength(1);
  });
});

describe('witness store group commit', () => {
  const state = (size: number) => ({ size, rootHash: new Uint8Array(32).fill(size), note: `note ${size}\n`, updated: 1 });

  it('commits concurrent updates of many origins, each durable when it resolves', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const store = new WitnessStore(join(dir, 'db'));
      await store.open();
      const origins = Array.from({ length: 40 }, (_, i) => `log${i}.example`);
      // Every origin moves 0 → 1 → 2 → 3, all origins at once: the writes share batches.
      for (let size = 1; size <= 3; size++) {
        await Promise.all(origins.map((o) => store.commit(o, size === 1 ? undefined : size - 1, state(size))));
      }
      await store.close();
      const again = new WitnessStore(join(dir, 'db'));
      await again.open();
      for (const o of origins) {
        expect(again.state(o)?.size).toBe(3);
        expect((await again.history(o, 2))?.note).toBe('note 2\n');
      }
      await again.close();
    } finally {
      await cleanup();
    }
  });

  it('a failed shared batch fails every commit in it and changes nothing in memory', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const store = new WitnessStore(join(dir, 'db'));
      await store.open();
      // The first write goes out at once; the next two queue behind it and share one batch,
      // which fails because the store closes meanwhile.
      const first = store.commit('a.example', undefined, state(1));
      const queued = [store.commit('b.example', undefined, state(1)), store.commit('c.example', undefined, state(1))];
      const closing = store.close();
      const results = await Promise.allSettled([first, ...queued]);
      await closing;
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'rejected']);
      expect(store.state('a.example')?.size).toBe(1);
      expect(store.state('b.example')).toBeUndefined();
      expect(store.state('c.example')).toBeUndefined();
      const again = new WitnessStore(join(dir, 'db'));
      await again.open();
      expect([again.state('a.example')?.size, again.state('b.example'), again.state('c.example')]).toEqual([1, undefined, undefined]);
      await again.close();
    } finally {
      await cleanup();
    }
  });
});
