/**
 * The README's three-witness loop with the real commands, in its order: every key first
 * (`candor keygen`, `candor witness keygen`), then each witness started with the others'
 * keys, then the log with all three, then a witnessed `candor add`; and the README's own
 * shell block, run by bash as a user would paste it (its ports moved to free ones).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, runCandor, startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { freePort, startWitnessProcess, type WitnessIdentity, type WitnessProcess } from '../helpers/witness-process.js';
import { ed25519Verifier } from '../../src/note/keys.js';
import { openNote } from '../../src/note/note.js';
import { cosignatureV1Verifier } from '../../src/checkpoint/cosignature.js';

const ORIGIN = 'log.example/ai';

describe('candor witness keygen and key', () => {
  let root: string;
  const witnesses: WitnessProcess[] = [];
  let log: ServerProcess | undefined;

  afterAll(async () => {
    await log?.kill().catch(() => undefined);
    for (const w of witnesses) await w.kill().catch(() => undefined);
    if (root !== undefined) await rm(root, { recursive: true, force: true });
  });

  it('makes every key before anything starts, so the README loop yields a witnessed checkpoint', async () => {
    root = await mkdtemp(join(tmpdir(), 'candor-witness-keygen-'));
    const logKey = join(root, 'log.key');
    const made = await runCandor(['keygen', '--name', ORIGIN, '--out', logKey]);
    expect(made.code).toBe(0);
    const logVkey = made.stdout.trim();

    const ids: WitnessIdentity[] = [];
    for (const n of [1, 2, 3]) {
      const name = `w${n}.example/witness`;
      const dir = join(root, `w${n}`);
      const r = await runCandor(['witness', 'keygen', '--data', dir, '--name', name]);
      expect(r.code, r.stderr).toBe(0);
      const vkey = r.stdout.trim();
      expect(vkey).toMatch(new RegExp(`^${name.replace(/\./g, '\\.')}\\+[0-9a-f]{8}\\+[A-Za-z0-9+/]+=*$`));
      expect((await stat(join(dir, 'witness.key'))).mode & 0o777).toBe(0o600);
      // `key` prints the same verifier key again; a second keygen never replaces the key.
      expect((await runCandor(['witness', 'key', '--data', dir])).stdout.trim()).toBe(vkey);
      const again = await runCandor(['witness', 'keygen', '--data', dir, '--name', name]);
      expect(again.code).toBe(1);
      expect(again.stderr).toContain('already exists');
      expect((await runCandor(['witness', 'key', '--data', dir])).stdout.trim()).toBe(vkey);
      const port = await freePort();
      ids.push({ name, dir, port, url: `http://127.0.0.1:${port}`, vkey });
    }

    const logPort = await freePort();
    const logUrl = `http://127.0.0.1:${logPort}`;
    for (const id of ids) {
      const peers = ids.filter((p) => p !== id).flatMap((p) => ['--peer', `${p.vkey}@${p.url}`]);
      const w = await startWitnessProcess(id, ['--log', `${ORIGIN}=${logVkey}@${logUrl}`, ...peers]);
      witnesses.push(w);
      // It uses the key keygen made: the verifier key it prints is the one given to the others.
      expect(w.output()).toContain(`witness verifier key: ${id.vkey}`);
      expect(w.output()).not.toContain('created witness key');
    }
    log = await startServerProcess(join(root, 'log'), [
      '--origin', ORIGIN, '--key', logKey, '--port', String(logPort),
      ...ids.flatMap((w, i) => ['--witness', `w${i + 1}=${w.vkey}@${w.url}`]),
      '--quorum', '2',
    ]);

    const entry = join(root, 'hello.txt');
    await writeFile(entry, 'hello, witnesses\n');
    const added = await runCandor(['add', '--url', logUrl, '--witnessed', entry]);
    expect(added.code, added.stderr).toBe(0);
    const checkpoint = await (await fetch(`${logUrl}/checkpoint`)).text();
    const opened = openNote(checkpoint, [ed25519Verifier(logVkey), ...ids.map((w) => cosignatureV1Verifier(w.vkey))]);
    const cosigners = opened.verified.map((s) => s.name).filter((n) => ids.some((w) => w.name === n));
    expect(cosigners.length).toBeGreaterThanOrEqual(2);
  }, 90_000);

  it('refuses bad usage and a data directory without a key', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'candor-witness-key-'));
    try {
      expect((await runCandor(['witness', 'keygen', '--data', dir])).code).toBe(2);
      expect((await runCandor(['witness', 'keygen', '--data', dir, '--name', 'bad name'])).code).toBe(2);
      const none = await runCandor(['witness', 'key', '--data', dir]);
      expect(none.code).toBe(1);
      expect(none.stderr).toContain('no witness key');
      const help = await runCandor(['witness', 'keygen', '--help']);
      expect(help.code).toBe(0);
      expect(help.stdout).toContain('candor witness keygen --data DIR --name NAME');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

// Resolves true when every port in `ports` can be listened on at 127.0.0.1 now.
async function portsFree(ports: number[]): Promise<boolean> {
  for (const port of ports) {
    const ok = await new Promise<boolean>((resolve) => {
      const srv = createServer();
      srv.once('error', () => resolve(false));
      srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
    });
    if (!ok) return false;
  }
  return true;
}

describe("the README's three-witness block", () => {
  it('runs as written in bash and ends with a witnessed candor add', async () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const at = readme.indexOf('Three witnesses and a log on one machine');
    const start = readme.indexOf('```sh\n', at) + 6;
    const block = readme.slice(start, readme.indexOf('```\n', start));
    expect(at).toBeGreaterThan(0);
    expect(block).toContain('candor witness keygen');
    // The block uses ports 8080 (log) and 8081-8083 (witnesses): move "808" to a free run.
    let prefix = 0;
    for (let p = 4100 + Math.floor(Math.random() * 500); prefix === 0; p++) {
      if (await portsFree([0, 1, 2, 3].map((i) => p * 10 + i))) prefix = p;
    }
    const script = block.replaceAll('808', String(prefix));
    const dir = await mkdtemp(join(tmpdir(), 'candor-readme-witness-'));
    await mkdir(join(dir, 'bin'));
    await writeFile(join(dir, 'bin', 'candor'), `#!/bin/sh\nexec "${process.execPath}" "${CLI}" "$@"\n`);
    await chmod(join(dir, 'bin', 'candor'), 0o755);
    await writeFile(join(dir, 'readme.sh'), `set -e\n${script}\nstatus=$?\nkill $(jobs -p)\nwait\nexit $status\n`);
    // Its own process group, so that whatever the block started in the background goes too.
    const proc = spawn('bash', ['readme.sh'], {
      cwd: dir,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, PATH: `${join(dir, 'bin')}:${process.env.PATH ?? ''}`, CANDOR_URL: '' },
    });
    let out = '';
    proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => process.kill(-proc.pid!, 'SIGKILL'), 60_000);
    try {
      const code = await new Promise<number | null>((resolve) => proc.once('exit', (c) => resolve(c)));
      expect(code, out).toBe(0);
      const receipt = out.split('\n').find((l) => l.startsWith('{"file":"hello.txt"'));
      expect(receipt, out).toBeDefined();
      const logVkey = /^verifier key: (\S+)$/m.exec(out)?.[1];
      expect(logVkey, out).toBeDefined();
      const wkeys = await Promise.all([1, 2, 3].map(async (w) => (await readFile(join(dir, `w${w}.vkey`), 'utf8')).trim()));
      const checkpoint = (JSON.parse(receipt!) as { checkpoint: string }).checkpoint;
      const opened = openNote(checkpoint, [ed25519Verifier(logVkey!), ...wkeys.map((k) => cosignatureV1Verifier(k))]);
      expect(opened.verified.filter((v) => v.name !== ORIGIN).length, out).toBeGreaterThanOrEqual(2);
    } finally {
      clearTimeout(timer);
      try {
        process.kill(-proc.pid!, 'SIGKILL');
      } catch {
        // the group is gone already
      }
      await rm(dir, { recursive: true, force: true });
    }
  }, 90_000);
});
