/**
 * Writes an on-disk format fixture: a data directory made by THIS version of candor, with
 * the real `candor serve` (dist/cli/main.js) on 127.0.0.1, for test/storage/fixture.test.ts
 * to open, check and append to in every later version.
 *
 * Usage: npm run build && tsc -p tsconfig.scripts.json &&
 *        node dist-scripts/scripts/make-fixture.js test/fixtures/data-v<N>
 *
 * The directory gets: `data/` (the log's LevelDB stores, the record index, `log.key`, a
 * fixed test key: never a real one), `submitters.json` (the allowlist the records were
 * checked against) and `expected.json` (every entry, every checkpoint handed out in a
 * receipt, the records and what the index must answer for them). Entries are sent one
 * request at a time, so their order, and so the tree, is the same on every run; only the
 * checkpoint timestamps and signatures differ. Refuses to overwrite an existing fixture:
 * a fixture, once committed, is never rewritten; a new format gets a new directory.
 */
import { mkdir, writeFile, access, chmod } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { startServerProcess } from '../test/helpers/server-process.js';
import type { FixtureExpected } from '../test/helpers/fixture-expected.js';
import { formatSignerKey } from '../src/note/keys.js';
import { RKEYS, approval, deployment, recordsAllowlist, safetyConfig, signed } from '../test/governance/records-fixture.js';

export const FIXTURE_ORIGIN = 'fixture.candor.dev/log';
/** The fixture log's key: a fixed, published test seed. */
export const FIXTURE_SIGNER_KEY = formatSignerKey(FIXTURE_ORIGIN, new Uint8Array(32).fill(0x5a));

const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');

async function main(): Promise<void> {
  const out = resolve(process.argv[2] ?? '');
  if (process.argv[2] === undefined) throw new Error('usage: make-fixture.js DIR (e.g. test/fixtures/data-v1)');
  try {
    await access(out);
    throw new Error(`${out} exists: a committed fixture is never rewritten; make a new data-v<N>`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const data = join(out, 'data');
  await mkdir(data, { recursive: true });
  await writeFile(join(data, 'log.key'), `${FIXTURE_SIGNER_KEY}\n`, { mode: 0o600 });
  await chmod(join(data, 'log.key'), 0o600);
  await writeFile(join(out, 'submitters.json'), recordsAllowlist());
  const start = (): ReturnType<typeof startServerProcess> =>
    startServerProcess(data, ['--origin', FIXTURE_ORIGIN, '--submitters', join(out, 'submitters.json')]);
  let server = await start();
  const expected: FixtureExpected = {
    origin: FIXTURE_ORIGIN,
    verifierKey: server.verifierKey,
    size: 0,
    checkpoint: '',
    receiptCheckpoints: [],
    entries: [],
    records: [],
  };
  const take = (r: { index: number; checkpoint: string }, entry: Uint8Array): void => {
    if (r.index !== expected.entries.length) throw new Error(`entry logged at ${r.index}, expected ${expected.entries.length}`);
    expected.entries.push(b64(entry));
    if (expected.receiptCheckpoints.at(-1) !== r.checkpoint) expected.receiptCheckpoints.push(r.checkpoint);
  };
  const post = async (path: string, body: Uint8Array | string, type?: string): Promise<unknown> => {
    const headers: Record<string, string> = type === undefined ? {} : { 'Content-Type': type };
    const res = await fetch(`${server.url}${path}`, { method: 'POST', body: body as BodyInit, headers });
    if (res.status !== 200) throw new Error(`POST ${path}: HTTP ${res.status} ${await res.text()}`);
    return res.json();
  };
  try {
    let n = 0;
    const entry = (): Uint8Array => new TextEncoder().encode(`fixture entry ${n++}: ${'x'.repeat(n % 97)}\n`);
    for (let round = 0; round < 4; round++) {
      if (round === 2) {
        // A restart half way: LevelDB turns its write-ahead log into sorted tables on open,
        // so the fixture holds both forms (tables and a write-ahead log).
        const code = await server.stop();
        if (code !== 0) throw new Error(`candor serve exited with ${code}:\n${server.output()}`);
        server = await start();
      }
      for (let i = 0; i < 15; i++) {
        const e = entry();
        take((await post('/v1/entries', e)) as { index: number; checkpoint: string }, e);
      }
      const batch = Array.from({ length: 60 }, entry);
      const { receipts } = (await post('/v1/entries/batch', JSON.stringify({ entries: batch.map(b64) }), 'application/json')) as {
        receipts: { index: number; checkpoint: string }[];
      };
      receipts.forEach((r, k) => take(r, batch[k]!));
      // Governance records through the record API: a deployment, its approval, a config change.
      const model = `model-${round}`;
      const change = deployment(model, 'prod', String(round).repeat(64));
      const dep = signed(change, RKEYS.alice);
      const rd = (await post('/v1/records', dep, 'application/json')) as { index: number; checkpoint: string };
      take(rd, dep);
      expected.records.push({ index: rd.index, signer: 'alice', model, env: 'prod', changeType: 'deployment' });
      const appr = approval(change, dep, rd.index, RKEYS.bob);
      const ra = (await post('/v1/records', appr, 'application/json')) as { index: number; checkpoint: string };
      take(ra, appr);
      expected.records.push({ index: ra.index, signer: 'bob', model, changeType: 'approval' });
      const cfg = signed(safetyConfig(model, 'staging', JSON.stringify({ temperature: `0.${round}` })), RKEYS.ci);
      const rc = (await post('/v1/records', cfg, 'application/json')) as { index: number; checkpoint: string };
      take(rc, cfg);
      expected.records.push({ index: rc.index, signer: 'release-ci', model, env: 'staging', changeType: 'safety-config' });
    }
    const note = await (await fetch(`${server.url}/checkpoint`)).text();
    expected.checkpoint = note;
    expected.size = expected.entries.length;
  } catch (err) {
    await server.kill();
    throw err;
  }
  const code = await server.stop();
  if (code !== 0) throw new Error(`candor serve exited with ${code}:\n${server.output()}`);
  await writeFile(join(out, 'expected.json'), `${JSON.stringify(expected, null, 1)}\n`);
  console.log(`wrote ${out}: ${expected.size} entries, ${expected.receiptCheckpoints.length} receipt checkpoints, ${expected.records.length} records`);
}

await main();
