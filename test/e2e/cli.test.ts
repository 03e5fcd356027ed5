/**
 * End to end over real HTTP on 127.0.0.1: the `candor` program as users run it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm, stat, writeFile, readFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServerProcess, type ServerProcess, runCandor, type CliResult } from '../helpers/server-process.js';
import { checkServedLog } from '../helpers/check-log.js';
import { openCheckpoint } from '../../src/checkpoint/checkpoint.js';
import { ed25519Verifier } from '../../src/note/keys.js';
import { verifyInclusion } from '../../src/merkle/verify.js';
import { leafHash } from '../../src/merkle/hash.js';

const candor = (args: string[], env: Record<string, string> = {}): Promise<CliResult> => runCandor(args, env);

describe('candor CLI end to end', () => {
  let dir: string;
  let server: ServerProcess | undefined;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'candor-cli-'));
  });
  afterAll(async () => {
    await server?.kill();
    await rm(dir, { recursive: true, force: true });
  });

  it('creates a key (0600) on first start, serves, takes entries, and drains on SIGTERM', async () => {
    const data = join(dir, 'data');
    // Its 300 "concurrent clients" below all come from 127.0.0.1: more than the default
    // per-address cap (128) lets in, so the cap is lifted (test/e2e/http-limits.test.ts).
    server = await startServerProcess(data, ['--origin', 'e2e.example/log', '--max-connections-per-ip', '0']);
    expect((await stat(join(data, 'log.key'))).mode & 0o777).toBe(0o600);
    expect(server.verifierKey).toMatch(/^e2e\.example\/log\+[0-9a-f]{8}\+A/);
    const info = (await (await fetch(`${server.url}/v1/info`)).json()) as { verifierKey: string; origin: string };
    expect(info).toMatchObject({ verifierKey: server.verifierKey, origin: 'e2e.example/log' });

    const files = [join(dir, 'a.json'), join(dir, 'b.json')];
    await writeFile(files[0]!, '{"model":"m1","digest":"sha256:aa"}\n');
    await writeFile(files[1]!, '{"model":"m2","digest":"sha256:bb"}\n');
    const added = await candor(['add', '--url', server.url, ...files]);
    expect(added.code).toBe(0);
    const receipts = added.stdout.trim().split('\n').map((l) => JSON.parse(l) as { file: string; index: number; checkpoint: string; inclusionProof: string[] });
    expect(receipts.map((r) => r.file)).toEqual(files);
    const verifier = ed25519Verifier(server.verifierKey);
    for (const r of receipts) {
      const cp = openCheckpoint(r.checkpoint, verifier).checkpoint;
      const lh = leafHash(await readFile(r.file));
      expect(verifyInclusion(lh, r.index, cp.size, r.inclusionProof.map((h) => new Uint8Array(Buffer.from(h, 'base64'))), cp.rootHash)).toBe(true);
    }
    const cp = await candor(['checkpoint'], { CANDOR_URL: server.url });
    expect(cp.code).toBe(0);
    expect(openCheckpoint(cp.stdout, verifier).checkpoint.size).toBe(2);

    // Many concurrent clients over real sockets.
    const bodies = Array.from({ length: 300 }, (_, i) => `concurrent entry ${i}`);
    const results = await Promise.all(bodies.map((b) => fetch(`${server!.url}/v1/entries`, { method: 'POST', body: b })));
    expect(results.every((r) => r.status === 200)).toBe(true);
    const checked = await checkServedLog((p) => fetch(server!.url + p), server.verifierKey);
    expect(checked.size).toBe(302);

    expect(await server.stop()).toBe(0);
    expect(server.output()).toContain('SIGTERM');
    server = undefined;
  });

  it('keygen writes a 0600 signer key that serve --key uses; env vars configure serve', async () => {
    const keyFile = join(dir, 'my.key');
    const kg = await candor(['keygen', '--name', 'keyed.example/log', '--out', keyFile]);
    expect(kg.code).toBe(0);
    const vkey = kg.stdout.trim();
    expect(vkey).toMatch(/^keyed\.example\/log\+[0-9a-f]{8}\+A[A-Za-z0-9+/]{43}$/);
    expect((await stat(keyFile)).mode & 0o777).toBe(0o600);
    expect((await candor(['keygen', '--name', 'x', '--out', keyFile])).code).not.toBe(0); // never overwrites

    server = await startServerProcess(join(dir, 'keyed'), ['--origin', 'keyed.example/log', '--key', keyFile]);
    expect(server.verifierKey).toBe(vkey);
    await server.stop();
    server = undefined;

    // The same directory refuses another origin.
    const wrong = await startServerProcess(join(dir, 'keyed'), ['--origin', 'other.example/log', '--key', keyFile]).catch((e: Error) => e);
    expect(wrong).toBeInstanceOf(Error);
    expect(String(wrong)).toContain('holds the log "keyed.example/log"');

    // A key file others can read is refused.
    await chmod(keyFile, 0o644);
    const loose = await startServerProcess(join(dir, 'keyed'), ['--key', keyFile]).catch((e: Error) => e);
    expect(String(loose)).toContain('readable by others');
  });

  it('rejects bad flags with usage and exit code 2', async () => {
    expect((await candor(['serve', '--port', 'abc'])).code).toBe(2);
    expect((await candor(['serve', '--bogus'])).code).toBe(2);
    expect((await candor(['frobnicate'])).code).toBe(2);
    expect((await candor(['keygen', '--name', 'has space', '--out', join(dir, 'k')])).code).toBe(2);
  });
});
