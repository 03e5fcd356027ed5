import { beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/server/app.js';
import { openTestLog, makeEntry, TEST_VERIFIER_KEY, TEST_ORIGIN } from '../helpers/test-log.js';
import { checkServedLog } from '../helpers/check-log.js';
import { openCheckpoint } from '../../src/checkpoint/checkpoint.js';
import { ed25519Verifier } from '../../src/note/keys.js';
import { verifyConsistency, verifyInclusion } from '../../src/merkle/verify.js';
import { leafHash } from '../../src/merkle/hash.js';
import type { Hono } from 'hono';
import type { Log } from '../../src/log/log.js';

const verifier = ed25519Verifier(TEST_VERIFIER_KEY);
const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');
const unb64 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'base64'));

interface ReceiptJson {
  index: number;
  leafHash: string;
  duplicate: boolean;
  checkpoint: string;
  inclusionProof: string[];
}

function checkReceipt(r: ReceiptJson, entry: Uint8Array): void {
  const { checkpoint } = openCheckpoint(r.checkpoint, verifier);
  expect(r.leafHash).toBe(b64(leafHash(entry)));
  expect(
    verifyInclusion(leafHash(entry), r.index, checkpoint.size, r.inclusionProof.map(unb64), checkpoint.rootHash)
  ).toBe(true);
}

async function errorOf(res: Response): Promise<{ code: string; message: string }> {
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  const body = (await res.json()) as { error: { code: string; message: string } };
  expect(typeof body.error.code).toBe('string');
  expect(body.error.message.length).toBeGreaterThan(0);
  return body.error;
}

describe('HTTP API (in process)', () => {
  let app: Hono;
  let log: Log;
  const sizes: number[] = [];

  beforeAll(async () => {
    ({ log } = await openTestLog());
    app = createApp({ log, verifierKey: TEST_VERIFIER_KEY });
  });

  it('POST /v1/entries answers a receipt that verifies offline', async () => {
    const entry = new TextEncoder().encode('model sha256:abc deployed to prod\n');
    const res = await app.request('/v1/entries', { method: 'POST', body: entry });
    expect(res.status).toBe(200);
    const r = (await res.json()) as ReceiptJson;
    expect(r).toMatchObject({ index: 0, duplicate: false });
    checkReceipt(r, entry);
    const again = (await (await app.request('/v1/entries', { method: 'POST', body: entry })).json()) as ReceiptJson;
    expect(again).toMatchObject({ index: 0, duplicate: true });
    checkReceipt(again, entry);
    sizes.push(1);
  });

  it('grows through single and batch submissions, publishing many sizes', async () => {
    let i = 10;
    while (log.size < 700) {
      const n = 1 + (log.size % 97);
      const entries = Array.from({ length: n }, () => makeEntry(i++));
      const res = await app.request('/v1/entries/batch', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ entries: entries.map(b64) }),
      });
      expect(res.status).toBe(200);
      const { receipts } = (await res.json()) as { receipts: ReceiptJson[] };
      expect(receipts).toHaveLength(n);
      receipts.forEach((r, k) => checkReceipt(r, entries[k]!));
      sizes.push(log.size);
    }
    // The binary batch form (tlog-tiles bundle encoding).
    const entries = [makeEntry(5000, 3), makeEntry(5001, 300)];
    const body = Buffer.concat(entries.map((e) => Buffer.concat([Buffer.from([e.length >> 8, e.length & 255]), e])));
    const res = await app.request('/v1/entries/batch', {
      method: 'POST',
      headers: { 'Content-Type': 'application/octet-stream' },
      body,
    });
    expect(res.status).toBe(200);
    const { receipts } = (await res.json()) as { receipts: ReceiptJson[] };
    receipts.forEach((r, k) => checkReceipt(r, entries[k]!));
    sizes.push(log.size);
  });

  it('serves the checkpoint, tiles and bundles per tlog-tiles, all authenticating', async () => {
    const cp = await app.request('/checkpoint');
    expect(cp.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(cp.headers.get('cache-control')).toBe('no-store');
    const checked = await checkServedLog((p) => Promise.resolve(app.request(p)), TEST_VERIFIER_KEY);
    expect(checked.size).toBe(log.size);
    const tile = await app.request('/tile/0/000');
    expect(tile.status).toBe(200);
    expect(tile.headers.get('content-type')).toBe('application/octet-stream');
    expect(tile.headers.get('cache-control')).toBe('public, max-age=604800, immutable');
    expect((await tile.arrayBuffer()).byteLength).toBe(8192);
  });

  it('serves the partial tiles of every published size', async () => {
    for (const size of sizes) {
      const w = size % 256;
      if (w === 0) continue;
      const n = Math.floor(size / 256).toString().padStart(3, '0');
      const t = await app.request(`/tile/0/${n}.p/${w}`);
      expect(t.status).toBe(200);
      expect((await t.arrayBuffer()).byteLength).toBe(w * 32);
      const e = await app.request(`/tile/entries/${n}.p/${w}`);
      expect(e.status).toBe(200);
    }
  });

  it('answers 404 beyond the tree and 400 for malformed tile paths', async () => {
    const size = log.size;
    const full = Math.floor(size / 256);
    for (const path of [
      `/tile/0/${String(full).padStart(3, '0')}`, // the partial tile is not full yet
      `/tile/0/${String(full).padStart(3, '0')}.p/${(size % 256) + 1}`,
      `/tile/entries/${String(full + 1).padStart(3, '0')}.p/1`,
      '/tile/1/000',
      '/tile/5/000.p/1',
      '/v1/entries/999999',
    ]) {
      const res = await app.request(path);
      expect(res.status, path).toBe(404);
      await errorOf(res);
    }
    for (const path of ['/tile/0/0', '/tile/0/001.p/0', '/tile/0/000.p/256', '/tile/0/000.p/08', '/tile/64/000', '/tile/0/x000', '/tile/-1/000', '/tile/entries/1000']) {
      const res = await app.request(path);
      expect(res.status, path).toBe(400);
      expect((await errorOf(res)).code).toBe('MALFORMED');
    }
  });

  it('serves inclusion proofs by index and by leaf hash, and consistency proofs', async () => {
    const size = log.size;
    const root = log.checkpoint.rootHash;
    const entry = await (await app.request('/v1/entries/300')).arrayBuffer();
    const lh = leafHash(new Uint8Array(entry));
    const byIndex = (await (await app.request(`/v1/proof/inclusion?index=300&size=${size}`)).json()) as { index: number; size: number; hashes: string[] };
    expect(byIndex).toMatchObject({ index: 300, size });
    expect(verifyInclusion(lh, 300, size, byIndex.hashes.map(unb64), root)).toBe(true);
    const byHash = (await (await app.request(`/v1/proof/inclusion?leafHash=${encodeURIComponent(b64(lh))}&size=${size}`)).json()) as { index: number; hashes: string[] };
    expect(byHash.index).toBe(300);
    expect(byHash.hashes).toEqual(byIndex.hashes);
    const first = sizes[3]!;
    const firstCp = await log.consistencyProof(first, first); // empty: same size
    expect(firstCp).toEqual([]);
    const c = (await (await app.request(`/v1/proof/consistency?from=${first}&to=${size}`)).json()) as { from: number; to: number; hashes: string[] };
    expect(c).toMatchObject({ from: first, to: size });
    const firstRoot = openCheckpoint((await log.checkpointAt(first))!, verifier).checkpoint.rootHash;
    expect(verifyConsistency(first, size, c.hashes.map(unb64), firstRoot, root)).toBe(true);
  });

  it('rejects bad numbers in queries with 400 and clear errors', async () => {
    const size = log.size;
    for (const q of [
      'index=-1&size=5',
      'index=1.5&size=5',
      'index=1e3&size=5',
      'index=0x10&size=5',
      'index=01&size=5',
      'index=%201&size=5',
      'index=9007199254740993&size=5',
      'index=99999999999999999999&size=5',
      'index=&size=5',
      'size=5',
      `index=1&size=abc`,
      `index=${size}&size=${size}`,
      `leafHash=not-base64&size=${size}`,
      `leafHash=${encodeURIComponent(b64(new Uint8Array(31)))}&size=${size}`,
      `leafHash=${encodeURIComponent(b64(new Uint8Array(32)))}&index=1&size=${size}`,
    ]) {
      const res = await app.request(`/v1/proof/inclusion?${q}`);
      expect(res.status, q).toBe(400);
      await errorOf(res);
    }
    for (const q of ['from=0&to=5', 'from=5&to=4', 'from=-1&to=3', 'from=1', 'to=3']) {
      const res = await app.request(`/v1/proof/consistency?${q}`);
      expect(res.status, q).toBe(400);
    }
    expect((await app.request(`/v1/proof/inclusion?index=1&size=${size + 1}`)).status).toBe(404);
    expect((await app.request(`/v1/proof/consistency?from=1&to=${size + 1}`)).status).toBe(404);
    const unknown = await app.request(`/v1/proof/inclusion?leafHash=${encodeURIComponent(b64(new Uint8Array(32)))}&size=${size}`);
    expect(unknown.status).toBe(404);
    for (const p of ['/v1/entries/-1', '/v1/entries/1.0', '/v1/entries/abc', '/v1/entries/007']) {
      expect((await app.request(p)).status, p).toBe(400);
    }
  });

  it('refuses empty, oversized and malformed submissions without touching the log', async () => {
    const size = log.size;
    const root = b64(log.checkpoint.rootHash);
    const empty = await app.request('/v1/entries', { method: 'POST', body: new Uint8Array(0) });
    expect(empty.status).toBe(400);
    expect((await errorOf(empty)).code).toBe('EMPTY');
    const big = await app.request('/v1/entries', { method: 'POST', body: new Uint8Array(65536) });
    expect(big.status).toBe(413);
    expect((await errorOf(big)).code).toBe('TOO_LARGE');
    for (const [type, body] of [
      ['application/json', '{"entries": "x"}'],
      ['application/json', '{"entries": ["@@@"]}'],
      ['application/json', '{"entries": [1]}'],
      ['application/json', 'not json'],
      ['application/json', '{"entries": [""]}'],
      ['application/json', '{"entries": []}'],
      ['text/plain', 'abc'],
      ['application/octet-stream', Buffer.from([0, 5, 1, 2])],
      ['application/octet-stream', Buffer.from([0])],
    ] as const) {
      const res = await app.request('/v1/entries/batch', { method: 'POST', headers: { 'Content-Type': type }, body });
      expect(res.status, String(body)).toBe(400);
      await errorOf(res);
    }
    expect(log.size).toBe(size);
    expect(b64(log.checkpoint.rootHash)).toBe(root);
  });

  it('answers 405 for wrong methods and JSON 404 for unknown paths', async () => {
    const put = await app.request('/v1/entries', { method: 'PUT', body: 'x' });
    expect(put.status).toBe(405);
    expect(put.headers.get('allow')).toBe('POST');
    expect((await app.request('/checkpoint', { method: 'POST' })).status).toBe(405);
    expect((await app.request('/tile/0/000', { method: 'DELETE' })).status).toBe(405);
    const nf = await app.request('/nope');
    expect(nf.status).toBe(404);
    expect((await errorOf(nf)).code).toBe('NOT_FOUND');
  });

  it('publishes info, health and Prometheus metrics', async () => {
    const info = (await (await app.request('/v1/info')).json()) as Record<string, unknown>;
    expect(info).toMatchObject({ origin: TEST_ORIGIN, verifierKey: TEST_VERIFIER_KEY, size: log.size, rootHash: b64(log.checkpoint.rootHash) });
    expect((await app.request('/healthz')).status).toBe(200);
    const m = await (await app.request('/metrics')).text();
    expect(m).toContain(`candor_entries ${log.size}`);
    expect(m).toMatch(/^candor_queue_depth 0$/m);
    expect(m).toMatch(/^candor_integration_seconds_bucket\{le="\+Inf"\} \d+$/m);
    expect(m).toMatch(/^candor_http_responses_total\{status="200"\} \d+$/m);
    expect(m).toMatch(/^candor_http_responses_total\{status="404"\} \d+$/m);
  });

  it('answers 503 with Retry-After when the queue is full', async () => {
    const { log: small } = await openTestLog(undefined, { queueMax: 1, batchAgeMs: 50 });
    const smallApp = createApp({ log: small, verifierKey: TEST_VERIFIER_KEY });
    const first = smallApp.request('/v1/entries', { method: 'POST', body: makeEntry(1) });
    const second = await smallApp.request('/v1/entries', { method: 'POST', body: makeEntry(2) });
    expect(second.status).toBe(503);
    expect(second.headers.get('retry-after')).toBe('1');
    expect((await errorOf(second)).code).toBe('PUSHBACK');
    expect((await first).status).toBe(200);
  });

  it('verifies consistency between checkpoints fetched over time', async () => {
    const a = openCheckpoint(await (await app.request('/checkpoint')).text(), verifier).checkpoint;
    await app.request('/v1/entries', { method: 'POST', body: makeEntry(99999) });
    const b = openCheckpoint(await (await app.request('/checkpoint')).text(), verifier).checkpoint;
    const c = (await (await app.request(`/v1/proof/consistency?from=${a.size}&to=${b.size}`)).json()) as { hashes: string[] };
    expect(verifyConsistency(a.size, b.size, c.hashes.map(unb64), a.rootHash, b.rootHash)).toBe(true);
  });
});
