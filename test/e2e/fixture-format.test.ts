/**
 * On-disk format compatibility: every data directory under test/fixtures/data-v<N>/ was
 * written by an earlier candor (scripts/make-fixture.ts) and must keep opening with this
 * one. Each is copied to a temporary directory (the committed files are never touched) and
 * served by the real `candor serve`, then: the same tree (size and root of the checkpoint it
 * had), every entry byte for byte and hashing to the tiles and the root (checkServedLog),
 * every checkpoint ever handed out in a receipt consistent with it, inclusion proofs that
 * verify, the record index answering for every record; then it takes new entries and
 * records and is checked again, and again after a restart.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { chmod, cp, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { checkServedLog } from '../helpers/check-log.js';
import type { FixtureExpected } from '../helpers/fixture-expected.js';
import { openCheckpoint } from '../../src/checkpoint/checkpoint.js';
import { ed25519Verifier } from '../../src/note/keys.js';
import { verifyConsistency, verifyInclusion } from '../../src/merkle/verify.js';
import { leafHash } from '../../src/merkle/hash.js';
import { RKEYS, deployment, signed } from '../governance/records-fixture.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));

const unb64 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'base64'));

async function totalSize(dir: string): Promise<number> {
  let n = 0;
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    n += e.isDirectory() ? await totalSize(p) : (await stat(p)).size;
  }
  return n;
}

const fixtures = (await readdir(FIXTURES)).filter((d) => /^data-v[0-9]+$/.test(d)).sort();

describe('on-disk format fixtures', () => {
  const dirs: string[] = [];
  let server: ServerProcess | undefined;
  afterAll(async () => {
    await server?.kill();
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('there is at least the fixture of format 1, and each is small', async () => {
    expect(fixtures).toContain('data-v1');
    for (const f of fixtures) expect(await totalSize(join(FIXTURES, f))).toBeLessThan(1024 * 1024);
  });

  for (const name of fixtures) {
    it(`${name}: opens, checks, serves its records and appends`, async () => {
      const src = join(FIXTURES, name);
      const expected = JSON.parse(await readFile(join(src, 'expected.json'), 'utf8')) as FixtureExpected;
      const tmp = await mkdtemp(join(tmpdir(), `candor-${name}-`));
      dirs.push(tmp);
      await cp(src, tmp, { recursive: true });
      // Git does not keep the key file's mode; the server refuses a key others can read.
      await chmod(join(tmp, 'data', 'log.key'), 0o600);
      const start = async (): Promise<ServerProcess> =>
        (server = await startServerProcess(join(tmp, 'data'), ['--submitters', join(tmp, 'submitters.json')]));
      await start();
      expect(server!.verifierKey).toBe(expected.verifierKey);
      expect(server!.output()).toMatch(new RegExp(`serving ${expected.size} entries`));
      const verifier = ed25519Verifier(expected.verifierKey);
      const fetchFn = (p: string): Promise<Response> => fetch(server!.url + p);

      const then = openCheckpoint(expected.checkpoint, verifier, { origin: expected.origin }).checkpoint;
      const log = await checkServedLog(fetchFn, expected.verifierKey);
      expect(log.size).toBe(expected.size);
      expect(Buffer.from(log.rootHash).equals(Buffer.from(then.rootHash))).toBe(true);
      expect(log.entries.map((e) => Buffer.from(e).toString('base64'))).toEqual(expected.entries);

      const consistent = async (note: string, current: { size: number; rootHash: Uint8Array }): Promise<void> => {
        const old = openCheckpoint(note, verifier).checkpoint;
        const res = await fetchFn(`/v1/proof/consistency?from=${old.size}&to=${current.size}`);
        expect(res.status).toBe(200);
        const { hashes } = (await res.json()) as { hashes: string[] };
        expect(verifyConsistency(old.size, current.size, hashes.map(unb64), old.rootHash, current.rootHash)).toBe(true);
      };
      for (const note of expected.receiptCheckpoints) await consistent(note, log);
      for (const index of [0, 1, 100, expected.size - 1]) {
        const res = await fetchFn(`/v1/proof/inclusion?index=${index}&size=${log.size}`);
        const { hashes } = (await res.json()) as { hashes: string[] };
        const leaf = leafHash(unb64(expected.entries[index]!));
        expect(verifyInclusion(leaf, index, log.size, hashes.map(unb64), log.rootHash)).toBe(true);
      }
      const records = async (): Promise<void> => {
        for (const r of expected.records) {
          const res = await fetchFn(`/v1/records/${r.index}`);
          expect(res.status, `record ${r.index}`).toBe(200);
          const rec = (await res.json()) as { model: string; changeType: string; env: string | null; signer: { name: string } | null };
          expect(rec).toMatchObject({ model: r.model, changeType: r.changeType, signer: { name: r.signer } });
          if (r.env !== undefined) expect(rec.env).toBe(r.env);
        }
        const search = (await (await fetchFn('/v1/search?model=model-1&changeType=deployment')).json()) as {
          results: { index: number; approved?: boolean }[];
        };
        const dep = expected.records.find((r) => r.model === 'model-1' && r.changeType === 'deployment')!;
        expect(search.results).toEqual([expect.objectContaining({ index: dep.index, approved: true })]);
      };
      await records();

      // Appends: an entry, a batch, a record; all checked, and after a restart.
      const post = async (path: string, body: BodyInit, type?: string): Promise<unknown> => {
        const res = await fetch(server!.url + path, { method: 'POST', body, headers: type ? { 'Content-Type': type } : {} });
        expect(res.status, await res.clone().text()).toBe(200);
        return res.json();
      };
      const added = [Buffer.from(`${name} appended by this version\n`)];
      expect(await post('/v1/entries', added[0]!)).toMatchObject({ index: expected.size, duplicate: false });
      const batch = Array.from({ length: 5 }, (_, i) => Buffer.from(`${name} batch ${i}\n`));
      added.push(...batch);
      await post('/v1/entries/batch', JSON.stringify({ entries: batch.map((b) => b.toString('base64')) }), 'application/json');
      const rec = Buffer.from(signed(deployment('model-new', 'prod', 'e'.repeat(64)), RKEYS.dave));
      added.push(rec);
      expect(await post('/v1/records', rec, 'application/json')).toMatchObject({ index: expected.size + 6 });
      // Sending an old entry again finds it where it was: the dedup index came through.
      expect(await post('/v1/entries', Buffer.from(expected.entries[7]!, 'base64'))).toMatchObject({ index: 7, duplicate: true });

      for (let pass = 0; pass < 2; pass++) {
        if (pass === 1) {
          expect(await server!.stop()).toBe(0);
          await start();
        }
        const now = await checkServedLog(fetchFn, expected.verifierKey);
        expect(now.size).toBe(expected.size + added.length);
        expect(now.entries.slice(0, expected.size).map((e) => Buffer.from(e).toString('base64'))).toEqual(expected.entries);
        now.entries.slice(expected.size).forEach((e, i) => expect(Buffer.from(e).equals(added[i]!)).toBe(true));
        await consistent(expected.checkpoint, now);
        await records();
        const found = (await (await fetchFn('/v1/search?model=model-new')).json()) as { results: { index: number }[] };
        expect(found.results.map((r) => r.index)).toEqual([expected.size + 6]);
      }
      expect(await server!.stop()).toBe(0);
      server = undefined;
    }, 60_000);
  }
});
