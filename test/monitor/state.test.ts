// The state directory: atomic saves, the lock, damaged or foreign state, resets; the
// progress bar; `candor monitor` in process (arguments, exit codes, reset).
import { spawnSync } from 'node:child_process';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { monitorCommand, type MonitorIo } from '../../src/cli/monitor.js';
import { makeAlert } from '../../src/monitor/alerts.js';
import { ProgressBar } from '../../src/monitor/progress.js';
import { FileStateStore, STATE_FORMAT, type MonitorState } from '../../src/monitor/state.js';
import { isLogError } from '../../src/util/errors.js';
import { BASE, Net, POLICY, now, openMonitor, removeDir, savedState, servedLog, stateDir } from './helpers.js';

let dir: string;
beforeEach(async () => {
  dir = await stateDir();
});
afterEach(async () => removeDir(dir));

const state = (over: Partial<MonitorState> = {}): MonitorState => ({
  format: STATE_FORMAT,
  origin: 'test.example/log',
  url: BASE,
  checkpoint: null,
  next: 0,
  updated: new Date(now()).toISOString(),
  halt: null,
  alerts: [],
  ...over,
});

describe('FileStateStore', () => {
  it('saves atomically (no temporary left) and reads back exactly', async () => {
    const store = await FileStateStore.open(dir);
    const alert = makeAlert({ kind: 'rollback', origin: 'o', url: BASE, detail: 'x', evidence: { trusted: 'a', received: 'b' } }, now());
    const s = state({ halt: alert, alerts: [alert] });
    await store.save(s);
    expect(await store.load()).toEqual(s);
    expect((await readdir(dir)).sort()).toEqual(['lock', 'state.json']);
    await store.close();
    expect(await readdir(dir)).toEqual(['state.json']);
  });

  it('lets one monitor use a directory at a time, and takes over the lock of a dead one', async () => {
    const store = await FileStateStore.open(dir);
    const err = await FileStateStore.open(dir).catch((e: unknown) => e);
    expect(isLogError(err, 'CONFLICT')).toBe(true);
    await store.close();
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    await writeFile(join(dir, 'lock'), `${dead}\n`);
    const again = await FileStateStore.open(dir);
    expect((await readFile(join(dir, 'lock'), 'utf8')).trim()).toBe(String(process.pid));
    await again.close();
  });

  it('refuses damaged state and another log\'s state, never resetting it silently', async () => {
    await writeFile(join(dir, 'state.json'), '{"format":"candor-monitor-state/v1"');
    const store = await FileStateStore.open(dir);
    expect(await store.load().catch((e: Error) => e.message)).toContain('not JSON');
    await store.save(state({ origin: 'other.example/log' }));
    await store.close();
    const a = await servedLog(3);
    const err = await openMonitor(new Net(a.app), dir).catch((e: unknown) => e);
    expect(isLogError(err, 'CONFLICT')).toBe(true);
    const s2 = await FileStateStore.open(dir);
    await s2.save(state({ checkpoint: a.log.checkpoint.note.replace('\n3\n', '\n4\n'), next: 0 }));
    await s2.close();
    const bad = await openMonitor(new Net(a.app), dir).catch((e: Error) => e.message);
    expect(bad).toContain('the saved checkpoint does not verify');
  });

  it('reset archives the state; --keep-checkpoint keeps the checkpoint and clears alerts', async () => {
    const store = await FileStateStore.open(dir);
    expect(await store.reset(false, now())).toBeUndefined();
    const alert = makeAlert({ kind: 'inconsistent', origin: 'o', url: BASE, detail: 'x', evidence: {} }, now());
    await store.save(state({ checkpoint: 'cp', next: 0, halt: alert, alerts: [alert] }));
    const archived = await store.reset(true, now());
    expect(JSON.parse(await readFile(archived!, 'utf8'))).toMatchObject({ halt: { kind: 'inconsistent' } });
    expect(await store.load()).toMatchObject({ checkpoint: 'cp', halt: null, alerts: [] });
    await store.reset(false, now() + 1000);
    expect(await store.load()).toBeUndefined();
    expect(await readdir(join(dir, 'archive'))).toHaveLength(2);
    await store.close();
  });
});

describe('alerts', () => {
  it('keep evidence verbatim, except garbage beyond 64 KiB; the same evidence has the same id', () => {
    const input = { kind: 'bad-signature' as const, origin: 'o', url: BASE, detail: 'd', evidence: { received: 'x'.repeat(70_000) } };
    const a = makeAlert(input, now());
    expect(a.evidence.received).toHaveLength(64 * 1024 + '\n[truncated: 70000 characters in all]'.length);
    expect(makeAlert(input, now() + 5000).id).toBe(a.id);
    expect(makeAlert({ ...input, evidence: { received: 'y' } }, now()).id).not.toBe(a.id);
  });
});

describe('ProgressBar', () => {
  it('draws only on a terminal and for a large backlog, and erases itself', () => {
    const written: string[] = [];
    let t = 0;
    const tty = { isTTY: true, columns: 100, write: (s: string) => void written.push(s) };
    const bar = new ProgressBar(tty, { now: () => t });
    bar.update(256, 512); // small backlog: nothing
    expect(written).toEqual([]);
    bar.update(256, 4096);
    t += 50;
    bar.update(512, 4096); // throttled
    t += 1000;
    bar.update(4096, 4096);
    bar.end();
    expect(written).toHaveLength(3);
    // eslint-disable-next-line no-control-regex
    expect(written[1]).toMatch(/^\r\x1b\[2Kcandor monitor: \[#+\] 100% 4096\/4096 entries, \d+\/s$/);
    expect(written[2]).toBe('\r\x1b[2K');
    const pipe = { isTTY: false, write: (s: string) => void written.push(s) };
    new ProgressBar(pipe).update(1, 1_000_000);
    expect(written).toHaveLength(3);
  });
});

describe('candor monitor (in process)', () => {
  async function run(args: string[], net?: Net): Promise<{ code: number; out: string; err: string }> {
    let out = '';
    let err = '';
    const io: MonitorIo = {
      out: async (t) => void (out += t),
      err: (t) => void (err += t),
      readFile: async (p) => new Uint8Array(await readFile(p)),
      now,
      backoffMs: 1,
      onSignal: () => () => {},
      ...(net === undefined ? {} : { fetch: net.fetch }),
    };
    return { code: await monitorCommand(args, io), out, err };
  }

  it('checks its arguments (exit 2) and its files (exit 1)', async () => {
    const policy = join(dir, 'policy');
    await writeFile(policy, `log ${POLICY.split(' ')[1]}\nquorum none\n`); // no URL
    expect((await run(['--state', dir])).code).toBe(2);
    expect((await run(['--policy', policy, '--state', dir, '--interval', '0'])).code).toBe(2);
    expect((await run(['--policy', policy, '--state', dir, '--bogus'])).code).toBe(2);
    const noUrl = await run(['--policy', policy, '--state', dir, '--once']);
    expect(noUrl).toMatchObject({ code: 2 });
    expect(noUrl.err).toContain('needs a url');
    expect((await run(['--policy', join(dir, 'missing'), '--state', dir])).code).toBe(1);
    await writeFile(policy, 'quorum nobody\n');
    expect((await run(['--policy', policy, '--state', dir])).code).toBe(1);
    expect((await run(['reset'])).code).toBe(2);
  });

  it('--once prints entries and exits 0; alerts exit by kind; reset clears them', async () => {
    const policy = join(dir, 'policy');
    await writeFile(policy, POLICY);
    const a = await servedLog(5);
    const b = await servedLog(5, (i) => new TextEncoder().encode(`fork ${i}`));
    const net = new Net(a.app);
    const state = join(dir, 'state');
    const args = ['--policy', policy, '--state', state, '--once', '--json-alerts'];
    const ok = await run(args, net);
    expect(ok.code).toBe(0);
    expect(ok.out.trim().split('\n').map((l) => (JSON.parse(l) as { type: string }).type)).toEqual([
      ...Array(5).fill('entry'),
      'checkpoint',
    ]);
    net.app = b.app;
    const forked = await run(args, net);
    expect(forked.code).toBe(8);
    expect(JSON.parse(forked.out)).toMatchObject({ type: 'alert', kind: 'inconsistent' });
    expect((await run(['reset', '--state', state, '--keep-checkpoint'])).code).toBe(0);
    expect((await savedState(state))?.halt).toBeNull();
    net.down = 100;
    expect((await run(args, net)).code).toBe(3);
    const reset = await run(['reset', '--state', state]);
    expect(reset.err).toContain('starts from entry 0');
    expect(await savedState(state)).toBeUndefined();
  });
});
