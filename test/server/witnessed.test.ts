import { afterAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Hono } from 'hono';
import { createApp } from '../../src/server/app.js';
import { startLog } from '../../src/server/main.js';
import { Witnessing } from '../../src/log/witnessing.js';
import { systemClock } from '../../src/log/witness-protocol.js';
import { openCheckpoint } from '../../src/checkpoint/checkpoint.js';
import { cosignatureV1Verifier } from '../../src/checkpoint/cosignature.js';
import { ed25519Verifier } from '../../src/note/keys.js';
import { openNote, parseNote } from '../../src/note/note.js';
import { verifyInclusion } from '../../src/merkle/verify.js';
import { leafHash } from '../../src/merkle/hash.js';
import type { Log } from '../../src/log/log.js';
import { openTestLog, makeEntry, TEST_ORIGIN, TEST_VERIFIER_KEY } from '../helpers/test-log.js';
import { checkServedLog } from '../helpers/check-log.js';
import { FakeClock, FakeWitness, fakeFetch } from '../helpers/fake-witness.js';
import { CLI, startServerProcess, runCandor, type CliResult } from '../helpers/server-process.js';

const logVerifier = ed25519Verifier(TEST_VERIFIER_KEY);
const unb64 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'base64'));
const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');

interface ReceiptJson {
  index: number;
  leafHash: string;
  duplicate: boolean;
  checkpoint: string;
  inclusionProof: string[];
}

interface Harness {
  log: Log;
  clock: FakeClock;
  witnesses: FakeWitness[];
  witnessing: Witnessing;
  app: Hono;
  /** Runs a request while moving simulated time on in 500 ms steps until it answers. */
  request(path: string, init?: RequestInit): Promise<Response>;
}

async function harness(labels: string[], quorum: number, waitTimeoutMs = 10_000): Promise<Harness> {
  const { log } = await openTestLog();
  const clock = new FakeClock();
  const witnesses = labels.map((l, i) => new FakeWitness(l, 40 + i, TEST_ORIGIN, TEST_VERIFIER_KEY, clock));
  const witnessing = new Witnessing({
    log,
    witnesses: witnesses.map((w) => w.config),
    quorum,
    fetch: fakeFetch(witnesses),
    clock,
    waitTimeoutMs,
  });
  witnessing.start();
  const app = createApp({ log, verifierKey: TEST_VERIFIER_KEY, witnessing });
  const request = (path: string, init?: RequestInit): Promise<Response> => requestWhileTicking(app, clock, path, init);
  return { log, clock, witnesses, witnessing, app, request };
}

/** Runs a request on `app` while moving `clock` on in 500 ms steps until it answers. */
async function requestWhileTicking(app: Hono, clock: FakeClock, path: string, init?: RequestInit): Promise<Response> {
  let done = false;
  const res = Promise.resolve(app.request(path, init)).finally(() => (done = true));
  for (let i = 0; i < 200 && !done; i++) {
    await new Promise((r) => setTimeout(r, 2)); // real time: the log batches with real timers
    await clock.advance(500);
  }
  return res;
}

/** Checks a note's signature lines: the log's first, then `min`+ cosignatures that verify. */
function checkCosigned(note: string, witnesses: FakeWitness[], min: number): number {
  const parsed = parseNote(note);
  expect(openCheckpoint(note, logVerifier).note.verified[0]!.line).toBe(parsed.signatures[0]!.line);
  let valid = 0;
  for (const w of witnesses) {
    try {
      openNote(note, [cosignatureV1Verifier(w.vkey)]);
      valid++;
    } catch {
      // not cosigned by this witness
    }
  }
  expect(valid).toBeGreaterThanOrEqual(min);
  expect(parsed.signatures).toHaveLength(1 + valid);
  return valid;
}

function checkReceipt(r: ReceiptJson, entry: Uint8Array): number {
  const { checkpoint } = openCheckpoint(r.checkpoint, logVerifier);
  expect(r.leafHash).toBe(b64(leafHash(entry)));
  const proof = r.inclusionProof.map(unb64);
  expect(verifyInclusion(leafHash(entry), r.index, checkpoint.size, proof, checkpoint.rootHash)).toBe(true);
  return checkpoint.size;
}

async function errorOf(res: Response): Promise<{ code: string; message: string }> {
  return ((await res.json()) as { error: { code: string; message: string } }).error;
}

describe('witnessed checkpoints over HTTP (in process)', () => {
  it('serves the log-signed checkpoint until a quorum cosigns, then the cosigned one', async () => {
    const h = await harness(['a', 'b', 'c'], 2);
    const entry = makeEntry(1);
    const res = await h.app.request('/v1/entries', { method: 'POST', body: entry });
    expect(res.status).toBe(200);
    const plain = (await res.json()) as ReceiptJson;
    expect(parseNote(plain.checkpoint).signatures).toHaveLength(1);
    expect(await (await h.app.request('/checkpoint')).text()).toBe(h.log.checkpoint.note);
    const none = await h.app.request('/v1/checkpoint/witnessed');
    expect(none.status).toBe(404);
    expect((await errorOf(none)).code).toBe('NOT_FOUND');

    await h.clock.advance(0);
    const cp = await h.app.request('/checkpoint');
    expect(cp.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(cp.headers.get('cache-control')).toBe('no-store');
    const note = await cp.text();
    expect(checkCosigned(note, h.witnesses, 2)).toBe(3);
    expect(note.startsWith(h.log.checkpoint.note)).toBe(true);
    const witnessed = await h.app.request('/v1/checkpoint/witnessed');
    expect(witnessed.status).toBe(200);
    expect(await witnessed.text()).toBe(note);
    const info = (await (await h.app.request('/v1/info')).json()) as {
      quorum: number;
      witnesses: Array<Record<string, unknown>>;
    };
    expect(info.quorum).toBe(2);
    expect(info.witnesses).toHaveLength(3);
    expect(info.witnesses[0]).toEqual({
      name: 'a',
      verifierKey: h.witnesses[0]!.vkey,
      url: h.witnesses[0]!.url,
      size: 1,
      lastCosigned: new Date(h.clock.now()).toISOString(),
      lastError: null,
    });
  });

  it('keeps serving the newest witnessed checkpoint, and its tiles, while newer ones wait', async () => {
    const h = await harness(['a', 'b'], 2);
    await h.request('/v1/entries?wait=witnessed', { method: 'POST', body: makeEntry(1) });
    const witnessedNote = await (await h.app.request('/checkpoint')).text();
    h.witnesses[1]!.mode = 'down';
    for (let i = 2; i < 300; i++) {
      expect((await h.app.request('/v1/entries', { method: 'POST', body: makeEntry(i) })).status).toBe(200);
    }
    await h.clock.advance(500);
    expect(h.log.size).toBe(299);
    expect(await (await h.app.request('/checkpoint')).text()).toBe(witnessedNote);
    const checked = await checkServedLog((p) => Promise.resolve(h.app.request(p)), TEST_VERIFIER_KEY);
    expect(checked.size).toBe(1);
  });

  it('POST ?wait=witnessed answers with the cosigned checkpoint and an inclusion proof to it', async () => {
    const h = await harness(['a', 'b', 'c'], 2);
    const entry = makeEntry(7);
    const res = await h.request('/v1/entries?wait=witnessed', { method: 'POST', body: entry });
    expect(res.status).toBe(200);
    const r = (await res.json()) as ReceiptJson;
    expect(r).toMatchObject({ index: 0, duplicate: false });
    expect(checkReceipt(r, entry)).toBe(1);
    checkCosigned(r.checkpoint, h.witnesses, 2);

    const entries = Array.from({ length: 40 }, (_, i) => makeEntry(100 + i));
    const batch = await h.request('/v1/entries/batch?wait=witnessed', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ entries: entries.map(b64) }),
    });
    expect(batch.status).toBe(200);
    const { receipts } = (await batch.json()) as { receipts: ReceiptJson[] };
    receipts.forEach((x, i) => {
      expect(checkReceipt(x, entries[i]!)).toBeGreaterThanOrEqual(x.index + 1);
      checkCosigned(x.checkpoint, h.witnesses, 2);
    });
  });

  it('below quorum: /checkpoint stays log-signed, wait=witnessed gives 504 naming the index, a later retry the same index', async () => {
    const h = await harness(['up', 'down'], 2);
    h.witnesses[1]!.mode = 'down';
    await h.request('/v1/entries', { method: 'POST', body: makeEntry(1) });
    const entry = makeEntry(2);
    const res = await h.request('/v1/entries?wait=witnessed', { method: 'POST', body: entry });
    expect(res.status).toBe(504);
    const err = await errorOf(res);
    expect(err.code).toBe('TIMEOUT');
    expect(err.message).toContain('not witnessed within 10000 ms');
    expect(err.message).toContain('the entry IS durably logged at index 1');
    expect(err.message).toContain('retry with the same bytes is safe');
    const cp = await (await h.app.request('/checkpoint')).text();
    expect(cp).toBe(h.log.checkpoint.note);
    expect(parseNote(cp).signatures).toHaveLength(1);
    const info = (await (await h.app.request('/v1/info')).json()) as { witnesses: Array<{ lastError: string }> };
    expect(info.witnesses[1]!.lastError).toContain('connection refused');

    h.witnesses[1]!.mode = 'ok';
    const retry = await h.request('/v1/entries?wait=witnessed', { method: 'POST', body: entry });
    expect(retry.status).toBe(200);
    const r = (await retry.json()) as ReceiptJson;
    expect(r).toMatchObject({ index: 1, duplicate: true });
    checkReceipt(r, entry);
    checkCosigned(r.checkpoint, h.witnesses, 2);
    expect(h.log.size).toBe(2);
  });

  it('does not count a cosignature from a witness whose clock is a day ahead, and says why in /v1/info', async () => {
    // Quorum 2 of a good witness and one a day ahead: its cosignature verifies, but clients
    // reject its timestamp (`candor verify` exits 5), so the log must not count it.
    const { log } = await openTestLog();
    const clock = new FakeClock();
    let offsetMs = 86_400_000;
    const skewed = {
      now: () => clock.now() + offsetMs,
      setTimeout: clock.setTimeout.bind(clock),
      clearTimeout: clock.clearTimeout.bind(clock),
    };
    const good = new FakeWitness('good', 50, TEST_ORIGIN, TEST_VERIFIER_KEY, clock);
    const ahead = new FakeWitness('ahead', 51, TEST_ORIGIN, TEST_VERIFIER_KEY, skewed);
    const witnessing = new Witnessing({
      log,
      witnesses: [good.config, ahead.config],
      quorum: 2,
      fetch: fakeFetch([good, ahead]),
      clock,
      waitTimeoutMs: 10_000,
    });
    witnessing.start();
    const app = createApp({ log, verifierKey: TEST_VERIFIER_KEY, witnessing });
    const request = (path: string, init?: RequestInit): Promise<Response> => requestWhileTicking(app, clock, path, init);
    const entry = makeEntry(5);
    const res = await request('/v1/entries?wait=witnessed', { method: 'POST', body: entry });
    expect(res.status).toBe(504);
    expect((await errorOf(res)).message).toContain('durably logged at index 0');
    // The witness did cosign (it holds size 1), but the log did not count it.
    expect(ahead.size).toBe(1);
    const cp = await (await app.request('/checkpoint')).text();
    expect(cp).toBe(log.checkpoint.note);
    expect(parseNote(cp).signatures).toHaveLength(1);
    expect((await app.request('/v1/checkpoint/witnessed')).status).toBe(404);
    const info = (await (await app.request('/v1/info')).json()) as {
      witnesses: Array<{ name: string; lastCosigned: string | null; lastError: string | null }>;
    };
    expect(info.witnesses[0]).toMatchObject({ name: 'good', lastError: null });
    expect(info.witnesses[1]!.name).toBe('ahead');
    expect(info.witnesses[1]!.lastCosigned).toBeNull();
    const ts = Math.floor((clock.now() + offsetMs) / 1000);
    expect(info.witnesses[1]!.lastError).toMatch(/^cosignature not counted: its timestamp \d+ is in the future/);
    expect(Number(/timestamp (\d+)/.exec(info.witnesses[1]!.lastError!)![1])).toBeGreaterThan(ts - 60);
    expect(info.witnesses[1]!.lastError).toContain("more than 300 s ahead of this log's clock");

    // Clock put right (within the clients' five minutes): counted at the next retry, and the
    // published checkpoint carries both cosignatures.
    offsetMs = 240_000;
    const retry = await request('/v1/entries?wait=witnessed', { method: 'POST', body: entry });
    expect(retry.status).toBe(200);
    const r = (await retry.json()) as ReceiptJson;
    expect(r).toMatchObject({ index: 0, duplicate: true });
    checkCosigned(r.checkpoint, [good, ahead], 2);
    const after = (await (await app.request('/v1/info')).json()) as typeof info;
    expect(after.witnesses[1]!.lastError).toBeNull();
    await witnessing.stop();
  });

  it('answers 400 for a bad wait value, before logging anything', async () => {
    const h = await harness(['a'], 1);
    for (const q of ['wait=bogus', 'wait=', 'wait=WITNESSED', 'wait=durable']) {
      const one = await h.app.request(`/v1/entries?${q}`, { method: 'POST', body: makeEntry(1) });
      expect(one.status, q).toBe(400);
      expect((await errorOf(one)).code).toBe('MALFORMED');
      const batch = await h.app.request(`/v1/entries/batch?${q}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ entries: [b64(makeEntry(2))] }),
      });
      expect(batch.status, q).toBe(400);
    }
    expect(h.log.size).toBe(0);
    const seq = await h.app.request('/v1/entries?wait=sequenced', { method: 'POST', body: makeEntry(1) });
    expect(seq.status).toBe(200);
  });

  it('without witnesses: unchanged /checkpoint, 400 for wait=witnessed, 404 for the witnessed checkpoint', async () => {
    const { log } = await openTestLog();
    const app = createApp({ log, verifierKey: TEST_VERIFIER_KEY });
    const res = await app.request('/v1/entries?wait=witnessed', { method: 'POST', body: makeEntry(1) });
    expect(res.status).toBe(400);
    expect((await errorOf(res)).message).toMatch(/has none configured/);
    expect(log.size).toBe(0);
    await app.request('/v1/entries', { method: 'POST', body: makeEntry(1) });
    expect(await (await app.request('/checkpoint')).text()).toBe(log.checkpoint.note);
    expect((await app.request('/v1/checkpoint/witnessed')).status).toBe(404);
    const info = (await (await app.request('/v1/info')).json()) as Record<string, unknown>;
    expect(info).toMatchObject({ quorum: 0, witnesses: [] });
    expect((await app.request('/v1/checkpoint/witnessed', { method: 'POST' })).status).toBe(405);
  });

  it('a witnessed wait cut short by shutdown answers 503 CLOSED naming the index', async () => {
    const h = await harness(['down'], 1);
    h.witnesses[0]!.mode = 'down';
    const pending = h.app.request('/v1/entries?wait=witnessed', { method: 'POST', body: makeEntry(3) });
    while (h.log.size === 0) await new Promise((r) => setTimeout(r, 2));
    await new Promise((r) => setTimeout(r, 5));
    await h.witnessing.stop();
    const res = await pending;
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBeNull(); // no retry of a closing process succeeds
    const err = await errorOf(res);
    expect(err.code).toBe('CLOSED');
    expect(err.message).toContain('durably logged at index 0');
  });
});

describe('startLog with witnesses', () => {
  let dir: string | undefined;
  afterAll(async () => {
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it('witnesses over real HTTP, and close() stops witnessing before the store', async () => {
    dir = await mkdtemp(join(tmpdir(), 'candor-witnessed-'));
    const origin = 'wit.example/log';
    const base = { dataDir: dir, host: '127.0.0.1', port: 0, origin, batchMax: 64, batchAgeMs: 1, say: () => {} };
    // The log's key is created on first start; the witness needs its vkey, so start once.
    const first = await startLog(base);
    const vkey = first.verifierKey;
    await first.close();
    const witness = new FakeWitness('w', 77, origin, vkey, systemClock);
    const warnings: string[] = [];
    await expect(startLog({ ...base, witnesses: [witness.config], quorum: 2 })).rejects.toThrow(/quorum/);
    const running = await startLog({
      ...base,
      witnesses: [witness.config],
      fetch: fakeFetch([witness]),
      warn: (l) => warnings.push(l),
    });
    expect(running.witnessing?.quorum).toBe(1);
    const entry = new TextEncoder().encode('witnessed over sockets\n');
    const res = await fetch(`${running.url}/v1/entries?wait=witnessed`, { method: 'POST', body: entry });
    expect(res.status).toBe(200);
    const r = (await res.json()) as ReceiptJson;
    expect(openNote(r.checkpoint, [cosignatureV1Verifier(witness.vkey)]).verified).toHaveLength(1);
    const cp = await (await fetch(`${running.url}/checkpoint`)).text();
    expect(openNote(cp, [cosignatureV1Verifier(witness.vkey), ed25519Verifier(vkey)]).verified).toHaveLength(2);
    await running.close();
    expect(warnings).toEqual([]);
  });
});

describe.skipIf(!existsSync(CLI))('candor serve witness flags (built CLI)', () => {
  const candor = (args: string[], env: Record<string, string> = {}): Promise<CliResult> => runCandor(args, env);

  it('rejects bad witness flags with usage and exit code 2', async () => {
    const w = new FakeWitness('w', 5, TEST_ORIGIN, TEST_VERIFIER_KEY, systemClock);
    const spec = `w=${w.vkey}@http://127.0.0.1:9`;
    const cases: Array<[string[], Record<string, string>, RegExp]> = [
      [['--witness', spec, '--quorum', '2'], {}, /--quorum must be 1 to 1/],
      [['--quorum', '1'], {}, /--quorum needs at least one --witness/],
      [[], { CANDOR_QUORUM: '1' }, /--quorum needs at least one --witness/],
      [['--witness', 'nonsense'], {}, /NAME=VKEY@URL/],
      [['--witness', spec, '--witness', spec], {}, /repeated/],
      [['--witness', spec, '--witness-timeout', '0'], {}, /--witness-timeout/],
      [[], { CANDOR_WITNESSES: `${spec},bad` }, /NAME=VKEY@URL/],
    ];
    for (const [args, env, want] of cases) {
      const res = await candor(['serve', '--port', '0', ...args], env);
      expect(res.code, args.join(' ')).toBe(2);
      expect(res.stderr).toMatch(want);
    }
  });

  it('serves a cosigned /checkpoint with a witness from the command line', async () => {
    const data = await mkdtemp(join(tmpdir(), 'candor-witness-cli-'));
    let witness: FakeWitness | undefined;
    const server: Server = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        void (async () => {
          const answer = req.url === '/add-checkpoint' && witness ? witness.handle(body) : new Response('', { status: 404 });
          const headers: Record<string, string> = {};
          answer.headers.forEach((v, k) => (headers[k] = v));
          res.writeHead(answer.status, headers);
          res.end(await answer.text());
        })();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    try {
      const first = await startServerProcess(data, ['--origin', 'cli.example/log']);
      await first.stop();
      witness = new FakeWitness('cli', 6, 'cli.example/log', first.verifierKey, systemClock);
      const serving = await startServerProcess(data, [
        '--witness',
        `cli=${witness.vkey}@http://127.0.0.1:${port}/`,
        '--witness-timeout',
        '15000',
      ]);
      try {
        const res = await fetch(`${serving.url}/v1/entries?wait=witnessed`, { method: 'POST', body: 'cli entry' });
        expect(res.status).toBe(200);
        const cp = await (await fetch(`${serving.url}/checkpoint`)).text();
        expect(openNote(cp, [cosignatureV1Verifier(witness.vkey)]).verified).toHaveLength(1);
        const info = (await (await fetch(`${serving.url}/v1/info`)).json()) as { quorum: number; witnesses: Array<{ size: number }> };
        expect(info.quorum).toBe(1);
        expect(info.witnesses[0]!.size).toBe(1);
        expect(await serving.stop()).toBe(0);
      } finally {
        await serving.kill().catch(() => {});
      }
    } finally {
      server.close();
      await rm(data, { recursive: true, force: true });
    }
  });
});
