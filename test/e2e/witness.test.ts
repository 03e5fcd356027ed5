/**
 * A log and its witnesses as real processes on 127.0.0.1: normal operation, restarts and
 * kills, a rolled-back log, a rewritten log and a split view. What a witness network is
 * for: no operator can rewrite or fork the log without the witnesses noticing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import {
  freePort,
  makeWitnessIdentity,
  startWitnessProcess,
  type WitnessIdentity,
  type WitnessProcess,
} from '../helpers/witness-process.js';
import { generateSignerKey } from '../../src/note/keys.js';
import { ed25519Verifier } from '../../src/note/keys.js';
import { openNote } from '../../src/note/note.js';
import { parseCheckpoint } from '../../src/checkpoint/checkpoint.js';
import { cosignatureV1Verifier } from '../../src/checkpoint/cosignature.js';
import { verifyInclusion } from '../../src/merkle/verify.js';
import { leafHash } from '../../src/merkle/hash.js';

const POLL = '300';
const GOSSIP = '300';

interface Alert {
  origin: string;
  kind: string;
  evidence: string[];
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 15_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function json<T>(url: string): Promise<T> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`GET ${url}: ${res.status}`);
  return (await res.json()) as T;
}

/** Names of the witnesses whose cosignatures on `note` verify (the log's signature must too). */
function cosigners(note: string, logVkey: string, witnesses: WitnessIdentity[]): string[] {
  const opened = openNote(note, [ed25519Verifier(logVkey), ...witnesses.map((w) => cosignatureV1Verifier(w.vkey))]);
  return opened.verified.map((s) => s.name).filter((n) => witnesses.some((w) => w.name === n));
}

interface Deployment {
  origin: string;
  logVkey: string;
  keyFile: string;
}

async function makeLogKey(root: string, origin: string): Promise<Deployment> {
  const { signerKey, verifierKey } = generateSignerKey(origin);
  const keyFile = join(root, `${origin.replace(/\W/g, '_')}.key`);
  await writeFile(keyFile, signerKey + '\n', { mode: 0o600 });
  return { origin, logVkey: verifierKey, keyFile };
}

function witnessArgs(d: Deployment, logUrl: string, peers: WitnessIdentity[]): string[] {
  return [
    '--log', `${d.origin}=${d.logVkey}@${logUrl}`,
    ...peers.flatMap((p) => ['--peer', `${p.vkey}@${p.url}`]),
    '--poll', POLL, '--gossip', GOSSIP,
  ];
}

function logArgs(d: Deployment, port: number, witnesses: WitnessIdentity[], quorum: number, extra: string[] = []): string[] {
  return [
    '--origin', d.origin, '--key', d.keyFile, '--port', String(port),
    ...witnesses.flatMap((w) => ['--witness', `${w.name}=${w.vkey}@${w.url}`]),
    '--quorum', String(quorum), ...extra,
  ];
}

async function submitWitnessed(url: string, body: string): Promise<{ index: number; checkpoint: string; inclusionProof: string[] }> {
  const res = await fetch(`${url}/v1/entries?wait=witnessed`, { method: 'POST', body });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`POST wait=witnessed: ${res.status} ${text}`);
  return JSON.parse(text) as { index: number; checkpoint: string; inclusionProof: string[] };
}

async function alertsFor(w: WitnessIdentity, origin: string): Promise<Alert[]> {
  const all = await json<Alert[]>(`${w.url}/v1/alerts`);
  return all.filter((a) => a.origin === origin);
}

describe('a log and three witnesses', () => {
  let root: string;
  let d: Deployment;
  let logPort: number;
  let logUrl: string;
  let ids: WitnessIdentity[];
  const witnesses: (WitnessProcess | undefined)[] = [];
  let log: ServerProcess | undefined;
  let earlyCheckpoint = '';
  const stopAll = async (): Promise<void> => {
    await log?.kill().catch(() => undefined);
    for (const w of witnesses) await w?.kill().catch(() => undefined);
  };

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'candor-witness-e2e-'));
    d = await makeLogKey(root, 'witnessed.example/log');
    logPort = await freePort();
    logUrl = `http://127.0.0.1:${logPort}`;
    ids = await Promise.all(['w1', 'w2', 'w3'].map((n) => makeWitnessIdentity(root, `${n}.example/witness`)));
    for (const [i, id] of ids.entries()) {
      witnesses[i] = await startWitnessProcess(id, witnessArgs(d, logUrl, ids.filter((p) => p !== id)));
    }
    log = await startServerProcess(join(root, 'log'), logArgs(d, logPort, ids, 2));
  }, 60_000);

  afterAll(async () => {
    await stopAll();
    await rm(root, { recursive: true, force: true });
  });

  it('normal operation: witnessed receipts and /checkpoint carry a quorum of valid cosignatures', async () => {
    for (let i = 0; i < 12; i++) {
      const body = `model fraud-v${i} deployed to prod`;
      const r = await submitWitnessed(logUrl, body);
      expect(cosigners(r.checkpoint, d.logVkey, ids).length).toBeGreaterThanOrEqual(2);
      const cp = parseCheckpoint(openNote(r.checkpoint, [ed25519Verifier(d.logVkey)]).text);
      const proof = r.inclusionProof.map((h) => new Uint8Array(Buffer.from(h, 'base64')));
      expect(verifyInclusion(leafHash(new TextEncoder().encode(body)), r.index, cp.size, proof, cp.rootHash)).toBe(true);
      if (i === 3) earlyCheckpoint = (await (await fetch(`${logUrl}/checkpoint`)).text());
    }
    const served = await (await fetch(`${logUrl}/checkpoint`)).text();
    expect(cosigners(served, d.logVkey, ids).length).toBeGreaterThanOrEqual(2);
    // Every witness catches up to the log, by push or by pull, and agrees on the root.
    const info = await json<{ size: number; rootHash: string }>(`${logUrl}/v1/info`);
    for (const id of ids) {
      await until(`${id.name} at size ${info.size}`, async () => {
        const st = await json<{ logs: { origin: string; size: number; rootHash: string }[] }>(`${id.url}/v1/status`);
        const mine = st.logs.find((l) => l.origin === d.origin);
        return mine?.size === info.size ? mine : undefined;
      }).then((mine) => expect(mine.rootHash).toBe(info.rootHash));
      expect(await alertsFor(id, d.origin)).toEqual([]);
    }
  });

  it('a witness killed mid-update restarts with its state and never rolls back', async () => {
    const w3 = ids[2]!;
    // The highest checkpoint w3 answered 200 for: it promised to have persisted it.
    let highest = 0;
    let known = 0;
    const pushToW3 = async (): Promise<void> => {
      const note = await (await fetch(`${logUrl}/checkpoint`)).text();
      const logOnly = note.split('\n').filter((l) => !l.startsWith('— ') || l.startsWith(`— ${d.origin} `)).join('\n');
      const size = parseCheckpoint(openNote(logOnly, [ed25519Verifier(d.logVkey)]).text).size;
      let proof: string[] = [];
      if (known > 0 && known < size) {
        proof = ((await json<{ hashes: string[] }>(`${logUrl}/v1/proof/consistency?from=${known}&to=${size}`)).hashes);
      }
      const body = `old ${known}\n${proof.map((h) => h + '\n').join('')}\n${logOnly}`;
      const res = await fetch(`${w3.url}/add-checkpoint`, { method: 'POST', body, signal: AbortSignal.timeout(3000) });
      if (res.status === 409 && res.headers.get('content-type') === 'text/x.tlog.size') {
        known = Number((await res.text()).trim());
      } else if (res.status === 200) {
        highest = Math.max(highest, size);
        known = size;
      }
    };
    for (let round = 0; round < 3; round++) {
      let stop = false;
      const writer = (async () => {
        for (let i = 0; !stop; i++) {
          await fetch(`${logUrl}/v1/entries`, { method: 'POST', body: `round ${round} entry ${i}` });
        }
      })();
      const pusher = (async () => {
        while (!stop) await pushToW3().catch(() => undefined);
      })();
      await new Promise((r) => setTimeout(r, 300 + round * 200));
      await witnesses[2]!.kill(); // in the middle of add-checkpoint requests
      stop = true;
      await Promise.all([writer, pusher]);
      witnesses[2] = await startWitnessProcess(w3, witnessArgs(d, logUrl, ids.filter((p) => p !== w3)));
      const st = await json<{ logs: { origin: string; size: number }[] }>(`${w3.url}/v1/status`);
      expect(highest).toBeGreaterThan(0);
      expect(st.logs.find((l) => l.origin === d.origin)!.size).toBeGreaterThanOrEqual(highest);
    }
    // And with w3 back, the log is witnessed as before.
    const r = await submitWitnessed(logUrl, 'after the restarts');
    expect(cosigners(r.checkpoint, d.logVkey, ids).length).toBeGreaterThanOrEqual(2);
  });

  it('rollback: a log serving an older checkpoint gets no cosignature', async () => {
    const w1 = ids[0]!;
    const sizeAt = async (url: string): Promise<number> =>
      (await json<{ logs: { origin: string; size: number }[] }>(`${url}/v1/status`)).logs.find((l) => l.origin === d.origin)!.size;
    // Each witness's own position: they need not agree with each other (one may lag a
    // round behind), but none may fall back from where it was.
    const sizesBefore = await Promise.all(ids.map((id) => sizeAt(id.url)));
    const state = { size: sizesBefore[0]! };
    const old = parseCheckpoint(openNote(earlyCheckpoint, [ed25519Verifier(d.logVkey)]).text);
    expect(old.size).toBeLessThan(state.size);
    const logOnly = earlyCheckpoint.split('\n').filter((l) => !l.startsWith('— ') || l.startsWith(`— ${d.origin} `)).join('\n');
    // Pushed directly, claiming the witness's own size or the old one: refused either way.
    for (const oldSize of [state.size, old.size, 0]) {
      const res = await fetch(`${w1.url}/add-checkpoint`, { method: 'POST', body: `old ${oldSize}\n\n${logOnly}` });
      expect([400, 409]).toContain(res.status);
    }
    // Served by a log rolled back to that checkpoint (a stand-in on the log's address).
    await log!.stop();
    const stale: Server = createServer((req, res) => {
      if (req.url === '/checkpoint') res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' }).end(logOnly);
      else res.writeHead(404).end();
    });
    await new Promise<void>((r) => stale.listen(logPort, '127.0.0.1', () => r()));
    await new Promise((r) => setTimeout(r, 1500)); // several poll periods
    await new Promise<void>((r) => stale.close(() => r()));
    for (const [i, id] of ids.entries()) expect(await sizeAt(id.url)).toBeGreaterThanOrEqual(sizesBefore[i]!);
    // And what w1 publishes is still its own newest checkpoint, not the stale one.
    expect(
      (await (await fetch(`${w1.url}/${Buffer.from(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(d.origin))).toString('hex')}/checkpoint`)).text())
    ).toContain(`\n${await sizeAt(w1.url)}\n`);
    log = await startServerProcess(join(root, 'log'), logArgs(d, logPort, ids, 2));
  });

  it('rewrite: wiping the log and starting again with the same key gets no cosignature, and every witness alerts', async () => {
    let sizeBefore = 0;
    for (const id of ids) {
      const st = await json<{ logs: { origin: string; size: number }[] }>(`${id.url}/v1/status`);
      sizeBefore = Math.max(sizeBefore, st.logs.find((l) => l.origin === d.origin)!.size);
    }
    await log!.stop();
    await rm(join(root, 'log'), { recursive: true, force: true });
    log = await startServerProcess(join(root, 'log'), logArgs(d, logPort, ids, 2, ['--witness-timeout', '2000']));
    // A different history, longer than what the witnesses have cosigned.
    const entries = Array.from({ length: sizeBefore + 5 }, (_, i) => Buffer.from(`rewritten history ${i}`).toString('base64'));
    const res = await fetch(`${logUrl}/v1/entries/batch`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ entries }) });
    expect(res.status).toBe(200);
    await Promise.all(
      ids.map(async (id) => {
        const alerts = await until(`${id.name} to alert`, async () => {
          const a = await alertsFor(id, d.origin);
          return a.length > 0 ? a : undefined;
        }).catch(async (e: Error) => {
          const status = await (await fetch(`${id.url}/v1/status`)).text();
          throw new Error(`${e.message}; witness status: ${status}; log: ${await (await fetch(`${logUrl}/v1/info`)).text()}`);
        });
        expect(alerts[0]!.evidence).toHaveLength(2);
        for (const note of alerts[0]!.evidence) openNote(note, [ed25519Verifier(d.logVkey)]); // both log-signed
      })
    );
    const late = await fetch(`${logUrl}/v1/entries?wait=witnessed`, { method: 'POST', body: 'after the rewrite' });
    expect(late.status).toBe(504);
    expect(((await late.json()) as { error: { code: string } }).error.code).toBe('TIMEOUT');
    const served = await (await fetch(`${logUrl}/checkpoint`)).text();
    expect(cosigners(served, d.logVkey, ids)).toEqual([]);
  }, 60_000);
});

describe('split view', () => {
  let root: string;
  const procs: { kill(): Promise<void> }[] = [];
  afterAll(async () => {
    for (const p of procs) await p.kill().catch(() => undefined);
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('two logs with one key showing different histories are caught by gossip, and every witness holds the evidence', async () => {
    root = await mkdtemp(join(tmpdir(), 'candor-split-'));
    const d = await makeLogKey(root, 'forked.example/log');
    const [portA, portB] = [await freePort(), await freePort()];
    const [urlA, urlB] = [`http://127.0.0.1:${portA}`, `http://127.0.0.1:${portB}`];
    const ids = await Promise.all(['s1', 's2', 's3'].map((n) => makeWitnessIdentity(root, `${n}.example/witness`)));
    // s1 and s2 see history A, s3 sees history B.
    const watches = [urlA, urlA, urlB];
    for (const [i, id] of ids.entries()) {
      procs.push(await startWitnessProcess(id, witnessArgs(d, watches[i]!, ids.filter((p) => p !== id))));
    }
    const logA = await startServerProcess(join(root, 'a'), logArgs(d, portA, ids.slice(0, 2), 1));
    const logB = await startServerProcess(join(root, 'b'), logArgs(d, portB, ids.slice(2), 1));
    procs.push(logA, logB);
    // Each log takes its own five entries at once: two trees of the same size.
    const batch = (tag: string): RequestInit => ({
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ entries: [0, 1, 2, 3, 4].map((i) => Buffer.from(`history ${tag} entry ${i}`).toString('base64')) }),
    });
    expect((await fetch(`${urlA}/v1/entries/batch`, batch('A'))).status).toBe(200);
    expect((await fetch(`${urlB}/v1/entries/batch`, batch('B'))).status).toBe(200);
    const started = Date.now();
    for (const id of ids) {
      const alerts = await until(`${id.name} to hold split-view evidence`, async () => {
        const a = await alertsFor(id, d.origin);
        return a.length > 0 ? a : undefined;
      }, 20_000);
      const notes = alerts[0]!.evidence.map((n) => parseCheckpoint(openNote(n, [ed25519Verifier(d.logVkey)]).text));
      expect(notes).toHaveLength(2);
      expect(Buffer.from(notes[0]!.rootHash).equals(Buffer.from(notes[1]!.rootHash))).toBe(false);
    }
    expect(Date.now() - started).toBeLessThan(20_000);
  }, 90_000);
});
