/**
 * `candor monitor` end to end: the real `candor serve` and the real `candor monitor` as
 * child processes on 127.0.0.1. --once runs, a long-running monitor killed and restarted,
 * and a log rewritten under the same key (wiped and restarted with other entries), which
 * the monitor must catch with both signed checkpoints as evidence.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, startServerProcess, type ServerProcess, runCandor, type CliResult } from '../helpers/server-process.js';
import { freePort } from '../helpers/witness-process.js';
import { generateSignerKey, ed25519Verifier } from '../../src/note/keys.js';
import { openCheckpoint } from '../../src/checkpoint/checkpoint.js';

const ORIGIN = 'monitor.example/log';

interface Line {
  type: string;
  index?: number;
  entry?: string;
  size?: number;
  kind?: string;
  evidence?: { trusted?: string; received?: string };
}

const candor = (args: string[]): Promise<CliResult> => runCandor(args);

const parse = (text: string): Line[] =>
  text.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Line);
const indices = (lines: Line[]): number[] => lines.filter((l) => l.type === 'entry').map((l) => l.index!);
const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);

async function until(what: string, fn: () => boolean, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('candor monitor end to end', () => {
  let root: string;
  let keyFile: string;
  let vkey: string;
  let port: number;
  let url: string;
  let server: ServerProcess | undefined;
  const children: ChildProcess[] = [];
  let policy: string;
  let state: string;
  let added = 0;

  const startLog = async (): Promise<void> => {
    server = await startServerProcess(join(root, 'log'), ['--origin', ORIGIN, '--key', keyFile, '--port', String(port)]);
  };
  const add = async (count: number, prefix = 'record'): Promise<void> => {
    const entries = range(0, count).map((i) => Buffer.from(`{"${prefix}":${added + i}}`).toString('base64'));
    const res = await fetch(`${url}/v1/entries/batch`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ entries }),
    });
    expect(res.status).toBe(200);
    added += count;
  };
  const monitorArgs = (...extra: string[]): string[] => ['monitor', '--policy', policy, '--state', state, ...extra];

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'candor-monitor-e2e-'));
    const pair = generateSignerKey(ORIGIN);
    vkey = pair.verifierKey;
    keyFile = join(root, 'log.key');
    await writeFile(keyFile, pair.signerKey + '\n', { mode: 0o600 });
    port = await freePort();
    url = `http://127.0.0.1:${port}`;
    policy = join(root, 'policy.txt');
    await writeFile(policy, `log ${vkey} ${url}\nquorum none\n`);
    state = join(root, 'state');
    await startLog();
  });

  afterAll(async () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    await server?.kill();
    await rm(root, { recursive: true, force: true });
  });

  it('--once: every entry on the first run, then only new ones, then nothing', async () => {
    await add(300);
    const first = await candor(monitorArgs('--once'));
    expect(first).toMatchObject({ code: 0, stderr: '' });
    const lines = parse(first.stdout);
    expect(indices(lines)).toEqual(range(0, 300));
    expect(lines.at(-1)).toMatchObject({ type: 'checkpoint', size: 300 });
    expect(JSON.parse(await readFile(join(state, 'state.json'), 'utf8'))).toMatchObject({ next: 300 });

    await add(20);
    const second = await candor(monitorArgs('--once'));
    expect(second.code).toBe(0);
    expect(indices(parse(second.stdout))).toEqual(range(300, 320));
    const third = await candor(monitorArgs('--once'));
    expect(third).toMatchObject({ code: 0, stdout: '' });
  });

  it('a long-running monitor killed with SIGKILL and restarted skips nothing', async () => {
    const spawnMonitor = (): { proc: ChildProcess; out: () => string } => {
      const proc = spawn(process.execPath, [CLI, ...monitorArgs('--interval', '0.1')], { stdio: ['ignore', 'pipe', 'pipe'] });
      children.push(proc);
      let out = '';
      proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
      return { proc, out: () => out };
    };
    const a = spawnMonitor();
    await add(30);
    await until('the first monitor to emit entry 349', () => indices(parse(a.out())).includes(349));
    a.proc.kill('SIGKILL');
    await new Promise((r) => a.proc.once('exit', r));
    await add(500);
    const b = spawnMonitor();
    await until('the restarted monitor to emit entry 849', () => indices(parse(b.out())).includes(849));
    await add(5);
    await until('entry 854', () => indices(parse(b.out())).includes(854));
    b.proc.kill('SIGTERM');
    const code = await new Promise((r) => b.proc.once('exit', r));
    expect(code).toBe(0);
    const seenA = indices(parse(a.out()));
    const seenB = indices(parse(b.out()));
    expect(seenA).toEqual(range(320, 320 + seenA.length));
    expect(seenB[0]).toBeLessThanOrEqual(seenA.at(-1)! + 1); // never skips...
    expect(seenB[0]).toBeGreaterThanOrEqual(320); // ...and never starts over
    expect(seenB).toEqual(range(seenB[0]!, 855));
  });

  it('a log rewritten under the same key: alerts with both checkpoints, exits non-zero until reset', async () => {
    await server!.stop();
    await rm(join(root, 'log'), { recursive: true, force: true });
    await startLog();
    added = 0;
    await add(900, 'rewritten'); // longer than what the monitor saw (855), other entries
    const forked = await candor(monitorArgs('--once'));
    expect(forked.code).toBe(8);
    expect(forked.stdout).toBe('');
    const [alert] = parse(forked.stderr);
    expect(alert).toMatchObject({ type: 'alert', kind: 'inconsistent' });
    const verifier = ed25519Verifier(vkey);
    const trusted = openCheckpoint(alert!.evidence!.trusted!, verifier).checkpoint;
    const received = openCheckpoint(alert!.evidence!.received!, verifier).checkpoint;
    expect([trusted.size, received.size]).toEqual([855, 900]);

    // Still alerting on the next run, with the evidence kept in the state directory.
    const again = await candor(monitorArgs('--once', '--json-alerts'));
    expect(again.code).toBe(8);
    expect(parse(again.stdout)[0]).toMatchObject({ type: 'alert', kind: 'inconsistent' });
    const saved = JSON.parse(await readFile(join(state, 'state.json'), 'utf8')) as { halt: Line; next: number };
    expect(saved).toMatchObject({ next: 855, halt: { kind: 'inconsistent' } });

    // The operator resets: the monitor follows the new history from its first entry.
    expect((await candor(['monitor', 'reset', '--state', state])).code).toBe(0);
    const fresh = await candor(monitorArgs('--once'));
    expect(fresh.code).toBe(0);
    const lines = parse(fresh.stdout);
    expect(indices(lines)).toEqual(range(0, 900));
    expect(Buffer.from(lines[0]!.entry!, 'base64').toString()).toBe('{"rewritten":0}');

    // Rewritten again, shorter: a rollback.
    await server!.stop();
    await rm(join(root, 'log'), { recursive: true, force: true });
    await startLog();
    added = 0;
    await add(10, 'again');
    const rolledBack = await candor(monitorArgs('--once'));
    expect(rolledBack.code).toBe(7);
    expect(parse(rolledBack.stderr)[0]).toMatchObject({ kind: 'rollback' });
  }, 40_000);
});
