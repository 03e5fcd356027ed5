/**
 * The witness as a daemon over real HTTP on 127.0.0.1: start-up lines, key and token files,
 * polling a real (in-process) log server, restart with its state, and the CLI's
 * `clear-alert` both offline and against a running witness.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { stat, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { createApp } from '../../src/server/app.js';
import type { Log } from '../../src/log/log.js';
import { startWitness, type RunningWitness } from '../../src/witness/main.js';
import { originHash } from '../../src/witness/witness-store.js';
import { witnessCommand } from '../../src/cli/witness.js';
import { makeEntry, openTestLog, TEST_ORIGIN, TEST_VERIFIER_KEY } from '../helpers/test-log.js';
import { LEAVES_8, LOG_ORIGIN, LOG_VKEY, TestTree, addBody, openTestWitness, post, tempDir } from './helpers.js';

async function until(cond: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('witness daemon', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  const stops: Array<() => Promise<void>> = [];
  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir());
    vi.spyOn(console, 'log').mockImplementation(() => {});
    vi.spyOn(console, 'error').mockImplementation(() => {});
  });
  afterEach(async () => {
    for (const s of stops.splice(0).reverse()) await s();
    vi.restoreAllMocks();
    await cleanup();
  });

  async function serveLog(): Promise<{ log: Log; url: string }> {
    const { log } = await openTestLog();
    const app = createApp({ log, verifierKey: TEST_VERIFIER_KEY });
    const server = await new Promise<ServerType>((resolve) => {
      const s = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, () => resolve(s));
    });
    stops.push(() => new Promise<void>((r) => server.close(() => r())));
    return { log, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
  }

  async function start(logUrl: string, name = 'w1.example'): Promise<{ w: RunningWitness; lines: string[] }> {
    const lines: string[] = [];
    const w = await startWitness({
      dataDir: dir,
      name,
      logs: [{ origin: TEST_ORIGIN, verifierKeys: [TEST_VERIFIER_KEY], url: logUrl }],
      pollMs: 20,
      say: (l) => lines.push(l),
      warn: () => {},
    });
    stops.push(() => w.close());
    return { w, lines };
  }

  it('prints its key and URL, keeps 0600 secrets, follows a log over HTTP, and restarts with its state', async () => {
    const { log, url: logUrl } = await serveLog();
    await log.addMany([makeEntry(1), makeEntry(2)]);
    const { w, lines } = await start(logUrl);
    expect(lines[0]).toMatch(/^created witness key .*witness\.key \(mode 0600\)/);
    expect(lines.slice(1)).toEqual([`witness verifier key: ${w.verifierKey}`, `candor witness "w1.example" serving on ${w.url}`]);
    expect(w.verifierKey).toMatch(/^w1\.example\+[0-9a-f]{8}\+B/);
    expect(w.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    for (const f of ['witness.key', 'admin.token']) expect((await stat(join(dir, f))).mode % 0o1000).toBe(0o600);
    expect((await readFile(join(dir, 'witness.url'), 'utf8')).trim()).toBe(w.url);

    const status = async (): Promise<{ logs: Array<{ size: number | null }> }> => (await fetch(`${w.url}/v1/status`)).json() as never;
    await until(async () => (await status()).logs[0]!.size === 2, 'the first pull');
    await log.addMany(Array.from({ length: 300 }, (_, i) => makeEntry(10 + i)));
    await until(async () => (await status()).logs[0]!.size === 302, 'pulling 302');
    const res = await fetch(`${w.url}/add-checkpoint`, { method: 'POST', body: addBody(0, [], log.checkpoint.note) });
    expect(res.status).toBe(409);
    expect(await res.text()).toBe('302\n');
    const published = await (await fetch(`${w.url}/${originHash(TEST_ORIGIN)}/checkpoint`)).text();
    expect(published.startsWith(log.checkpoint.note.slice(0, log.checkpoint.note.lastIndexOf('\n\n')))).toBe(true);

    await w.close();
    const again = await start(logUrl);
    expect(again.w.verifierKey).toBe(w.verifierKey);
    expect(again.lines[0]).toBe(`witness verifier key: ${w.verifierKey}`);
    expect(again.w.witness.state(TEST_ORIGIN)?.size).toBe(302);
    await expect(startWitness({ dataDir: dir, name: 'w2.example', logs: [{ origin: TEST_ORIGIN, verifierKeys: [TEST_VERIFIER_KEY] }] })).rejects.toThrow(
      /key of witness "w1.example"/
    );
    await expect(start(logUrl)).rejects.toThrow(/locked/);
  });

  it('keeps running when its log is down', async () => {
    const { w } = await start('http://127.0.0.1:9'); // nothing listens on the discard port
    await new Promise((r) => setTimeout(r, 100));
    expect((await fetch(`${w.url}/healthz`)).status).toBe(200);
  });

  it('candor witness: usage errors exit 2', async () => {
    expect(await witnessCommand(['--name', 'w'])).toBe(2);
    expect(await witnessCommand(['--data', dir, '--name', 'w'])).toBe(2);
    expect(await witnessCommand(['--data', dir, '--name', 'w', '--log', 'nonsense'])).toBe(2);
    expect(await witnessCommand(['--data', dir, '--name', 'w', '--log', `${LOG_ORIGIN}=${LOG_VKEY}`, '--port', '70000'])).toBe(2);
    expect(await witnessCommand(['--data', dir, '--bogus'])).toBe(2);
    expect(await witnessCommand(['clear-alert', '--data', dir])).toBe(2);
    expect(await witnessCommand(['--help'])).toBe(0);
  });

  it('candor witness clear-alert: offline on the data directory, or over HTTP to the running witness', async () => {
    const tree = new TestTree().add(...LEAVES_8);
    const fork = new TestTree().grow(6, 'fork');
    let w = await openTestWitness(dir);
    await post(w.app, '/add-checkpoint', addBody(0, [], tree.checkpoint(6)));
    expect((await post(w.app, '/add-checkpoint', addBody(6, [], fork.checkpoint(6)))).status).toBe(409);
    expect(w.witness.isHalted(LOG_ORIGIN)).toBe(true);
    await w.close();
    expect(await witnessCommand(['clear-alert', '--data', dir, '--origin', LOG_ORIGIN])).toBe(0);
    w = await openTestWitness(dir);
    expect(w.witness.isHalted(LOG_ORIGIN)).toBe(false);
    await w.close();

    const running = await startWitness({ dataDir: dir, name: 'witness.example/w1', logs: [{ origin: LOG_ORIGIN, verifierKeys: [LOG_VKEY] }], warn: () => {} });
    stops.push(() => running.close());
    const fork7 = new TestTree().grow(8, 'other');
    const res = await fetch(`${running.url}/add-checkpoint`, { method: 'POST', body: addBody(6, [], fork7.checkpoint(6)) });
    expect(res.status).toBe(409);
    expect(running.witness.isHalted(LOG_ORIGIN)).toBe(true);
    expect(await witnessCommand(['clear-alert', '--data', dir, '--origin', LOG_ORIGIN])).toBe(0);
    expect(running.witness.isHalted(LOG_ORIGIN)).toBe(false);
    expect(await witnessCommand(['clear-alert', '--data', dir, '--origin', 'unknown.example/log', '--url', running.url])).toBe(1);
  });
});
