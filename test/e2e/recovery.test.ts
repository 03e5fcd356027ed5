/**
 * Backup and disaster recovery end to end, with the real `candor` program: servers and
 * commands are child processes on 127.0.0.1, backups and data directories are real
 * directories. A backup is taken while the server takes writes; the restored copies (from
 * the backup, from the running server's tiles, from a static directory of tiles) must
 * serve the same checkpoint, entries and proofs, and go on appending with the log's key.
 * Damaged backups and lying tile servers must be refused with a message naming what is
 * wrong, leaving no data directory that looks like a log.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { runCandor, startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { openCheckpoint } from '../../src/checkpoint/checkpoint.js';
import { ed25519Verifier } from '../../src/note/keys.js';
import { verifyConsistency, verifyInclusion } from '../../src/merkle/verify.js';
import { leafHash } from '../../src/merkle/hash.js';
import { fromBase64 } from '../../src/util/bytes.js';

interface Manifest {
  size: number;
  checkpoint: string;
  rootHash: string;
  verifierKey: string;
  signerKey: string | null;
}

/** A tiny static file server over `dir`, as a CDN or a plain web server would serve tiles. */
async function serveStatic(dir: string, mutate?: (path: string, body: Buffer) => Buffer): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname).slice(1);
    if (path.split('/').includes('..')) {
      res.writeHead(400).end();
      return;
    }
    readFile(join(dir, path)).then(
      (body) => {
        const out = mutate === undefined ? body : mutate(path, body);
        res.writeHead(200, { 'content-length': out.length }).end(out);
      },
      () => res.writeHead(404).end('not found')
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

async function post(url: string, entries: string[]): Promise<{ checkpoint: string }[]> {
  const body = JSON.stringify({ entries: entries.map((e) => Buffer.from(e).toString('base64')) });
  const res = await fetch(`${url}/v1/entries/batch`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
  expect(res.status).toBe(200);
  return ((await res.json()) as { receipts: { checkpoint: string }[] }).receipts;
}

async function text(url: string): Promise<string> {
  const res = await fetch(url);
  expect(res.status, url).toBe(200);
  return res.text();
}

async function proof(url: string, query: string): Promise<string[]> {
  return ((await (await fetch(`${url}/v1/proof/${query}`)).json()) as { hashes: string[] }).hashes;
}

/** The same entries, inclusion and consistency proofs at `size` from both servers. */
async function expectSameLog(a: string, b: string, size: number): Promise<void> {
  for (const index of [0, 1, 255, 256, Math.floor(size / 2), size - 1]) {
    expect(Buffer.from(await (await fetch(`${b}/v1/entries/${index}`)).arrayBuffer())).toEqual(
      Buffer.from(await (await fetch(`${a}/v1/entries/${index}`)).arrayBuffer())
    );
    const q = `inclusion?index=${index}&size=${size}`;
    expect(await proof(b, q)).toEqual(await proof(a, q));
  }
  for (const from of [1, 300, size - 1]) {
    const q = `consistency?from=${from}&to=${size}`;
    expect(await proof(b, q)).toEqual(await proof(a, q));
  }
}

/** Appends to `url` and checks the new checkpoint extends the old one (consistency proof). */
async function expectAppends(url: string, verifierKey: string, old: string): Promise<void> {
  const verifier = ed25519Verifier(verifierKey);
  const before = openCheckpoint(old, verifier).checkpoint;
  const entry = `after the restore ${Math.random()}`;
  const res = await fetch(`${url}/v1/entries`, { method: 'POST', body: entry });
  expect(res.status).toBe(200);
  const receipt = (await res.json()) as { index: number; checkpoint: string; inclusionProof: string[] };
  expect(receipt.index).toBe(before.size);
  const after = openCheckpoint(receipt.checkpoint, verifier).checkpoint;
  expect(after.size).toBe(before.size + 1);
  const hashes = (await proof(url, `consistency?from=${before.size}&to=${after.size}`)).map((h) => fromBase64(h));
  expect(verifyConsistency(before.size, after.size, hashes, before.rootHash, after.rootHash)).toBe(true);
  const path = receipt.inclusionProof.map((h) => fromBase64(h));
  expect(verifyInclusion(leafHash(Buffer.from(entry)), receipt.index, after.size, path, after.rootHash)).toBe(true);
}

/** Rewrites SHA256SUMS and the manifest after a file was changed: a forger who covers tracks. */
async function resum(dir: string): Promise<void> {
  const sums = (await readFile(join(dir, 'SHA256SUMS'), 'utf8')).split('\n').filter((l) => l !== '');
  const lines = await Promise.all(
    sums.map(async (l) => {
      const path = l.slice(66);
      return `${createHash('sha256').update(await readFile(join(dir, path))).digest('hex')}  ${path}\n`;
    })
  );
  const sumsText = lines.join('');
  await writeFile(join(dir, 'SHA256SUMS'), sumsText);
  const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as Record<string, unknown>;
  manifest.sha256sums = createHash('sha256').update(sumsText).digest('hex');
  await writeFile(join(dir, 'manifest.json'), JSON.stringify(manifest));
}

function flipByte(body: Buffer, at: number): Buffer {
  const out = Buffer.from(body);
  out[at] = out[at]! ^ 0x01;
  return out;
}

describe('backup and restore', () => {
  let dir: string;
  let origin: ServerProcess;
  const servers: ServerProcess[] = [];
  const seen = new Map<number, string>(); // every checkpoint the origin log answered with
  let backup: string;
  let manifest: Manifest;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'candor-recovery-'));
    origin = await startServerProcess(join(dir, 'origin'), ['--origin', 'recovery.example/log', '--batch-max', '64']);
    for (let b = 0; b < 6; b++) {
      for (const r of await post(origin.url, Array.from({ length: 130 }, (_, i) => `first ${b}-${i}`))) {
        seen.set(openCheckpoint(r.checkpoint, ed25519Verifier(origin.verifierKey)).checkpoint.size, r.checkpoint);
      }
    }
  });
  afterAll(async () => {
    for (const s of [origin, ...servers]) await s?.kill();
    await rm(dir, { recursive: true, force: true });
  });

  it('backs up a log at one signed checkpoint while its server takes writes', async () => {
    let writing = true;
    let written = 0;
    const writer = (async () => {
      for (let b = 0; writing && b < 400; b++) {
        for (const r of await post(origin.url, Array.from({ length: 17 }, (_, i) => `during ${b}-${i}`))) {
          seen.set(openCheckpoint(r.checkpoint, ed25519Verifier(origin.verifierKey)).checkpoint.size, r.checkpoint);
        }
        written++;
      }
    })();
    while (written < 3) await new Promise((r) => setTimeout(r, 10));
    backup = join(dir, 'backup');
    const res = await runCandor(['backup', '--data', join(dir, 'origin'), '--out', backup, '--url', origin.url, '--with-key']);
    const after = written;
    writing = false;
    await writer;
    expect(res.stderr).toContain('is in use by a server');
    expect(res.code, res.stderr).toBe(0);
    manifest = JSON.parse(await readFile(join(backup, 'manifest.json'), 'utf8')) as Manifest;
    // Taken mid-stream at a checkpoint the log published, with writes after it.
    expect(manifest.size).toBeGreaterThan(780);
    expect(manifest.checkpoint).toBe(seen.get(manifest.size));
    expect(after).toBeGreaterThan(3);
    expect(openCheckpoint(await text(`${origin.url}/checkpoint`), ed25519Verifier(origin.verifierKey)).checkpoint.size)
      .toBeGreaterThan(manifest.size);
    expect(manifest.verifierKey).toBe(origin.verifierKey);
    expect(await readFile(join(backup, 'checkpoint'), 'utf8')).toBe(manifest.checkpoint);
    // The key is in it, so the backup is for its owner's eyes only.
    expect(manifest.signerKey).toBe('log.key');
    expect((await stat(backup)).mode & 0o777).toBe(0o700);
    expect((await stat(join(backup, 'log.key'))).mode & 0o777).toBe(0o600);
    expect(await readFile(join(backup, 'log.key'), 'utf8')).toBe(await readFile(join(dir, 'origin', 'log.key'), 'utf8'));

    const again = await runCandor(['backup', '--data', join(dir, 'origin'), '--out', backup, '--url', origin.url]);
    expect(again.code).toBe(4);
    expect(again.stderr).toContain('exists');
  });

  it('restores the backup into a log that serves the same checkpoint and proofs, and appends', async () => {
    const data = join(dir, 'restored');
    const res = await runCandor(['restore', '--from', backup, '--data', data]);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toContain(`restored ${manifest.size} entries`);
    expect((await stat(join(data, 'log.key'))).mode & 0o777).toBe(0o600);
    const copy = await startServerProcess(data);
    servers.push(copy);
    expect(copy.verifierKey).toBe(origin.verifierKey);
    expect(await text(`${copy.url}/checkpoint`)).toBe(manifest.checkpoint);
    await expectSameLog(origin.url, copy.url, manifest.size);
    await expectAppends(copy.url, origin.verifierKey, manifest.checkpoint);

    const over = await runCandor(['restore', '--from', backup, '--data', data]);
    expect(over.code).toBe(4);
    expect(over.stderr).toContain('is not empty');
  });

  it('restores from the running server\'s tiles with the key, and goes on appending', async () => {
    const data = join(dir, 'from-server');
    const live = await text(`${origin.url}/checkpoint`);
    const res = await runCandor(['restore', '--from-tiles', origin.url, '--data', data, '--key', join(dir, 'origin', 'log.key')]);
    expect(res.code, res.stderr).toBe(0);
    const copy = await startServerProcess(data);
    servers.push(copy);
    expect(await text(`${copy.url}/checkpoint`)).toBe(live);
    const size = openCheckpoint(live, ed25519Verifier(origin.verifierKey)).checkpoint.size;
    await expectSameLog(origin.url, copy.url, size);
    await expectAppends(copy.url, origin.verifierKey, live);
  });

  it('restores from a static directory of tiles; without the key the copy is refused by serve', async () => {
    const files = await serveStatic(backup);
    try {
      const data = join(dir, 'from-static');
      const res = await runCandor(['restore', '--from-tiles', files.url, '--data', data, '--verifier-key', origin.verifierKey]);
      expect(res.code, res.stderr).toBe(0);
      expect(res.stdout).toContain('restored without the signer key');
      expect(existsSync(join(data, 'log.key'))).toBe(false);
      const served = await runCandor(['serve', '--data', data, '--port', '0'], {}, 15_000);
      expect(served.code).toBe(1);
      expect(served.stderr).toContain('restored without the log\'s signing key');
      expect(existsSync(join(data, 'log.key'))).toBe(false); // no stray new key was made
      const copy = await startServerProcess(data, ['--key', join(backup, 'log.key')]);
      servers.push(copy);
      expect(await text(`${copy.url}/checkpoint`)).toBe(manifest.checkpoint);
      await expectSameLog(origin.url, copy.url, manifest.size);
      await expectAppends(copy.url, origin.verifierKey, manifest.checkpoint);
    } finally {
      await files.close();
    }
  });

  it('refuses a backup with one byte changed, naming the file, and leaves nothing', async () => {
    const damaged = join(dir, 'damaged');
    await cp(backup, damaged, { recursive: true });
    const file = join(damaged, 'tile', 'entries', '001');
    await writeFile(file, flipByte(await readFile(file), 100));
    const data = join(dir, 'from-damaged');
    const res = await runCandor(['restore', '--from', damaged, '--data', data]);
    expect(res.code).toBe(3);
    expect(res.stderr).toContain('backup file tile/entries/001 is damaged');
    expect(existsSync(data)).toBe(false);
  });

  it('refuses a forged backup whose sums were rewritten: the entry does not hash to the tree', async () => {
    const forged = join(dir, 'forged');
    await cp(backup, forged, { recursive: true });
    const file = join(forged, 'tile', 'entries', '002');
    await writeFile(file, flipByte(await readFile(file), 50));
    await resum(forged);
    const data = join(dir, 'from-forged');
    await mkdir(data); // an empty directory the operator made: kept, and left empty
    const res = await runCandor(['restore', '--from', forged, '--data', data]);
    expect(res.code).toBe(3);
    expect(res.stderr).toMatch(/entry 5\d\d does not hash to the log's leaf hash/);
    expect(await readdir(data)).toEqual([]);
  });

  it('refuses a tiles source serving one wrong byte, and one signed by another key', async () => {
    const lying = await serveStatic(backup, (path, body) => (path === 'tile/entries/001' ? flipByte(body, 7) : body));
    try {
      const data = join(dir, 'from-liar');
      const res = await runCandor(['restore', '--from-tiles', lying.url, '--data', data, '--verifier-key', origin.verifierKey]);
      expect(res.code).toBe(3);
      expect(res.stderr).toMatch(/entry 2\d\d does not hash to the log's leaf hash/);
      expect(existsSync(data)).toBe(false);

      const other = await runCandor(['keygen', '--name', 'recovery.example/log', '--out', join(dir, 'other.key')]);
      const wrongKey = other.stdout.trim();
      const res2 = await runCandor(['restore', '--from-tiles', lying.url, '--data', data, '--verifier-key', wrongKey]);
      expect(res2.code).toBe(3);
      expect(res2.stderr).toContain('/checkpoint');
      expect(existsSync(data)).toBe(false);
    } finally {
      await lying.close();
    }
  });

  it('refuses to serve an unfinished restore, and a second run starts it over', async () => {
    const data = join(dir, 'unfinished');
    await mkdir(join(data, 'db'), { recursive: true });
    await writeFile(join(data, 'restore-in-progress'), 'restore from somewhere\n');
    const served = await runCandor(['serve', '--data', data, '--port', '0'], {}, 15_000);
    expect(served.code).toBe(1);
    expect(served.stderr).toContain('holds a restore that did not finish');
    const res = await runCandor(['restore', '--from', backup, '--data', data]);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stderr).toContain('unfinished restore: starting it over');
    const copy = await startServerProcess(data);
    servers.push(copy);
    expect(await text(`${copy.url}/checkpoint`)).toBe(manifest.checkpoint);
  });

  it('prints its usage with --help and exits 2 on bad usage', async () => {
    for (const command of ['backup', 'restore']) {
      const help = await runCandor([command, '--help']);
      expect(help.code).toBe(0);
      expect(help.stdout).toContain('--from-tiles URL --data DIR');
      expect(help.stdout).toContain('--with-key');
    }
    const both = await runCandor(['restore', '--from', backup, '--from-tiles', origin.url, '--data', join(dir, 'x')]);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('give one of --from PATH and --from-tiles URL');
    const keyless = await runCandor(['restore', '--from-tiles', origin.url, '--data', join(dir, 'x')]);
    expect(keyless.code).toBe(2);
    expect(keyless.stderr).toContain('--verifier-key VKEY or --key FILE');
    expect(existsSync(join(dir, 'x'))).toBe(false);
  });

  it('backs up a stopped log from its own store', async () => {
    const final = await text(`${origin.url}/checkpoint`);
    expect(await origin.stop()).toBe(0);
    const out = join(dir, 'offline');
    const res = await runCandor(['backup', '--data', join(dir, 'origin'), '--out', out]);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stderr).toContain('is not in use: reading its store');
    const m = JSON.parse(await readFile(join(out, 'manifest.json'), 'utf8')) as Manifest;
    expect(m.checkpoint).toBe(final);
    expect(m.signerKey).toBeNull();
    expect(existsSync(join(out, 'log.key'))).toBe(false);
    const data = join(dir, 'from-offline');
    const restored = await runCandor(['restore', '--from', out, '--data', data, '--key', join(dir, 'origin', 'log.key')]);
    expect(restored.code, restored.stderr).toBe(0);
    const copy = await startServerProcess(data);
    servers.push(copy);
    expect(await text(`${copy.url}/checkpoint`)).toBe(final);
  });
});
