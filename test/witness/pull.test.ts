/**
 * Pull mode against in-process candor logs (createApp over a MemoryStore log, served
 * through an injected fetch): consistency proven from the log's own tiles, lying and forked
 * logs raise alerts and get no cosignature, stale copies are ignored, and a dead log or a
 * log without tiles is only inconclusive.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Hono } from 'hono';
import { createApp } from '../../src/server/app.js';
import type { Log } from '../../src/log/log.js';
import { cosignatureV1Verifier } from '../../src/checkpoint/cosignature.js';
import { ed25519Verifier, generateSignerKey, ed25519Signer } from '../../src/note/keys.js';
import { openNote, parseNote, signNote } from '../../src/note/note.js';
import { makeEntry, openTestLog, TEST_ORIGIN, TEST_VERIFIER_KEY } from '../helpers/test-log.js';
import { addBody, openTestWitness, post, routeFetch, tempDir } from './helpers.js';

type W = Awaited<ReturnType<typeof openTestWitness>>;

async function logWith(n: number, tag = 0): Promise<{ log: Log; app: Hono }> {
  const { log } = await openTestLog();
  if (n > 0) await log.addMany(Array.from({ length: n }, (_, i) => makeEntry(i + tag * 1_000_000)));
  return { log, app: createApp({ log, verifierKey: TEST_VERIFIER_KEY }) };
}

describe('pull mode', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let w: W;
  let clock: number;
  const apps: Record<string, Hono | undefined> = {};
  const fetchFn = routeFetch(apps);

  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir());
    clock = 1_700_000_000_000;
    fetchFn.log.length = 0;
    w = await openTestWitness(dir, {
      logs: [{ origin: TEST_ORIGIN, verifierKeys: [TEST_VERIFIER_KEY], url: 'http://log.test' }],
      fetch: fetchFn,
      now: () => clock,
      refreshMs: 60_000,
    });
  });
  afterEach(async () => {
    await w.close();
    await cleanup();
  });
  const pull = (): Promise<string> => w.puller.pullOnce(TEST_ORIGIN);
  const size = (): number | undefined => w.witness.state(TEST_ORIGIN)?.size;

  it('follows a growing log, proving each step from its tiles, and publishes the cosigned checkpoint', async () => {
    const { log, app } = await logWith(0);
    apps['log.test'] = app;
    expect(await pull()).toBe('first'); // the empty tree, trusted on first use
    expect(size()).toBe(0);
    for (const n of [1, 299, 400, 1]) {
      await log.addMany(Array.from({ length: n }, (_, i) => makeEntry(log.size + i)));
      expect(await pull()).toBe('advanced');
      expect(size()).toBe(log.size);
    }
    expect(fetchFn.log.every((r) => r === 'GET log.test/checkpoint' || r.startsWith('GET log.test/tile/'))).toBe(true);
    expect(fetchFn.log.some((r) => r.includes('.p/'))).toBe(true);
    const note = w.witness.state(TEST_ORIGIN)!.note;
    expect(openNote(note, [ed25519Verifier(TEST_VERIFIER_KEY)]).verified).toHaveLength(1);
    expect(openNote(note, [cosignatureV1Verifier(w.verifierKey)]).verified).toHaveLength(1);
    // Unchanged: no new cosignature until refreshMs passed, then a fresh one.
    expect(await pull()).toBe('unchanged');
    clock += 61_000;
    expect(await pull()).toBe('refreshed');
    expect(w.witness.state(TEST_ORIGIN)!.note).not.toBe(note);
    // Push and pull share one state: a log client learns the pulled size.
    const res = await post(w.app, '/add-checkpoint', addBody(0, [], log.checkpoint.note));
    expect(res.status).toBe(409);
    expect(await res.text()).toBe(`${log.size}\n`);
  });

  it('raises an alert and cosigns nothing when the tiles do not match the signed roots (a lying log)', async () => {
    const { log, app } = await logWith(5);
    apps['log.test'] = app;
    expect(await pull()).toBe('first');
    await log.addMany(Array.from({ length: 300 }, (_, i) => makeEntry(100 + i)));
    const liar = createLiar(app);
    apps['log.test'] = liar;
    expect(await pull()).toBe('alert');
    expect(size()).toBe(5);
    const [alert] = w.witness.alerts();
    expect(alert).toMatchObject({ origin: TEST_ORIGIN, kind: 'inconsistent', source: 'pull', cleared: null });
    expect(alert!.detail).toMatch(/do not even match the log's signed root of size 305/);
    expect(alert!.evidence).toEqual([w.witness.state(TEST_ORIGIN)!.note, log.checkpoint.note]);
    expect(w.warnings.filter((l) => l.startsWith('ALERT inconsistent'))).toHaveLength(1);
    expect(await pull()).toBe('halted');
    const status = (await (await w.app.request('/v1/status')).json()) as { logs: Array<Record<string, unknown>> };
    expect(status.logs[0]).toMatchObject({ origin: TEST_ORIGIN, size: 5, halted: true, alerts: 1 });
  });

  it('raises an alert when the log rewrote its tree (a fork served with genuine tiles)', async () => {
    apps['log.test'] = (await logWith(5)).app;
    expect(await pull()).toBe('first');
    apps['log.test'] = (await logWith(300, 1)).app;
    expect(await pull()).toBe('alert');
    expect(w.witness.alerts()[0]!.detail).toMatch(/match the root of size 300, so the first 5 entries differ/);
    expect(size()).toBe(5);
  });

  it('raises a conflicting-root alert for the same size with another root', async () => {
    apps['log.test'] = (await logWith(5)).app;
    expect(await pull()).toBe('first');
    apps['log.test'] = (await logWith(5, 2)).app;
    expect(await pull()).toBe('alert');
    expect(w.witness.alerts()[0]).toMatchObject({ kind: 'conflicting-root', source: 'pull' });
  });

  it('ignores a stale checkpoint (in the history, or proven from tiles) but alerts on a conflicting one', async () => {
    const { log, app } = await logWith(3);
    apps['log.test'] = app;
    expect(await pull()).toBe('first');
    const at3 = log.checkpoint.note;
    await log.addMany([makeEntry(10), makeEntry(11)]);
    const at5 = log.checkpoint.note;
    await log.addMany([makeEntry(12), makeEntry(13), makeEntry(14)]);
    expect(await pull()).toBe('advanced');
    let served = at3;
    apps['log.test'] = withCheckpoint(app, () => served);
    expect(await pull()).toBe('stale'); // cosigned before: in the history
    served = at5;
    expect(await pull()).toBe('stale'); // never cosigned: proven from the tiles of size 8
    served = (await logWith(3, 3)).log.checkpoint.note;
    expect(await pull()).toBe('alert');
    expect(w.witness.alerts()[0]).toMatchObject({ kind: 'conflicting-root' });
    expect(size()).toBe(8);
  });

  it('treats a dead log, missing tiles and a badly signed checkpoint as inconclusive, warning once', async () => {
    apps['log.test'] = undefined;
    expect(await pull()).toBe('inconclusive');
    expect(await pull()).toBe('inconclusive');
    expect(w.warnings).toHaveLength(1);
    const { log, app } = await logWith(5);
    apps['log.test'] = app;
    expect(await pull()).toBe('first');
    await log.addMany([makeEntry(50)]);
    apps['log.test'] = noTiles(app);
    expect(await pull()).toBe('inconclusive');
    expect(await pull()).toBe('inconclusive');
    expect(w.warnings).toHaveLength(2); // once per problem, not once per poll
    const stranger = ed25519Signer(generateSignerKey(TEST_ORIGIN).signerKey);
    apps['log.test'] = withCheckpoint(app, () => signNote(parseNote(log.checkpoint.note).text, [stranger]));
    expect(await pull()).toBe('inconclusive');
    expect(w.witness.alerts()).toEqual([]);
    expect(size()).toBe(5);
    apps['log.test'] = app;
    expect(await pull()).toBe('advanced');
  });
});

/** Serves the app, but flips a bit in every hash tile. */
function createLiar(app: Hono): Hono {
  return wrap(app, async (path, real) => {
    if (!path.startsWith('/tile/')) return real();
    const res = await real();
    const body = new Uint8Array(await res.arrayBuffer());
    if (body.length > 0) body[0]! ^= 1;
    return new Response(body, { status: res.status });
  });
}

function noTiles(app: Hono): Hono {
  return wrap(app, async (path, real) => (path.startsWith('/tile/') ? new Response('no', { status: 404 }) : real()));
}

function withCheckpoint(app: Hono, note: () => string): Hono {
  return wrap(app, async (path, real) => (path === '/checkpoint' ? new Response(note()) : real()));
}

function wrap(app: Hono, handle: (path: string, real: () => Promise<Response>) => Promise<Response>): Hono {
  return {
    request: (input: string, init?: RequestInit) =>
      handle(new URL(input, 'http://x').pathname, async () => app.request(input, init)),
  } as unknown as Hono;
}
