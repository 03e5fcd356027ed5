/**
 * Gossip between two in-process witnesses in front of in-process candor logs: agreeing
 * witnesses stay quiet; a split view (the same log key signing two trees, one shown to each
 * witness) makes both raise an alert holding both notes and halt until an operator clears it
 * with the admin token; a check the log's tiles cannot settle yet is inconclusive.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Hono } from 'hono';
import { createApp } from '../../src/server/app.js';
import type { Log } from '../../src/log/log.js';
import { formatCosignerVerifierKey } from '../../src/checkpoint/cosignature.js';
import { ed25519PublicKey } from '../../src/note/ed25519.js';
import type { KnownPeer } from '../../src/witness/config.js';
import { makeEntry, openTestLog, TEST_ORIGIN, TEST_VERIFIER_KEY } from '../helpers/test-log.js';
import { addBody, openTestWitness, post, routeFetch, tempDir, writeWitnessKey } from './helpers.js';

type W = Awaited<ReturnType<typeof openTestWitness>>;
const seed = (n: number): Uint8Array => new Uint8Array(32).fill(n);
const VKEY1 = formatCosignerVerifierKey('w1.example', ed25519PublicKey(seed(1)));
const VKEY2 = formatCosignerVerifierKey('w2.example', ed25519PublicKey(seed(2)));

async function logWith(n: number, tag: number): Promise<{ log: Log; app: Hono }> {
  const { log } = await openTestLog();
  await grow(log, n, tag);
  return { log, app: createApp({ log, verifierKey: TEST_VERIFIER_KEY }) };
}

async function grow(log: Log, n: number, tag: number): Promise<void> {
  if (n > 0) await log.addMany(Array.from({ length: n }, (_, i) => makeEntry(log.size + i + tag * 1_000_000)));
}

describe('gossip between witnesses', () => {
  const apps: Record<string, Hono | undefined> = {};
  const fetchFn = routeFetch(apps);
  const cleanups: Array<() => Promise<void>> = [];
  let w1: W;
  let w2: W;

  async function start(logUrl1: string, logUrl2: string): Promise<void> {
    const make = async (name: string, n: number, logUrl: string, peer: string, peerUrl: string): Promise<W> => {
      const { dir, cleanup } = await tempDir();
      await writeWitnessKey(dir, name, seed(n));
      const w = await openTestWitness(dir, {
        name,
        logs: [{ origin: TEST_ORIGIN, verifierKeys: [TEST_VERIFIER_KEY], url: logUrl }],
        peers: [{ verifierKey: peer, url: peerUrl }],
        fetch: fetchFn,
      });
      cleanups.push(async () => {
        await w.close();
        await cleanup();
      });
      return w;
    };
    w1 = await make('w1.example', 1, logUrl1, VKEY2, 'http://w2.test');
    w2 = await make('w2.example', 2, logUrl2, VKEY1, 'http://w1.test');
    apps['w1.test'] = w1.app;
    apps['w2.test'] = w2.app;
  }
  beforeEach(() => {
    for (const k of Object.keys(apps)) delete apps[k];
  });
  afterEach(async () => {
    for (const c of cleanups.splice(0)) await c();
  });

  it('agreeing witnesses raise nothing, and a witness behind catches up by pulling', async () => {
    const a = await logWith(10, 0);
    apps['log-a.test'] = a.app;
    await start('http://log-a.test', 'http://log-a.test');
    expect(await w1.puller.pullOnce(TEST_ORIGIN)).toBe('first');
    expect(await w2.puller.pullOnce(TEST_ORIGIN)).toBe('first');
    await w1.gossip.gossipOnce();
    await w2.gossip.gossipOnce();
    await grow(a.log, 290, 0);
    expect(await w2.puller.pullOnce(TEST_ORIGIN)).toBe('advanced');
    expect(await w1.gossip.fetchFromPeer(onlyPeer(w1), TEST_ORIGIN)).toBe('consistent');
    expect(w1.witness.state(TEST_ORIGIN)?.size).toBe(300); // pulled the log to compare
    await grow(a.log, 5, 0);
    expect(await w1.puller.pullOnce(TEST_ORIGIN)).toBe('advanced');
    await w1.gossip.gossipOnce(); // w2 (300) checks w1's 305 the other way round
    expect(w2.witness.state(TEST_ORIGIN)?.size).toBe(305);
    expect([...w1.witness.alerts(), ...w2.witness.alerts()]).toEqual([]);
    expect(w1.warnings.concat(w2.warnings)).toEqual([]);
  });

  it('a split view at the same size: both alert with both notes, halt, and need the token to clear', async () => {
    apps['log-a.test'] = (await logWith(10, 0)).app;
    apps['log-b.test'] = (await logWith(10, 1)).app;
    await start('http://log-a.test', 'http://log-b.test');
    await w1.puller.pullOnce(TEST_ORIGIN);
    await w2.puller.pullOnce(TEST_ORIGIN);
    const note1 = w1.witness.state(TEST_ORIGIN)!.note;
    const note2 = w2.witness.state(TEST_ORIGIN)!.note;
    await w1.gossip.gossipOnce(); // w1 fetches w2's view, then pushes its own to w2
    for (const w of [w1, w2]) {
      const alerts = (await (await w.app.request('/v1/alerts')).json()) as Array<Record<string, unknown>>;
      expect(alerts).toHaveLength(1);
      expect(alerts[0]).toMatchObject({ origin: TEST_ORIGIN, kind: 'conflicting-root', cleared: null });
      expect(new Set(alerts[0]!.evidence as string[])).toEqual(new Set([note1, note2]));
      expect(w.witness.isHalted(TEST_ORIGIN)).toBe(true);
      expect(await w.puller.pullOnce(TEST_ORIGIN)).toBe('halted');
      expect(w.warnings.filter((l) => l.startsWith('ALERT conflicting-root'))).toHaveLength(1);
    }
    expect(w1.witness.alerts()[0]!.id).toBe(w2.witness.alerts()[0]!.id); // same evidence, same id
    const res = await post(w1.app, '/add-checkpoint', addBody(10, [], note1));
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('HALTED');

    const clear = (token?: string, origin = TEST_ORIGIN): Promise<Response> =>
      post(w1.app, '/v1/alerts/clear', JSON.stringify({ origin, extra: 'ignored' }), token === undefined ? {} : { Authorization: `Bearer ${token}` });
    expect((await clear()).status).toBe(401);
    expect((await clear('0'.repeat(64))).status).toBe(401);
    expect((await clear(w1.adminToken, 'nobody.example/log')).status).toBe(404);
    expect((await post(w1.app, '/v1/alerts/clear', '{', { Authorization: `Bearer ${w1.adminToken}` })).status).toBe(400);
    const ok = await clear(w1.adminToken);
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ origin: TEST_ORIGIN, cleared: 1, halted: false });
    expect(w1.witness.isHalted(TEST_ORIGIN)).toBe(false);
    expect(w2.witness.isHalted(TEST_ORIGIN)).toBe(true);
    // The same evidence does not fire twice.
    await w1.gossip.gossipOnce();
    expect(w1.witness.isHalted(TEST_ORIGIN)).toBe(false);
    expect(w1.witness.alerts()).toHaveLength(1);
  });

  it('a split view at different sizes: inconclusive until the tiles can decide, then alerts', async () => {
    const a = await logWith(5, 0);
    apps['log-a.test'] = a.app;
    apps['log-b.test'] = (await logWith(8, 1)).app;
    await start('http://log-a.test', 'http://log-b.test');
    await w1.puller.pullOnce(TEST_ORIGIN);
    await w2.puller.pullOnce(TEST_ORIGIN);
    // w1 holds A5; B8 is larger and log A cannot serve tiles for size 8 yet.
    expect(await w1.gossip.fetchFromPeer(onlyPeer(w1), TEST_ORIGIN)).toBe('inconclusive');
    expect(w1.witness.alerts()).toEqual([]);
    // w2 holds B8; A5 is smaller, and B's tiles of size 8 do not contain it.
    await w1.gossip.pushToPeer(onlyPeer(w1), TEST_ORIGIN);
    expect(w2.witness.alerts()).toHaveLength(1);
    expect(w2.witness.alerts()[0]).toMatchObject({ kind: 'inconsistent', source: 'gossip from w1.example' });
    expect(w2.witness.alerts()[0]!.detail).toMatch(/first 5 entries differ/);
    // Log A grows to 8: now w1 can decide too.
    await grow(a.log, 3, 0);
    expect(await w1.gossip.fetchFromPeer(onlyPeer(w1), TEST_ORIGIN)).toBe('alert');
    expect(w1.witness.state(TEST_ORIGIN)?.size).toBe(8);
    expect(w1.witness.alerts()[0]).toMatchObject({ kind: 'conflicting-root' });
  });

  it('POST /v1/gossip accepts only log-signed checkpoints cosigned by a configured peer', async () => {
    const a = await logWith(4, 0);
    apps['log-a.test'] = a.app;
    await start('http://log-a.test', 'http://log-a.test');
    await w1.puller.pullOnce(TEST_ORIGIN);
    const gossip = (body: string): Promise<Response> => post(w2.app, '/v1/gossip', body);
    const cosigned = w1.witness.state(TEST_ORIGIN)!.note;
    const ok = await gossip(cosigned);
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ result: 'consistent', peer: 'w1.example' });
    expect((await gossip(a.log.checkpoint.note)).status).toBe(403); // no peer cosignature
    expect((await gossip(cosigned.replace(/— w1\.example (\S+)\n$/, (_m, s: string) => `— w1.example ${s.slice(0, -8)}AAAAAAA=\n`))).status).toBe(403);
    expect((await gossip('not a note')).status).toBe(400);
    expect((await gossip(cosigned.replace(TEST_ORIGIN, 'other.example/log'))).status).toBe(404);
    // w1 does not list itself as a peer: its own cosignature is not enough.
    expect((await post(w1.app, '/v1/gossip', w1.witness.state(TEST_ORIGIN)!.note)).status).toBe(403);
  });

  it('survives dead peers and a dead log, warning once per peer', async () => {
    apps['log-a.test'] = (await logWith(4, 0)).app;
    await start('http://log-a.test', 'http://log-a.test');
    await w1.puller.pullOnce(TEST_ORIGIN);
    apps['w2.test'] = undefined;
    apps['log-a.test'] = undefined;
    await w1.gossip.gossipOnce();
    await w1.gossip.gossipOnce();
    expect(w1.warnings).toHaveLength(1);
    expect(w1.warnings[0]).toMatch(/gossip with w2\.example/);
    expect(w1.witness.alerts()).toEqual([]);
  });
});

function onlyPeer(w: W): KnownPeer {
  return w.gossip.peers[0]!;
}
