/**
 * A real disk full, healed without a restart: a small tmpfs mounted by the test holds the
 * data directory of a real `candor serve` process. A filler file takes the last of its
 * space; the server's next write fails (ENOSPC) with 503 STORAGE, /healthz turns
 * unhealthy, reads go on; once the filler is deleted the same process takes writes again,
 * every acknowledged entry is still there and the served log authenticates. Then a clean
 * stop, and a start with only a quarter of a MiB free (the memtable was written out at
 * the stop: LevelDB has no log to replay).
 *
 * Mounting needs root (or CAP_SYS_ADMIN): without it the test is skipped, saying so.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtemp, open, rm, rmdir, stat, statfs, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { checkServedLog } from '../helpers/check-log.js';

const run = promisify(execFile);
/** The filesystem: room for the log's write buffer and what the test appends. */
const TMPFS_BYTES = 96 * 1024 * 1024;

let mnt: string;
let mounted = false;
let why = '';
let server: ServerProcess | undefined;

beforeAll(async () => {
  mnt = await mkdtemp(join(tmpdir(), 'candor-diskfull-'));
  try {
    await run('mount', ['-t', 'tmpfs', '-o', `size=${TMPFS_BYTES}`, 'tmpfs', mnt]);
    mounted = true;
  } catch (err) {
    why = (err as { stderr?: string }).stderr?.trim() || String(err);
  }
});

afterAll(async () => {
  if (server !== undefined && server.proc.exitCode === null) await server.kill();
  if (mounted) await run('umount', [mnt]);
  await rmdir(mnt).catch(() => undefined);
});

/** Writes `path` until the filesystem is full; returns the bytes written. */
async function fill(path: string): Promise<number> {
  const fd = await open(path, 'a');
  let written = 0;
  try {
    for (const size of [1 << 20, 1 << 16, 1 << 12, 1 << 9]) {
      const chunk = Buffer.alloc(size, 0x5a);
      for (;;) {
        try {
          const { bytesWritten } = await fd.write(chunk);
          written += bytesWritten;
          if (bytesWritten < size) break;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOSPC') break;
          throw err;
        }
      }
    }
    await fd.sync();
  } finally {
    await fd.close();
  }
  return written;
}

async function freeBytes(path: string): Promise<number> {
  const s = await statfs(path);
  return s.bavail * s.bsize;
}

/** Deterministic distinct entries of `size` bytes. */
function entry(i: number, size = 1000): Uint8Array {
  const e = Buffer.alloc(size, i % 251);
  e.write(`disk-full #${i}:`);
  return new Uint8Array(e);
}

interface Posted {
  status: number;
  body: { receipts?: Array<{ index: number; duplicate: boolean }>; error?: { code: string; message: string } };
  retryAfter: string | null;
}

async function postBatch(url: string, entries: Uint8Array[]): Promise<Posted> {
  const res = await fetch(`${url}/v1/entries/batch`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ entries: entries.map((e) => Buffer.from(e).toString('base64')) }),
  });
  const body = (await res.json()) as Posted['body'];
  return { status: res.status, body, retryAfter: res.headers.get('retry-after') };
}

describe('disk full on a real small filesystem', () => {
  it('answers 503 STORAGE and unhealthy while full, serves reads, and heals in the same process', async (ctx) => {
    if (!mounted) {
      console.warn(`skipped: cannot mount a tmpfs here (${why}); run as root to test a real disk full`);
      ctx.skip();
    }
    const data = join(mnt, 'data');
    server = await startServerProcess(data);
    const { url, verifierKey } = server;
    const pid = server.proc.pid;

    // 2,000 entries acknowledged, in batches of 100 (about 2 MB).
    const acked = new Map<number, Uint8Array>();
    let next = 0;
    const batch = (): Uint8Array[] => Array.from({ length: 100 }, () => entry(next++));
    for (let b = 0; b < 20; b++) {
      const entries = batch();
      const r = await postBatch(url, entries);
      expect(r.status).toBe(200);
      r.body.receipts!.forEach((x, i) => acked.set(x.index, entries[i]!));
    }
    const before = await (await fetch(`${url}/checkpoint`)).text();

    // The filesystem fills up; the next write fails, and so do the ones after it.
    const filler = join(mnt, 'filler');
    await fill(filler);
    expect(await freeBytes(mnt)).toBeLessThan(4096);
    let failed: { entries: Uint8Array[]; answer: Posted } | undefined;
    for (let attempt = 0; attempt < 50 && failed === undefined; attempt++) {
      const entries = batch();
      const r = await postBatch(url, entries);
      if (r.status === 200) r.body.receipts!.forEach((x, i) => acked.set(x.index, entries[i]!));
      else failed = { entries, answer: r };
    }
    expect(failed, 'a write must fail on a full filesystem').toBeDefined();
    expect(failed!.answer.status).toBe(503);
    expect(failed!.answer.body.error!.code).toBe('STORAGE');
    expect(failed!.answer.retryAfter).toBe('1');
    const refused = await postBatch(url, batch());
    expect(refused.status).toBe(503);
    expect(refused.body.error!.code).toBe('STORAGE');
    expect(refused.retryAfter).toBe('1');

    const health = await fetch(`${url}/healthz`);
    expect(health.status).toBe(503);
    const h = (await health.json()) as { ok: boolean; reason: string };
    expect(h.ok).toBe(false);
    expect(h.reason).toMatch(/STORAGE/);
    expect((await fetch(`${url}/checkpoint`)).status).toBe(200);
    expect((await fetch(`${url}/tile/entries/000`)).status).toBe(200);
    expect((await fetch(`${url}/v1/entries/1999`)).status).toBe(200);
    expect((await fetch(`${url}/v1/proof/inclusion?index=5&size=2000`)).status).toBe(200);

    // Space comes back: the same process takes writes again, within a few seconds.
    await rm(filler);
    let again: Posted | undefined;
    const end = Date.now() + 30_000;
    while (Date.now() < end) {
      again = await postBatch(url, failed!.entries);
      if (again.status === 200) break;
      expect(again.status).toBe(503);
      expect(again.body.error!.code).toBe('STORAGE');
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(again!.status).toBe(200);
    again!.body.receipts!.forEach((x, i) => acked.set(x.index, failed!.entries[i]!));
    expect(server.proc.pid).toBe(pid);
    expect(server.proc.exitCode).toBeNull();
    expect(await (await fetch(`${url}/healthz`)).json()).toMatchObject({ ok: true });
    for (let b = 0; b < 3; b++) {
      const entries = batch();
      const r = await postBatch(url, entries);
      expect(r.status).toBe(200);
      r.body.receipts!.forEach((x, i) => acked.set(x.index, entries[i]!));
    }
    expect(server.output()).toContain('reopened after a failed write');

    // Every acknowledged entry is where its receipt said, and the log authenticates and
    // extends the checkpoint served before the failure.
    const checked = await checkServedLog((p) => fetch(url + p), verifierKey);
    const wrong = [...acked].filter(([index, bytes]) => !Buffer.from(bytes).equals(checked.entries[index]!));
    expect(wrong.map(([index]) => index)).toEqual([]);
    const size = Number(before.split('\n')[1]);
    const proof = await fetch(`${url}/v1/proof/consistency?from=${size}&to=${checked.size}`);
    expect(proof.status).toBe(200);

    // A clean stop writes LevelDB's memtable out: a start then needs almost no free space.
    expect(await server.stop()).toBe(0);
    await fill(filler);
    await truncate(filler, (await stat(filler)).size - 256 * 1024);
    expect(await freeBytes(mnt)).toBeLessThan(300 * 1024);
    server = await startServerProcess(data);
    expect(server.output()).toContain(`serving ${checked.size} entries`);
    expect(await (await fetch(`${server.url}/checkpoint`)).text()).toBe(checked.note);
    expect(await server.stop()).toBe(0);
    await rm(filler);
  }, 120_000);
});
