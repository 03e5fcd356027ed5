import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Hono } from 'hono';
import {
  isLogError,
  parsePolicy,
  parseProofFile,
  parseReceipt,
  policyForLog,
  receiptToProofFile,
  verifyProofFile,
} from '../../src/index.js';
import { writeProofFile } from '../../src/cli/proof-out.js';
import { registerProofBundle } from '../../src/server/proof-bundle.js';
import { createApp } from '../../src/server/app.js';
import { handleError } from '../../src/server/errors.js';
import { BASE, TEST_VERIFIER_KEY, W1, W2, W3, cosign, makeEntry, now, policyText, servedLog } from './fixtures.js';
import type { Log } from '../../src/log/log.js';

function codeOf(fn: () => unknown): string {
  try {
    fn();
    return 'none';
  } catch (err) {
    return isLogError(err) ? err.code : String(err);
  }
}

describe('receipts to tlog-proofs', () => {
  let app: Hono;
  let receipt: string;
  const entry = new TextEncoder().encode('{"model":"fraud-v3","env":"prod"}');
  const keyOnly = policyForLog(TEST_VERIFIER_KEY);
  let dir: string;

  beforeAll(async () => {
    ({ app } = await servedLog(20));
    const res = await app.request(`${BASE}/v1/entries`, { method: 'POST', body: entry });
    receipt = await res.text();
    dir = await mkdtemp(join(tmpdir(), 'candor-client-'));
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  it('converts a receipt into a proof that verifies offline, with the leaf hash as extra', () => {
    const proof = receiptToProofFile(receipt);
    const r = parseReceipt(receipt);
    expect(parseProofFile(proof).extra).toEqual(r.leafHash);
    const v = verifyProofFile(proof, entry, keyOnly, { now });
    expect(v.index).toBe(20);
    expect(receiptToProofFile(JSON.parse(receipt))).toBe(proof);
    // An unwitnessed receipt does not meet a policy that needs witnesses.
    expect(codeOf(() => verifyProofFile(proof, entry, parsePolicy(policyText()), { now }))).toBe('QUORUM_NOT_MET');
  });

  it('rejects broken receipts', () => {
    const r = JSON.parse(receipt) as Record<string, unknown>;
    const bad: Array<[string, unknown, string]> = [
      ['not JSON', '{', 'MALFORMED'],
      ['not an object', '[]', 'MALFORMED'],
      ['index as string', { ...r, index: '20' }, 'MALFORMED'],
      ['leafHash not base64', { ...r, leafHash: 'xyz' }, 'MALFORMED'],
      ['missing duplicate', { ...r, duplicate: undefined }, 'MALFORMED'],
      ['checkpoint not a note', { ...r, checkpoint: 'x' }, 'MALFORMED'],
      ['proof of numbers', { ...r, inclusionProof: [1] }, 'MALFORMED'],
      ['wrong index', { ...r, index: 19 }, 'PROOF_FAILED'],
      ['wrong leaf hash', { ...r, leafHash: Buffer.alloc(32).toString('base64') }, 'PROOF_FAILED'],
      ['missing proof hash', { ...r, inclusionProof: (r.inclusionProof as string[]).slice(1) }, 'PROOF_FAILED'],
    ];
    expect(bad.map(([name, v]) => [name, codeOf(() => receiptToProofFile(v))])).toEqual(
      bad.map(([name, , code]) => [name, code])
    );
  });

  it('writeProofFile (candor add --proof-out) writes the proof file', async () => {
    const path = join(dir, 'entry.tlog-proof');
    await writeProofFile(receipt, path);
    const text = await readFile(path, 'utf8');
    expect(text).toBe(receiptToProofFile(receipt));
    expect(verifyProofFile(text, entry, keyOnly, { now }).index).toBe(20);
    await expect(writeProofFile('{"index":1}', join(dir, 'bad.tlog-proof'))).rejects.toThrow(/malformed receipt/);
    await expect(readFile(join(dir, 'bad.tlog-proof'))).rejects.toThrow();
  });
});

describe('GET /v1/proof/bundle', () => {
  let log: Log;
  let app: Hono;
  let entries: Uint8Array[];
  let witnessed: string;

  beforeAll(async () => {
    ({ log, entries } = await servedLog(30));
    witnessed = cosign(log.checkpoint.note, [W1, W2, W3]);
    await log.add(makeEntry(1000)); // logged, but not in the witnessed checkpoint
    app = new Hono();
    app.onError(handleError);
    registerProofBundle(app, { log, checkpoint: () => witnessed });
  });

  it('serves a tlog-proof against the witnessed checkpoint that verifies with the policy', async () => {
    const res = await app.request(`${BASE}/v1/proof/bundle?index=29`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    const proof = await res.text();
    const v = verifyProofFile(proof, entries[29]!, parsePolicy(policyText('two')), { now });
    expect(v.checkpoint.size).toBe(30);
    expect(v.witnesses.map((w) => w.name)).toEqual(['w1', 'w2', 'w3']);
  });

  it('answers 404 for entries not yet witnessed, 400 for a bad index, 405 for other methods', async () => {
    const notYet = await app.request(`${BASE}/v1/proof/bundle?index=30`);
    expect(notYet.status).toBe(404);
    expect(((await notYet.json()) as { error: { code: string } }).error.code).toBe('NOT_FOUND');
    for (const q of ['', '?index=', '?index=01', '?index=-1', '?idx=1']) {
      expect((await app.request(`${BASE}/v1/proof/bundle${q}`)).status, q).toBe(400);
    }
    const post = await app.request(`${BASE}/v1/proof/bundle?index=1`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
  });

  it('works with an async checkpoint source', async () => {
    const plain = new Hono();
    registerProofBundle(plain, { log, checkpoint: async () => log.checkpoint.note });
    const res = await plain.request(`${BASE}/v1/proof/bundle?index=30`);
    expect(verifyProofFile(await res.text(), makeEntry(1000), policyForLog(TEST_VERIFIER_KEY)).index).toBe(30);
  });

  it('is served by the log app itself, against the log checkpoint when it has no witnesses', async () => {
    const served = createApp({ log, verifierKey: TEST_VERIFIER_KEY });
    const res = await served.request(`${BASE}/v1/proof/bundle?index=30`);
    expect(res.status).toBe(200);
    expect(verifyProofFile(await res.text(), makeEntry(1000), policyForLog(TEST_VERIFIER_KEY)).index).toBe(30);
  });
});
