/**
 * Interop: the real `candor serve` checked byte for byte by an independent verifier
 * written in Go against the ecosystem's reference implementation,
 * golang.org/x/mod/sumdb/tlog and sumdb/note (test/interop/go, which shares no code with
 * candor). The log is filled past 65,536 entries so that there are full level-0 and
 * level-1 tiles and partial tiles at levels 0, 1 and 2; a checkpoint saved midway checks
 * consistency proofs and that old partial tiles stay served; receipts are verified
 * offline the way a Go client would.
 *
 * Needs `go` and golang.org/x/mod in GOPATH form (Debian: golang-go and
 * golang-golang-x-mod-dev; override the GOPATH with CANDOR_INTEROP_GOPATH). Without them
 * the test is skipped locally but FAILS when CI=true.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const GO_DIR = fileURLToPath(new URL('./go', import.meta.url));
const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const GOPATH = process.env.CANDOR_INTEROP_GOPATH ?? '/usr/share/gocode';
const ORIGIN = 'interop.example/log';

const inCI = ['true', '1'].includes((process.env.CI ?? '').toLowerCase());
const haveGo = spawnSync('go', ['version'], { encoding: 'utf8' }).status === 0;
const haveXMod = existsSync(join(GOPATH, 'src/golang.org/x/mod/sumdb/tlog/tile.go'));
const missing = !haveGo
  ? '`go` is not on PATH'
  : !haveXMod
    ? `golang.org/x/mod is not under ${GOPATH}/src (set CANDOR_INTEROP_GOPATH)`
    : undefined;
if (missing !== undefined && !inCI) {
  console.warn(`skipping the Go interop test: ${missing}; install golang-go and golang-golang-x-mod-dev to run it`);
}

/** Entries before the midway checkpoint, and in all (before the final single POSTs). */
const MIDWAY = 33_333; // 130 full tiles + .p/53 at level 0, .p/130 at level 1
const BATCHED_TOTAL = 65_800; // > 65,536: one full level-1 tile, level-2 partial
const BATCH = 1000;

interface Receipt {
  index: number;
  leafHash: string;
  duplicate?: boolean;
  checkpoint: string;
  inclusionProof: string[];
}

interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Deterministic entries: unique text prefix, then pseudo-random filler. */
function makeEntry(i: number, rand: () => number): Uint8Array {
  const prefix = new TextEncoder().encode(`interop entry ${i}\n`);
  let len: number;
  if (i % 997 === 0) len = 1000 + Math.floor(rand() * 3000); // a few KB
  else if (i % 13 === 0) len = 256 + Math.floor(rand() * 400); // > 255: high length byte set
  else len = Math.floor(rand() * 120);
  const e = new Uint8Array(prefix.length + len);
  e.set(prefix);
  for (let k = prefix.length; k < e.length; k++) e[k] = Math.floor(rand() * 256);
  return e;
}

function xorshift(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 4294967296;
  };
}

const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');

function run(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeout: number }): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(cmd, args, { ...opts, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
      resolve({ code, stdout, stderr: err !== null && code === -1 ? `${stderr}\n${err.message}` : stderr });
    });
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      if (addr === null || typeof addr === 'string') return reject(new Error('no port'));
      srv.close(() => resolve(addr.port));
    });
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe.skipIf(missing !== undefined && !inCI)('Go reference verifier (x/mod sumdb/tlog + note) against candor', () => {
  let dir = '';
  let verifierBin = '';
  let server: ChildProcess | undefined;
  let serverExit: Promise<number | null> | undefined;
  let serverOut = '';
  let url = '';
  let vkey = '';
  let oldSize = 0;
  let finalSize = 0;
  const receipts: Array<{ entry: string; receipt: Receipt }> = [];

  async function post(path: string, body: string | Uint8Array<ArrayBuffer>, contentType: string): Promise<unknown> {
    const res = await fetch(url + path, { method: 'POST', headers: { 'Content-Type': contentType }, body });
    const text = await res.text();
    if (res.status !== 200) throw new Error(`POST ${path}: HTTP ${res.status}: ${text.slice(0, 300)}`);
    return JSON.parse(text) as unknown;
  }

  async function addOne(entry: Uint8Array): Promise<Receipt> {
    const r = (await post('/v1/entries', new Uint8Array(entry), 'application/octet-stream')) as Receipt;
    receipts.push({ entry: b64(entry), receipt: r });
    return r;
  }

  async function addBatch(entries: Uint8Array[], keep: number[]): Promise<Receipt[]> {
    const body = JSON.stringify({ entries: entries.map(b64) });
    const { receipts: got } = (await post('/v1/entries/batch', body, 'application/json')) as { receipts: Receipt[] };
    expect(got).toHaveLength(entries.length);
    for (const k of keep) receipts.push({ entry: b64(entries[k]!), receipt: got[k]! });
    return got;
  }

  async function getText(path: string): Promise<string> {
    const res = await fetch(url + path);
    const text = await res.text();
    if (res.status !== 200) throw new Error(`GET ${path}: HTTP ${res.status}: ${text.slice(0, 300)}`);
    return text;
  }

  async function startServer(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      url = `http://127.0.0.1:${port}`;
      serverOut = '';
      const proc = spawn(
        process.execPath,
        [CLI, 'serve', '--data', join(dir, 'data'), '--host', '127.0.0.1', '--port', String(port), '--origin', ORIGIN],
        { stdio: ['ignore', 'pipe', 'pipe'] }
      );
      server = proc;
      proc.stdout!.on('data', (d: Buffer) => (serverOut += d.toString()));
      proc.stderr!.on('data', (d: Buffer) => (serverOut += d.toString()));
      let exited = false;
      serverExit = new Promise((resolve) =>
        proc.once('exit', (code) => {
          exited = true;
          resolve(code);
        })
      );
      const deadline = Date.now() + 20_000;
      while (!exited && Date.now() < deadline) {
        try {
          const res = await fetch(`${url}/healthz`);
          await res.arrayBuffer();
          if (res.status === 200) return;
        } catch {
          // not listening yet
        }
        await sleep(100);
      }
      if (!exited) {
        proc.kill('SIGKILL');
        throw new Error(`candor serve did not answer /healthz within 20 s:\n${serverOut}`);
      }
      // A port race (someone took the free port) is worth one retry; anything else is a failure.
      if (attempt >= 3 || !/EADDRINUSE/.test(serverOut)) {
        throw new Error(`candor serve exited before answering /healthz:\n${serverOut}`);
      }
    }
  }

  async function verify(args: string[]): Promise<RunResult & { summary: Record<string, unknown> | undefined }> {
    const r = await run(verifierBin, ['-url', url, ...args], { timeout: 60_000 });
    const last = r.stdout.trim().split('\n').pop() ?? '';
    let summary: Record<string, unknown> | undefined;
    try {
      summary = JSON.parse(last) as Record<string, unknown>;
    } catch {
      summary = undefined;
    }
    return { ...r, summary };
  }

  beforeAll(async () => {
    if (missing !== undefined) {
      throw new Error(`CI is set but ${missing}: install golang-go and golang-golang-x-mod-dev (see .ci/run)`);
    }
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first`);
    dir = await mkdtemp(join(tmpdir(), 'candor-go-interop-'));

    // Build the Go verifier in GOPATH mode against the Debian x/mod sources, offline.
    verifierBin = join(dir, 'candor-interop-verifier');
    const env: NodeJS.ProcessEnv = { ...process.env, GO111MODULE: 'off', GOPATH, GOFLAGS: '', GOPROXY: 'off', GOTOOLCHAIN: 'local' };
    // Go needs a build cache; without HOME (some CI sandboxes) give it one in the temp dir.
    if (env.GOCACHE === undefined && env.HOME === undefined && env.XDG_CACHE_HOME === undefined) {
      env.GOCACHE = join(dir, 'go-cache');
    }
    const build = await run('go', ['build', '-o', verifierBin, '.'], { cwd: GO_DIR, env, timeout: 120_000 });
    if (build.code !== 0) throw new Error(`go build failed (${build.code}):\n${build.stderr}`);

    await startServer();
    const info = JSON.parse(await getText('/v1/info')) as { verifierKey: string; origin: string };
    expect(info.origin).toBe(ORIGIN);
    vkey = info.verifierKey;

    // Edge-case entries first: 1 byte, 255/256 bytes (length prefix 0x00ff / 0x0100), the
    // largest entry a bundle can hold (65535 bytes, prefix 0xffff).
    const rand = xorshift(20_260_101);
    const firsts = [
      Uint8Array.of(0x00),
      Uint8Array.of(0xff),
      new Uint8Array(255).fill(0x61),
      new Uint8Array(256).fill(0x62),
      Uint8Array.from({ length: 65_535 }, (_, k) => k % 251),
    ];
    for (const [k, e] of firsts.entries()) expect((await addOne(e)).index).toBe(k);

    // Batches up to MIDWAY, then save the checkpoint for -old.
    let next = firsts.length;
    const fill = async (upTo: number): Promise<void> => {
      while (next < upTo) {
        const n = Math.min(BATCH, upTo - next);
        const entries = Array.from({ length: n }, (_, k) => makeEntry(next + k, rand));
        const got = await addBatch(entries, [0, n - 1]);
        expect(got[0]!.index).toBe(next);
        expect(got[n - 1]!.index).toBe(next + n - 1);
        next += n;
      }
    };
    await fill(MIDWAY);
    const old = await getText('/checkpoint');
    oldSize = Number(old.split('\n')[1]);
    expect(oldSize).toBe(MIDWAY);
    await writeFile(join(dir, 'old.checkpoint'), old);
    await fill(BATCHED_TOTAL);

    // A few single POSTs at the end, including a duplicate of entry 1.
    const dup = await addOne(Uint8Array.of(0xff));
    expect(dup.index).toBe(1);
    await addOne(Uint8Array.of(0x01));
    await addOne(new Uint8Array(300).fill(0x63));
    await addOne(Uint8Array.from({ length: 3000 }, (_, k) => (k * 7) % 256));
    finalSize = BATCHED_TOTAL + 3;
    await writeFile(join(dir, 'receipts.json'), JSON.stringify(receipts));
  }, 120_000);

  afterAll(async () => {
    if (server !== undefined && server.exitCode === null && server.signalCode === null) {
      server.kill('SIGTERM');
      const done = await Promise.race([serverExit, sleep(10_000).then(() => 'timeout' as const)]);
      if (done === 'timeout') {
        server.kill('SIGKILL');
        await serverExit;
      }
    }
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  }, 30_000);

  it('passes its offline self-test (tile paths, bundles, checkpoints: docs/specs.md §3, §5, §8)', async () => {
    const r = await run(verifierBin, ['-selftest'], { timeout: 30_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout.trim()) as unknown).toMatchObject({ selftest: 'ok' });
  });

  it('agrees with Go byte for byte: checkpoint, every tile and bundle, proofs, entries, old tiles, receipts', async () => {
    const r = await verify([
      '-vkey', vkey,
      '-origin', ORIGIN,
      '-old', join(dir, 'old.checkpoint'),
      '-receipts', join(dir, 'receipts.json'),
      '-sample', '600',
    ]);
    expect(r.code, `verifier failed:\n${r.stderr}\n${r.stdout}`).toBe(0);
    const s = r.summary;
    console.log(`Go verifier summary: ${JSON.stringify(s)}`);
    expect(s, r.stdout).toBeDefined();
    const info = JSON.parse(await getText('/v1/info')) as { size: number; rootHash: string };
    expect(info.size).toBe(finalSize);
    // 257 full level-0 tiles + .p/11; level 1: 1 full + .p/1; level 2: .p/1.
    expect(s).toMatchObject({
      ok: true,
      failures: 0,
      origin: ORIGIN,
      size: finalSize,
      root: info.rootHash,
      entriesRehashed: finalSize,
      hashTilesRebuilt: 258 + 2 + 1,
      bundlesFetched: 258,
      oldSize,
      oldPartialTilesChecked: 3, // bundle .p/53, level 0 .p/53, level 1 .p/130
      receiptsChecked: receipts.length,
    });
    // Every published checkpoint size a receipt carries still has its partial tiles.
    expect(s!.receiptTreesFromTiles as number).toBeGreaterThan(BATCHED_TOTAL / BATCH);
    expect(s!.indicesChecked).toBe(600);
    expect(s!.inclusionProofsCompared as number).toBeGreaterThan(600);
    expect(s!.consistencyProofsCompared as number).toBeGreaterThan(10);
    expect(s!.negativeChecks as number).toBeGreaterThan(20);
  }, 60_000);

  it('rejects a wrong trust anchor and a forged old checkpoint (the check is not vacuous)', async () => {
    // Same name, different key (the Go note test key of docs/specs.md §2.6): note.Open
    // must find no verifiable signature. Key ID = SHA-256(name || 0x0A || 0x01 || key)[:4].
    const pub = Buffer.from('1a5cd907143c384c41e830c5bce12aa8817ec5649aaabf2c31388b35b2d744d6', 'hex');
    const typed = Buffer.concat([Buffer.of(0x01), pub]);
    const id = createHash('sha256').update(Buffer.concat([Buffer.from(`${ORIGIN}\n`), typed])).digest().subarray(0, 4);
    const other = `${ORIGIN}+${id.toString('hex')}+${typed.toString('base64')}`;
    expect(other).not.toBe(vkey);
    const wrongKey = await verify(['-vkey', other, '-sample', '10', '-full=false', '-historical', '0']);
    expect(wrongKey.code).toBe(1);
    expect(wrongKey.stderr).toMatch(/differs from the trust anchor/);
    expect(wrongKey.stderr).toMatch(/GET \/checkpoint: note\.Open .*no verifiable signatures/);

    const old = await getText(`/checkpoint`);
    const lines = old.split('\n');
    lines[1] = String(oldSize + 1); // the signature no longer covers the text
    await writeFile(join(dir, 'forged.checkpoint'), lines.join('\n'));
    const forged = await verify(['-vkey', vkey, '-old', join(dir, 'forged.checkpoint'), '-sample', '10', '-full=false', '-historical', '0']);
    expect(forged.code).toBe(1);
    expect(forged.stderr).toMatch(/-old .*note\.Open/);
  }, 60_000);
});
