/**
 * Failed writes that heal in process (src/log/recovery.ts), on a real LevelDB directory
 * with injected faults: the failing submission gets 503 STORAGE, later ones too (with
 * Retry-After) while /healthz is unhealthy and reads go on; the store reopens by itself,
 * the log re-syncs with what is durable, and writes are taken again, with every
 * acknowledged entry kept and the log consistent with each checkpoint published before.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Hono } from 'hono';
import { createApp } from '../../src/server/app.js';
import { Log } from '../../src/log/log.js';
import { LevelStore } from '../../src/storage/level-store.js';
import { ed25519Signer, ed25519Verifier } from '../../src/note/keys.js';
import { openCheckpoint } from '../../src/checkpoint/checkpoint.js';
import { verifyConsistency } from '../../src/merkle/verify.js';
import { FaultyLevelStore } from '../helpers/faulty-level-store.js';
import { makeEntry, TEST_ORIGIN, TEST_SIGNER_KEY, TEST_VERIFIER_KEY } from '../helpers/test-log.js';
import { checkServedLog } from '../helpers/check-log.js';

interface Harness {
  store: FaultyLevelStore;
  log: Log;
  app: Hono;
  warnings: string[];
}

let dir: string;
let open: Harness[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'candor-recovery-'));
});
afterEach(async () => {
  for (const h of open) {
    await h.log.drain();
    await h.store.close();
  }
  open = [];
  await rm(dir, { recursive: true, force: true });
});

async function harness(): Promise<Harness> {
  const store = new FaultyLevelStore(join(dir, 'db'));
  await store.open();
  const warnings: string[] = [];
  const log = await Log.open({
    store,
    signer: ed25519Signer(TEST_SIGNER_KEY),
    origin: TEST_ORIGIN,
    batchAgeMs: 1,
    leafFilterBytes: 0,
    warn: (line) => warnings.push(line),
  });
  const app = createApp({ log, verifierKey: TEST_VERIFIER_KEY });
  const h = { store, log, app, warnings };
  open.push(h);
  return h;
}

async function post(app: Hono, entry: Uint8Array<ArrayBuffer>): Promise<Response> {
  return app.request('/v1/entries', { method: 'POST', body: entry });
}

async function errorOf(res: Response): Promise<{ code: string; message: string }> {
  return ((await res.json()) as { error: { code: string; message: string } }).error;
}

/** Waits (bounded) until the log takes writes again. */
async function healed(log: Log, withinMs = 10_000): Promise<void> {
  const end = Date.now() + withinMs;
  while (log.storageFailure !== undefined) {
    if (Date.now() > end) throw new Error(`not healed within ${withinMs} ms: ${log.storageFailure}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The consistency proof from an earlier checkpoint to the current one verifies. */
async function expectExtends(log: Log, earlier: string): Promise<void> {
  const verifier = ed25519Verifier(TEST_VERIFIER_KEY);
  const old = openCheckpoint(earlier, verifier).checkpoint;
  const now = openCheckpoint(log.checkpoint.note, verifier).checkpoint;
  const proof = await log.consistencyProof(old.size, now.size);
  expect(() => verifyConsistency(old.size, now.size, proof, old.rootHash, now.rootHash)).not.toThrow();
}

describe('failed writes that heal in process', () => {
  for (const mode of ['lost', 'landed'] as const) {
    it(`a write that fails (${mode}): 503 STORAGE, unhealthy, reads served, then healed without a restart`, async () => {
      const h = await harness();
      for (let i = 0; i < 300; i++) expect((await post(h.app, makeEntry(i))).status).toBe(200);
      const before = h.log.checkpoint.note;

      h.store.fault = mode;
      const failing = makeEntry(1000);
      const res = await post(h.app, failing);
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('1');
      const err = await errorOf(res);
      expect(err.code).toBe('STORAGE');
      expect(err.message).toContain('may or may not be logged');
      expect(err.message).toContain('resubmitting them is safe');
      expect(h.log.checkpoint.note).toBe(before); // nothing published for the failed batch

      // While failed: writes refused with STORAGE and Retry-After, /healthz unhealthy,
      // reads served (the published checkpoint, tiles, entries, proofs).
      const refused = await post(h.app, makeEntry(1001));
      expect(refused.status).toBe(503);
      expect(refused.headers.get('retry-after')).toBe('1');
      expect((await errorOf(refused)).code).toBe('STORAGE');
      const health = await h.app.request('/healthz');
      expect(health.status).toBe(503);
      const body = (await health.json()) as { ok: boolean; size: number; reason: string };
      expect(body).toMatchObject({ ok: false, size: 300 });
      expect(body.reason).toContain('STORAGE');
      expect(await (await h.app.request('/metrics')).text()).toContain('\ncandor_storage_failed 1\n');
      expect(await (await h.app.request('/checkpoint')).text()).toBe(before);
      expect((await h.app.request('/tile/entries/000.p/44')).status).toBe(200);
      expect((await h.app.request('/v1/entries/299')).status).toBe(200);
      expect((await h.app.request('/v1/proof/inclusion?index=7&size=300')).status).toBe(200);

      await healed(h.log);
      expect(await (await h.app.request('/healthz')).json()).toEqual({ ok: true, size: h.log.size });
      expect(await (await h.app.request('/metrics')).text()).toContain('\ncandor_storage_failed 0\n');
      expect(h.log.size).toBe(mode === 'landed' ? 301 : 300);
      expect(h.warnings.some((w) => w.includes('reopened after a failed write'))).toBe(true);

      // Resubmitting the failed entry is safe: its index if it landed, a new one if not.
      const again = await post(h.app, failing);
      expect(again.status).toBe(200);
      expect(await again.json()).toMatchObject({ index: 300, duplicate: mode === 'landed' });
      for (let i = 1001; i < 1010; i++) expect((await post(h.app, makeEntry(i))).status).toBe(200);
      await expectExtends(h.log, before);
      const checked = await checkServedLog((p) => Promise.resolve(h.app.request(p)), TEST_VERIFIER_KEY);
      expect(checked.size).toBe(310);
      for (let i = 0; i < 300; i++) expect(checked.entries[i]).toEqual(makeEntry(i));

      // And the directory reopens with all of it.
      await h.log.drain();
      await h.store.close();
      open = [];
      const store = new LevelStore(join(dir, 'db'));
      await store.open();
      expect((await store.latestCheckpoint())!.size).toBe(310);
      await store.close();
    });
  }

  it('keeps the store open for reads while a reopen cannot succeed (too little space), then heals', async () => {
    const h = await harness();
    for (let i = 0; i < 10; i++) await post(h.app, makeEntry(i));
    h.store.blocker = '0.1 MiB free, and reopening it needs about 1.0 MiB';
    h.store.fault = 'lost';
    expect((await post(h.app, makeEntry(50))).status).toBe(503);
    await new Promise((r) => setTimeout(r, 700)); // several attempts, each one blocked
    const health = (await (await h.app.request('/healthz')).json()) as { ok: boolean; reason: string };
    expect(health.ok).toBe(false);
    expect(health.reason).toContain('needs about 1.0 MiB');
    expect(h.store.opens).toBe(1); // never closed for a reopen that could not succeed
    expect((await h.app.request('/v1/entries/9')).status).toBe(200);
    h.store.blocker = undefined;
    await healed(h.log);
    expect((await post(h.app, makeEntry(50))).status).toBe(200);
    expect(h.log.size).toBe(11);
  });

  it('retries a reopen that fails (an I/O error), answering STORAGE meanwhile, then heals', async () => {
    const h = await harness();
    for (let i = 0; i < 10; i++) await post(h.app, makeEntry(i));
    const before = h.log.checkpoint.note;
    h.store.failOpens = 2;
    h.store.fault = 'landed';
    expect((await post(h.app, makeEntry(50))).status).toBe(503);
    // Reads not served from the log's caches need the store, which is down between
    // attempts (the next one is 400 ms after the first failed reopen): they get STORAGE
    // with Retry-After, never a wrong or missing answer. The checkpoint is still served.
    const end = Date.now() + 10_000;
    while (h.store.opens < 2 && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
    const during = await h.app.request('/v1/entries/3');
    expect(during.status).toBe(503);
    expect(during.headers.get('retry-after')).toBe('1');
    const err = await errorOf(during);
    expect(err.code).toBe('STORAGE');
    expect(err.message).toContain('could not be reopened: injected: IO error: cannot open');
    expect(await (await h.app.request('/checkpoint')).text()).toBe(before);
    await healed(h.log);
    expect(h.store.opens).toBe(4); // the first open, two failed reopens, one that succeeded
    expect(h.warnings.some((w) => w.includes('injected: IO error: cannot open'))).toBe(true);
    expect(h.log.size).toBe(11);
    expect(await (await h.app.request('/v1/entries/3')).arrayBuffer()).toEqual(makeEntry(3).buffer);
    await expectExtends(h.log, before);
  });

  it('fails entries queued behind the failed write with STORAGE, and takes them when resubmitted', async () => {
    const h = await harness();
    await post(h.app, makeEntry(0));
    h.store.fault = 'lost';
    const burst = await Promise.all(Array.from({ length: 20 }, (_, i) => post(h.app, makeEntry(100 + i))));
    const statuses = burst.map((r) => r.status);
    // Batches committed before the failure answered 200; the failed one and all after 503.
    expect(statuses.every((s) => s === 200 || s === 503)).toBe(true);
    expect(statuses.filter((s) => s === 503).length).toBeGreaterThan(0);
    for (const r of burst) if (r.status === 503) expect((await errorOf(r)).code).toBe('STORAGE');
    const acked = burst.flatMap((r, i) => (r.status === 200 ? [i] : []));
    await healed(h.log);
    const again = await Promise.all(Array.from({ length: 20 }, (_, i) => post(h.app, makeEntry(100 + i))));
    expect(again.map((r) => r.status)).toEqual(new Array(20).fill(200));
    expect(h.log.size).toBe(21);
    for (const i of acked) expect(await again[i]!.json()).toMatchObject({ duplicate: true });
    await checkServedLog((p) => Promise.resolve(h.app.request(p)), TEST_VERIFIER_KEY);
  });

  it('heals a failed write of the leaf-hash index: writes refused, then taken, duplicates still found', async () => {
    const h = await harness();
    for (let i = 0; i < 5; i++) await post(h.app, makeEntry(i));
    h.store.failIndexWrite = true;
    expect((await post(h.app, makeEntry(5))).status).toBe(200); // the log has it; its index write fails behind
    const end = Date.now() + 5000;
    while (h.store.failure === undefined && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
    expect(h.store.failure?.message).toContain('leaf-hash index');
    const refused = await post(h.app, makeEntry(6));
    expect(refused.status).toBe(503);
    expect((await errorOf(refused)).code).toBe('STORAGE');
    await healed(h.log);
    // The reopened index was rebuilt from the tiles: entry 5 is found, not logged twice.
    expect(await (await post(h.app, makeEntry(5))).json()).toMatchObject({ index: 5, duplicate: true });
    expect(await (await post(h.app, makeEntry(6))).json()).toMatchObject({ index: 6, duplicate: false });
  });

  it('stops recovering with CORRUPT when the reopened store lost committed entries', async () => {
    const h = await harness();
    for (let i = 0; i < 5; i++) await post(h.app, makeEntry(i));
    h.store.fault = 'lost';
    expect((await post(h.app, makeEntry(9))).status).toBe(503);
    // Behind the log's back the directory is deleted: the reopen finds an empty store.
    await rm(join(dir, 'db'), { recursive: true, force: true });
    const end = Date.now() + 10_000;
    while (!h.log.storageFailure?.startsWith('CORRUPT') && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(h.log.storageFailure).toMatch(/^CORRUPT: the reopened store holds no checkpoint, but size 5 was committed/);
    const refused = await post(h.app, makeEntry(10));
    expect(refused.status).toBe(500);
    expect(refused.headers.get('retry-after')).toBeNull();
    expect((await errorOf(refused)).code).toBe('CORRUPT');
    expect(h.warnings.some((w) => w.startsWith('ALERT: recovery stopped'))).toBe(true);
  });
});
