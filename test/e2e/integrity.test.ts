/**
 * End to end, with real server processes over real LevelDB directories (dist/cli/main.js;
 * run `npm run build` first): damage on disk is never served, start-up refuses a store
 * LevelDB lost records of, and `candor fsck` / `candor repair --from` find and fix it.
 *
 * Deterministic placement of the data: a server killed (SIGKILL) once its commit mark is
 * written leaves its last commits in LevelDB's write-ahead log (db/*.log), where (b) and (c)
 * damage them; a server stopped cleanly writes its memtable out into a table (db/*.ldb),
 * where (a) damages it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { cp, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Level } from 'level';
import { encodeChunk } from '../../src/storage/keys.js';
import { runCandor, startServerProcess, type ServerProcess } from '../helpers/server-process.js';

const dirs: string[] = [];
const servers: ServerProcess[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.kill().catch(() => undefined);
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'candor-e2e-integrity-'));
  dirs.push(d);
  return d;
}

async function serve(dir: string): Promise<ServerProcess> {
  const s = await startServerProcess(dir);
  servers.push(s);
  return s;
}

async function stop(s: ServerProcess): Promise<void> {
  expect(await s.stop()).toBe(0);
  servers.splice(servers.indexOf(s), 1);
}

/**
 * Kills the server once its commit mark (written in the background after each commit) says
 * `size`: its commits then sit in LevelDB's write-ahead log, which a clean stop writes out.
 */
async function killAt(s: ServerProcess, dataDir: string, size: number): Promise<void> {
  const mark = join(dataDir, 'db', 'candor-committed');
  const end = Date.now() + 10_000;
  while (!(await readFile(mark, 'latin1').catch(() => '')).startsWith(`${size} `)) {
    if (Date.now() > end) throw new Error(`the commit mark never reached size ${size}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  await s.kill();
  servers.splice(servers.indexOf(s), 1);
}

/** Entry i: 200 bytes, with a unique ASCII marker in its middle to find it on disk. */
function entry(i: number): Uint8Array {
  const e = new Uint8Array(200).fill(0x2e);
  e.set(new TextEncoder().encode(`<<candor-entry-${String(i).padStart(6, '0')}>>`), 80);
  return e;
}

/** POSTs entries [from, to) as one batch (one commit). */
async function addBatch(url: string, from: number, to: number): Promise<void> {
  const entries = Array.from({ length: to - from }, (_, k) => entry(from + k));
  const res = await fetch(`${url}/v1/entries/batch`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/octet-stream' },
    body: Buffer.from(encodeChunk(entries, 0, entries.length)),
  });
  expect(res.status).toBe(200);
}

/** Replays LevelDB's write-ahead log into a table, with LevelDB alone. */
async function settle(dataDir: string): Promise<void> {
  const db = new Level(join(dataDir, 'db'));
  await db.open();
  await db.close();
}

/** The one file of `dir` with name ending `ext` that holds `marker`, and where. */
async function findOnDisk(dir: string, ext: string, marker: string): Promise<{ path: string; at: number }> {
  const found: Array<{ path: string; at: number }> = [];
  for (const name of await readdir(dir)) {
    if (!name.endsWith(ext)) continue;
    const bytes = await readFile(join(dir, name));
    const at = bytes.indexOf(marker);
    if (at >= 0) found.push({ path: join(dir, name), at });
  }
  expect(found, `${marker} in ${dir}/*${ext}`).toHaveLength(1);
  return found[0]!;
}

async function flipByte(path: string, at: number): Promise<void> {
  const bytes = await readFile(path);
  bytes[at]! ^= 0x01;
  await writeFile(path, bytes);
}

async function getJson(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('integrity end to end', () => {
  it('(a) a flipped byte in an .ldb table: 500 CORRUPT, unhealthy, fsck finds it, repair --from fixes it', async () => {
    const dataDir = await tempDir();
    const server = await serve(dataDir);
    await addBatch(server.url, 0, 300);
    await addBatch(server.url, 300, 700);
    await stop(server);
    await settle(dataDir);
    // A copy of the directory before the damage, served as the second copy of the log.
    const copyDir = await tempDir();
    await cp(dataDir, copyDir, { recursive: true });

    const { path, at } = await findOnDisk(join(dataDir, 'db'), '.ldb', '<<candor-entry-000300>>');
    await flipByte(path, at + 10); // inside entry 300's bytes
    const damaged = await serve(dataDir);
    for (const p of ['/v1/entries/300', '/tile/entries/001', '/v1/proof/bundle?index=300']) {
      const r = await getJson(`${damaged.url}${p}`);
      expect(r.status, p).toBe(500);
      expect(r.body.error, p).toMatchObject({ code: 'CORRUPT', message: expect.stringContaining('entry 300') });
    }
    expect((await fetch(`${damaged.url}/v1/entries/299`)).status).toBe(200);
    const health = await getJson(`${damaged.url}/healthz`);
    expect(health.status).toBe(503);
    expect(health.body).toMatchObject({ ok: false, reason: expect.stringContaining('entry 300') });

    // fsck refuses while the server holds the directory, then finds the entry.
    const busy = await runCandor(['fsck', '--data', dataDir]);
    expect(busy.code, busy.stderr).toBe(13);
    await stop(damaged);
    const quick = await runCandor(['fsck', '--data', dataDir, '--quick']);
    expect(quick.code, quick.stdout + quick.stderr).toBe(0); // keys and the edge are intact
    const found = await runCandor(['fsck', '--data', dataDir]);
    expect(found.code, found.stdout + found.stderr).toBe(10);
    expect(found.stdout.split('\n')[0]).toMatch(/^CORRUPT entry 300: /);

    // Without a copy, nothing can give entry 300 back.
    const alone = await runCandor(['repair', '--data', dataDir]);
    expect(alone.code, alone.stdout + alone.stderr).toBe(10);

    const mirror = await serve(copyDir);
    const fixed = await runCandor(['repair', '--data', dataDir, '--from', mirror.url]);
    expect(fixed.code, fixed.stdout + fixed.stderr).toBe(0);
    expect(fixed.stdout).toContain('256 entries and 0 tiles refilled');
    const clean = await runCandor(['fsck', '--data', dataDir]);
    expect(clean.code, clean.stdout + clean.stderr).toBe(0);
    expect(clean.stdout).toContain(': clean');

    const healed = await serve(dataDir);
    const res = await fetch(`${healed.url}/v1/entries/300`);
    expect(res.status).toBe(200);
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(entry(300));
    const bundle = await fetch(`${healed.url}/tile/entries/001`);
    expect(new Uint8Array(await bundle.arrayBuffer())).toEqual(
      encodeChunk(Array.from({ length: 256 }, (_, k) => entry(256 + k)), 0, 256)
    );
    expect((await getJson(`${healed.url}/healthz`)).body.ok).toBe(true);
  });

  it('(b) a corrupt block in the middle of the write-ahead log: start-up refuses naming the missing entries', async () => {
    const dataDir = await tempDir();
    const server = await serve(dataDir);
    // 60 commits of 40 entries (about 9 KB each): a WAL of about 540 KB, 17 blocks of 32 KiB.
    for (let b = 0; b < 60; b++) await addBatch(server.url, b * 40, b * 40 + 40);
    await killAt(server, dataDir, 2400);
    const { path, at } = await findOnDisk(join(dataDir, 'db'), '.log', '<<candor-entry-001200>>');
    expect((await stat(path)).size).toBeGreaterThan(400_000);
    await flipByte(path, at + 10);

    const refused = await runCandor(['serve', '--data', dataDir, '--host', '127.0.0.1', '--port', '0']);
    expect(refused.code, refused.stdout + refused.stderr).not.toBe(0);
    const message = refused.stderr;
    expect(message).toMatch(/is missing \d+ entries \(\[\d+, \d+\)/);
    const [, lo, hi] = /\(\[(\d+), (\d+)\)/.exec(message)!;
    // The lost block held entry 1200; whole commits of 40 entries vanish.
    expect(Number(lo)).toBeLessThanOrEqual(1200);
    expect(Number(hi)).toBeGreaterThan(1200);
    expect(Number(lo) % 40).toBe(0);
    expect(Number(hi) % 40).toBe(0);
    expect(message).toContain(`candor fsck --data ${dataDir}`);
    expect(message).toContain('candor repair');

    const found = await runCandor(['fsck', '--data', dataDir, '--quick']);
    expect(found.code, found.stdout + found.stderr).toBe(10);
    expect(found.stdout).toContain(`[${lo}, ${hi})`);
  });

  it('(c) a corrupt block at the end of the write-ahead log: start-up refuses, the commit mark names the lost tail', async () => {
    const dataDir = await tempDir();
    const server = await serve(dataDir);
    for (let b = 0; b < 60; b++) await addBatch(server.url, b * 40, b * 40 + 40);
    await killAt(server, dataDir, 2400);
    // Entry 2390 is in the last commit: the store alone would look like an older, whole log.
    const { path, at } = await findOnDisk(join(dataDir, 'db'), '.log', '<<candor-entry-002390>>');
    await flipByte(path, at + 10);

    const refused = await runCandor(['serve', '--data', dataDir, '--host', '127.0.0.1', '--port', '0']);
    expect(refused.code, refused.stdout + refused.stderr).not.toBe(0);
    expect(refused.stderr).toMatch(/lost its last commits \(commits up to size 2400 were acknowledged, but the latest checkpoint is \d+/);
    expect(refused.stderr).toMatch(/entries \[\d+, 2400\) are gone/);
    const found = await runCandor(['fsck', '--data', dataDir, '--quick']);
    expect(found.code, found.stdout + found.stderr).toBe(10);
    expect(found.stdout).toMatch(/^CORRUPT commit mark: commits up to size 2400 were acknowledged/);
  });
});
