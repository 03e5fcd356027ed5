import { beforeAll, describe, expect, it } from 'vitest';
import {
  LogClient,
  isLogError,
  leafHash,
  parsePolicy,
  verifyProofFile,
  type VerifiedCheckpoint,
} from '../../src/index.js';
import { openTestLog, makeEntry } from '../helpers/test-log.js';
import { createApp } from '../../src/server/app.js';
import {
  BASE,
  TEST_VERIFIER_KEY,
  W1,
  W2,
  cosign,
  now,
  policyText,
  servedLog,
  type Fetch,
} from './fixtures.js';
import type { Log } from '../../src/log/log.js';
import { formatVerifierKey } from '../../src/note/keys.js';

const OTHER_LOG = formatVerifierKey('other.example/log', 0x01, new Uint8Array(32).fill(9));

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'none';
  } catch (err) {
    return isLogError(err) ? err.code : String(err);
  }
}

type Rewrite = (path: string, body: Uint8Array) => Uint8Array | string | undefined;

/** A lying server: passes requests to `fetch` and rewrites the answers `rewrite` changes. */
function liar(fetch: Fetch, rewrite: Rewrite): Fetch {
  return async (url, init) => {
    const res = await fetch(url, init);
    const body = new Uint8Array(await res.arrayBuffer());
    const changed = rewrite(url.slice(BASE.length + 1), body);
    const out = typeof changed === 'string' ? changed : new Uint8Array(changed ?? body);
    return new Response(out, { status: res.status, headers: res.headers });
  };
}

const text = (b: Uint8Array): string => new TextDecoder().decode(b);
const flipByte = (b: Uint8Array, at: number): Uint8Array => {
  const c = new Uint8Array(b);
  c[at]! ^= 1;
  return c;
};
const flipJsonHash = (b: Uint8Array): string => {
  const o = JSON.parse(text(b)) as { hashes: string[] };
  const h = o.hashes[0]!;
  o.hashes[0] = h.slice(0, 3) + (h[3] === 'A' ? 'B' : 'A') + h.slice(4);
  return JSON.stringify(o);
};

describe('LogClient against an honest in-process log', () => {
  let log: Log;
  let fetch: Fetch;
  let entries: Uint8Array[];
  let client: LogClient;
  let cp: VerifiedCheckpoint;

  beforeAll(async () => {
    ({ log, fetch, entries } = await servedLog(600, 250));
    client = new LogClient({ url: BASE, verifierKey: TEST_VERIFIER_KEY, fetch, now });
    cp = await client.checkpoint();
  });

  it('fetches and verifies the checkpoint', () => {
    expect(cp.size).toBe(600);
    expect(cp.origin).toBe('test.example/log');
    expect(cp.logKey).toBe(TEST_VERIFIER_KEY);
    expect(cp.witnesses).toEqual([]);
  });

  it('reads single entries and every entry in order, verified', async () => {
    for (const i of [0, 255, 256, 599]) expect(await client.entry(i, cp)).toEqual(entries[i]);
    const got: number[] = [];
    for await (const { index, entry } of client.entries(0, 600, cp)) {
      expect(entry).toEqual(entries[index]);
      got.push(index);
    }
    expect(got).toEqual(entries.map((_, i) => i));
    const some: number[] = [];
    for await (const { index } of client.entries(250, 520, cp)) some.push(index);
    expect(some).toEqual(Array.from({ length: 270 }, (_, i) => 250 + i));
    expect(await codeOf(client.entry(600, cp))).toBe('NOT_FOUND');
  });

  it('fetches and verifies inclusion and consistency proofs', async () => {
    const p = await client.inclusionProof(300, cp);
    expect(p.leafHash).toEqual(leafHash(entries[300]!));
    expect(p.hashes).toEqual(await log.inclusionProof(300, 600));
    const found = await client.proveEntry(entries[42]!, cp);
    expect(found.index).toBe(42);
    expect(await codeOf(client.proveEntry(makeEntry(10_000), cp))).toBe('NOT_FOUND');
    const old = client.verifyCheckpoint((await log.checkpointAt(250))!);
    expect(await client.consistencyProof(old, cp)).toEqual(await log.consistencyProof(250, 600));
    expect(await client.consistencyProof(old, old)).toEqual([]);
    await expect(client.consistencyProof(cp, old)).rejects.toThrow(TypeError);
  });

  it('builds proof files that verify offline, for old and new checkpoints', async () => {
    const policy = parsePolicy(`log ${TEST_VERIFIER_KEY}\nquorum none\n`);
    const old = client.verifyCheckpoint((await log.checkpointAt(500))!);
    for (const [i, c] of [[7, cp], [499, old]] as const) {
      const proof = await client.proofFile(i, c);
      expect(verifyProofFile(proof, entries[i]!, policy, { now }).checkpoint.size).toBe(c.size);
    }
  });

  it('uses the size and root it verified, not fields changed afterwards', async () => {
    const forged = { ...cp, size: 5 };
    // Not the object this client verified: its note is verified again, giving size 600.
    expect(await client.entry(550, forged)).toEqual(entries[550]);
    expect(() => ((cp as { size: number }).size = 1)).toThrow(TypeError);
  });

  it('needs a policy or a key, and one origin', () => {
    expect(() => new LogClient({ url: BASE })).toThrow(TypeError);
    const twoLogs = `log ${TEST_VERIFIER_KEY}\nlog ${OTHER_LOG}\nquorum none\n`;
    expect(() => new LogClient({ url: BASE, policy: twoLogs })).toThrow(/several logs/);
    expect(new LogClient({ url: BASE, policy: twoLogs, origin: 'other.example/log' }).origin).toBe(
      'other.example/log'
    );
    expect(() => new LogClient({ url: BASE, policy: twoLogs, origin: 'x.example' })).toThrow(/no log/);
    // A policy without log lines, plus the log's key (tlog-policy allows that).
    const witnessesOnly = new LogClient({
      url: BASE,
      policy: `witness w1 ${W1.verifierKey}\nquorum w1\n`,
      verifierKey: TEST_VERIFIER_KEY,
    });
    expect(witnessesOnly.origin).toBe('test.example/log');
    expect(witnessesOnly.policy.quorum).toBe('w1');
    expect(() => new LogClient({ verifierKey: TEST_VERIFIER_KEY })).toThrow(/url/);
    const fromPolicy = new LogClient({ policy: `log ${TEST_VERIFIER_KEY} ${BASE}/\nquorum none\n`, fetch });
    expect(fromPolicy.url).toBe(BASE);
    expect(fromPolicy.origin).toBe('test.example/log');
  });
});

describe('LogClient against a lying log: every lie is caught', () => {
  let log: Log;
  let fetch: Fetch;
  let entries: Uint8Array[];
  let cosigned: string;
  let proof18: string[];
  const policy = policyText('two');

  beforeAll(async () => {
    ({ log, fetch, entries } = await servedLog(300, 100));
    cosigned = cosign(log.checkpoint.note, [W1, W2]);
    proof18 = (await log.inclusionProof(18, 300)).map((h) => Buffer.from(h).toString('base64'));
  });

  // A client whose server answers /checkpoint with the cosigned note, then `rewrite`s.
  async function clientWith(rewrite: Rewrite): Promise<{ client: LogClient; cp: VerifiedCheckpoint }> {
    const honest = liar(fetch, (path) => (path === 'checkpoint' ? cosigned : undefined));
    const client = new LogClient({ url: BASE, policy, fetch: liar(honest, rewrite), now });
    const cp = client.verifyCheckpoint(cosigned);
    return { client, cp };
  }

  it('accepts the honest, cosigned log', async () => {
    const { client } = await clientWith(() => undefined);
    const cp = await client.checkpoint();
    expect(cp.witnesses.map((w) => w.name)).toEqual(['w1', 'w2']);
    expect(await client.entry(299, cp)).toEqual(entries[299]);
  });

  const lies: Array<[string, Rewrite, (c: LogClient, cp: VerifiedCheckpoint) => Promise<unknown>, string]> = [
    ['a checkpoint with a changed root', (p, b) => (p === 'checkpoint' ? text(b).replace(/\n300\n./, '\n300\nX') : undefined), (c) => c.checkpoint(), 'BAD_SIGNATURE'],
    ['a checkpoint with too few cosignatures', (p) => (p === 'checkpoint' ? cosign(log.checkpoint.note, [W1]) : undefined), (c) => c.checkpoint(), 'QUORUM_NOT_MET'],
    ['a checkpoint of another origin', (p, b) => (p === 'checkpoint' ? text(b).replace('test.example/log\n', 'evil.example/log\n') : undefined), (c) => c.checkpoint(), 'UNKNOWN_LOG'],
    ['a garbled checkpoint', (p) => (p === 'checkpoint' ? 'nonsense' : undefined), (c) => c.checkpoint(), 'MALFORMED'],
    ['a level-0 tile', (p, b) => (p === 'tile/0/000' ? flipByte(b, 100) : undefined), (c, cp) => c.entry(3, cp), 'PROOF_FAILED'],
    ['the partial level-0 tile', (p, b) => (p === 'tile/0/001.p/44' ? flipByte(b, 0) : undefined), (c, cp) => c.entry(3, cp), 'PROOF_FAILED'],
    ['the level-1 tile', (p, b) => (p === 'tile/1/000.p/1' ? flipByte(b, 31) : undefined), (c, cp) => c.entry(290, cp), 'PROOF_FAILED'],
    ['an entry in a bundle', (p, b) => (p === 'tile/entries/000' ? flipByte(b, 2) : undefined), (c, cp) => c.entry(0, cp), 'ENTRY_MISMATCH'],
    ['an entry read by entries()', (p, b) => (p === 'tile/entries/001.p/44' ? flipByte(b, b.length - 1) : undefined), async (c, cp) => { for await (const _ of c.entries(250, 300, cp)) void _; }, 'ENTRY_MISMATCH'],
    ['a bundle with a missing entry', (p, b) => (p === 'tile/entries/001.p/44' ? b.subarray(0, b.length - 5) : undefined), (c, cp) => c.entry(260, cp), 'MALFORMED'],
    ['an inclusion proof hash', (p, b) => (p.startsWith('v1/proof/inclusion') ? flipJsonHash(b) : undefined), (c, cp) => c.inclusionProof(17, cp), 'PROOF_FAILED'],
    ['the index of an inclusion proof', (p, b) => (p.startsWith('v1/proof/inclusion') ? text(b).replace('"index":17', '"index":16') : undefined), (c, cp) => c.inclusionProof(17, cp), 'MALFORMED'],
    ['a valid proof of another index', (p) => (p.startsWith('v1/proof/inclusion?index=17') ? JSON.stringify({ index: 17, size: 300, hashes: proof18 }) : undefined), (c, cp) => c.inclusionProof(17, cp), 'PROOF_FAILED'],
    ['a proof checked against another leaf hash', () => undefined, (c, cp) => c.inclusionProof(17, cp, leafHash(entries[18]!)), 'PROOF_FAILED'],
    ['a found entry at the wrong index', (p, b) => (p.startsWith('v1/proof/inclusion?leafHash') ? text(b).replace('"index":42', '"index":43') : undefined), (c, cp) => c.proveEntry(entries[42]!, cp), 'PROOF_FAILED'],
    ['a consistency proof hash', (p, b) => (p.startsWith('v1/proof/consistency') ? flipJsonHash(b) : undefined), async (c, cp) => c.consistencyProof(c.verifyCheckpoint(cosign((await log.checkpointAt(200))!, [W1, W2])), cp), 'PROOF_FAILED'],
    ['a proof answer that is not JSON', (p) => (p.startsWith('v1/proof/') ? '<html>' : undefined), (c, cp) => c.inclusionProof(1, cp), 'MALFORMED'],
    ['a forged checkpoint object', () => undefined, (c, cp) => c.entry(1, { ...cp, note: cp.note.replace('\n300\n', '\n301\n') }), 'BAD_SIGNATURE'],
  ];
  it.each(lies)('catches %s', async (_, rewrite, run, code) => {
    const { client, cp } = await clientWith(rewrite);
    expect(await codeOf(run(client, cp))).toBe(code);
  });

  it('catches a fork: a validly signed checkpoint of a tree inconsistent with one seen before', async () => {
    const { log: fork } = await openTestLog();
    await fork.addMany(Array.from({ length: 310 }, (_, i) => makeEntry(i + 1)));
    const forkApp = createApp({ log: fork, verifierKey: TEST_VERIFIER_KEY });
    let served = fetch;
    const client = new LogClient({ url: BASE, verifierKey: TEST_VERIFIER_KEY, fetch: (u, i) => served(u, i), now });
    expect((await client.checkpoint()).size).toBe(300);
    served = async (u, i) => forkApp.request(u, i);
    expect(await codeOf(client.checkpoint())).toBe('PROOF_FAILED');
    // A stale but genuine checkpoint is fine: it is consistent with the one seen.
    const stale = async (u: string, i?: RequestInit): Promise<Response> =>
      u.endsWith('/checkpoint') ? new Response((await log.checkpointAt(200))!) : fetch(u, i);
    served = stale;
    expect((await client.checkpoint()).size).toBe(200);
  });

  it('maps HTTP failures to error codes', async () => {
    const status = (s: number): Fetch => async () => new Response('{"error":{}}', { status: s });
    const client = (f: Fetch): LogClient => new LogClient({ url: BASE, verifierKey: TEST_VERIFIER_KEY, fetch: f, now });
    expect(await codeOf(client(status(404)).checkpoint())).toBe('NOT_FOUND');
    expect(await codeOf(client(status(503)).checkpoint())).toBe('PUSHBACK');
    expect(await codeOf(client(status(400)).checkpoint())).toBe('MALFORMED');
    const down: Fetch = async () => {
      throw new TypeError('fetch failed');
    };
    expect(await codeOf(client(down).checkpoint())).toBe('TIMEOUT');
  });
});
