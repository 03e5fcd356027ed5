/**
 * The record API end to end with the real program: `candor serve --submitters FILE`, the
 * real `candor record`, `approve`, `history`, `state`, `verify-deployment` and `reindex`
 * processes; the allowlist reloaded by its file watch and by SIGHUP; the record index
 * surviving a restart, catching up after a SIGKILL left entries committed to the log but
 * never indexed, and rebuilt from scratch to the same answers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServerProcess, type ServerProcess, runCandor, type CliResult } from '../helpers/server-process.js';
import { until } from '../helpers/until.js';
import { Log } from '../../src/log/log.js';
import { LevelStore } from '../../src/storage/level-store.js';
import { ed25519Signer } from '../../src/note/keys.js';
import { readKeyFile } from '../../src/server/keyfile.js';
import { SHA_B } from '../governance/helpers.js';
import { RKEYS, deployment, recordsAllowlist, signed } from '../governance/records-fixture.js';
import { RFC8032, dssePrivatePem, ed25519Pem } from '../governance/helpers.js';

const ORIGIN = 'records.example/log';

const candor = (args: string[]): Promise<CliResult> => runCandor(args);

const sha256 = (b: string | Uint8Array): string => createHash('sha256').update(b).digest('hex');

describe('governance records end to end (candor serve --submitters)', () => {
  let dir = '';
  let data = '';
  let server: ServerProcess | undefined;
  const p = (name: string): string => join(dir, name);
  const post = (body: Uint8Array): Promise<Response> =>
    fetch(`${server!.url}/v1/records`, { method: 'POST', body: body as BodyInit, headers: { 'content-type': 'application/json' } });
  const search = async (q: string): Promise<{ index: number; approved?: boolean }[]> =>
    ((await (await fetch(`${server!.url}/v1/search?${q}`)).json()) as { results: { index: number; approved?: boolean }[] }).results;
  const start = async (...extra: string[]): Promise<ServerProcess> =>
    (server = await startServerProcess(data, ['--origin', ORIGIN, '--submitters', p('submitters.json'), ...extra]));

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'candor-records-e2e-'));
    data = p('data');
    await writeFile(p('alice.pem'), ed25519Pem(RFC8032.A.seed));
    await writeFile(p('bob.pem'), dssePrivatePem()); // ECDSA P-256
    await writeFile(p('model.bin'), 'the weights');
    await writeFile(p('other.bin'), 'other weights');
    await writeFile(p('config.json'), JSON.stringify({ temperature: '0.2', guardrail: { toxicity_threshold: '0.8' } }));
    await writeFile(p('submitters.json'), recordsAllowlist());
  });
  afterAll(async () => {
    await server?.kill();
    await rm(dir, { recursive: true, force: true });
  });

  it('records, approves and verifies a deployment with the real commands', async () => {
    await start();
    expect(server!.output()).toMatch(/records: 4 submitter keys from .*submitters.json/);
    await writeFile(p('policy.txt'), `log ${server!.verifierKey} ${server!.url}\nquorum none\n`);
    const url = ['--url', server!.url];
    const rec = await candor([
      'record', 'deployment', '--model', 'fraud', '--model-digest', `sha256:${sha256('the weights')}`,
      '--config', p('config.json'), '--env', 'prod', '--reason', 'Q3 retrain', '--ticket', 'AI-7',
      '--key', p('alice.pem'), '--wait', '--timeout', '10', '--policy', p('policy.txt'), ...url,
    ]);
    expect(rec.stderr).toMatch(/logged as entry 0/);
    expect(rec.code).toBe(0);
    expect(JSON.parse(rec.stdout)).toMatchObject({ index: 0, duplicate: false, record: { signer: 'alice', indexed: true } });

    const verify = (...more: string[]): Promise<{ code: number; stdout: string; stderr: string }> =>
      candor(['verify-deployment', '--model', 'fraud', '--env', 'prod', '--policy', p('policy.txt'), ...url, ...more]);
    const unapproved = await verify('--artifact', p('model.bin'));
    expect(unapproved.code).toBe(6);
    expect(unapproved.stderr).toMatch(/MISSING_APPROVAL.*it has no approval/);

    const appr = await candor(['approve', '--entry', '0', '--key', p('bob.pem'), '--reason', 'evals ok', '--wait', ...url]);
    expect(appr.code).toBe(0);
    expect(appr.stderr).toMatch(/approving entry 0: deployment of fraud in prod/);
    expect((await search('model=fraud&changeType=deployment'))[0]).toMatchObject({ index: 0, approved: true });

    const ok = await verify('--artifact', p('model.bin'), '--config', p('config.json'));
    expect(ok.stdout).toMatch(/^OK: fraud in prod runs sha256:.* approved by bob/);
    expect(ok.code).toBe(0);
    expect((await verify('--artifact', p('other.bin'))).code).toBe(4);
    const json = await verify('--digest', sha256('the weights'), '--json');
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: true, record: { index: 0, approvedBy: ['bob'] } });

    const history = await candor(['history', '--model', 'fraud', ...url]);
    expect(history.code).toBe(0);
    expect(history.stdout).toMatch(/entry 0 {2}deployment {2}prod\n {4}by alice \(engineer\)\n {4}reason: Q3 retrain\n {4}ticket: AI-7/);
    expect(history.stdout).toMatch(/approved by bob at .* \(entry 1\) "evals ok"/);
    const state = await candor(['state', '--model', 'fraud', '--env', 'prod', '--policy', p('policy.txt'), ...url]);
    expect(state.code).toBe(0);
    expect(state.stdout).toMatch(/artifact: sha256:[\s\S]*approved[\s\S]*proofs: every record above verified/);
  });

  it('reloads the allowlist without a restart: by its file watch and on SIGHUP', async () => {
    const carolEntry = (n: number): Uint8Array => signed(deployment('chat', 'prod', SHA_B, { reason: `carol ${n}` }), RKEYS.mallory);
    expect((await post(carolEntry(0))).status).toBe(403);
    const carol = { name: 'carol', roles: ['engineer'], publicKey: Buffer.from(RKEYS.mallory.publicKey.spki).toString('base64') };
    // An editor's save: write a new file and rename it over the old one.
    await writeFile(p('submitters.new'), recordsAllowlist([carol]));
    await rename(p('submitters.new'), p('submitters.json'));
    const accepted = await until('carol accepted', async () => {
      const res = await post(carolEntry(1));
      return res.status === 200 ? res : undefined;
    }, 8000, 50);
    expect(((await accepted.json()) as { record: { signer: string } }).record.signer).toBe('carol');
    expect(server!.output()).toMatch(/reloaded .*submitters.json: 5 submitter keys/);
    // Removed, and SIGHUP (the watch may see it too; either way it must be refused soon).
    await writeFile(p('submitters.json'), recordsAllowlist());
    server!.proc.kill('SIGHUP');
    // Whichever of the two reloads it first, the server says so once; from then on carol is out.
    await until('the reload', async () => (/reloaded .*submitters.json: 4 submitter keys/.test(server!.output()) ? true : undefined), 8000, 50);
    expect((await post(carolEntry(2))).status).toBe(403);
    const before = (await (await fetch(`${server!.url}/healthz`)).json()) as { size: number };
    expect(before.size).toBe(3);
    // Removing her key withdraws the attribution of what she signed (the index judges its
    // records again under the list in force).
    const withdrawn = await until("carol's record withdrawn", async () => {
      const r = (await (await fetch(`${server!.url}/v1/records/2`)).json()) as { attributed: boolean; unattributed?: string };
      return r.attributed ? undefined : r;
    }, 8000, 50);
    expect(withdrawn.unattributed).toMatch(/^UNKNOWN_KEY/);
  });

  it('keeps the index across restarts, catches up after a kill, and rebuilds to the same answers', async () => {
    const all = async (): Promise<unknown[]> => (await (await fetch(`${server!.url}/v1/search`)).json() as { results: unknown[] }).results;
    const before = await all();
    expect(before).toHaveLength(3);
    expect(await server!.stop()).toBe(0);
    await start();
    expect(server!.output()).not.toMatch(/catching up/);
    expect(await all()).toEqual(before);

    // SIGKILL, then entries committed to the log that the index never saw: exactly the
    // state a kill between the log's commit and the index's write leaves.
    await server!.kill();
    const store = new LevelStore(join(data, 'db'));
    await store.open();
    const log = await Log.open({ store, signer: ed25519Signer(await readKeyFile(join(data, 'log.key'))), origin: ORIGIN });
    for (let i = 0; i < 3; i++) await log.add(signed(deployment('fraud', 'staging', SHA_B, { reason: `offline ${i}` }), RKEYS.alice));
    await log.drain();
    await store.close();
    await start();
    expect(server!.output()).toMatch(/record index: catching up with 3 entries/);
    const staging = await search('model=fraud&env=staging');
    expect(staging.map((r) => r.index)).toEqual([3, 4, 5]);
    const incremental = await all();
    expect(incremental).toHaveLength(6);

    // carol back on the list while the server is down: the index judges its records again
    // when it opens, and her record is hers again.
    expect(await server!.stop()).toBe(0);
    const carol = { name: 'carol', roles: ['engineer'], publicKey: Buffer.from(RKEYS.mallory.publicKey.spki).toString('base64') };
    await writeFile(p('submitters.json'), recordsAllowlist([carol]));
    await start();
    const rejudged = await all();
    expect(rejudged[2]).toMatchObject({ index: 2, attributed: true, signer: { name: 'carol' } });
    expect(rejudged.filter((_, i) => i !== 2)).toEqual(incremental.filter((_, i) => i !== 2));
    expect(server!.output()).toMatch(/the allowlist changed: 1 records judged anew/);
    // Rebuilt offline, and with --reindex: the same answers.
    expect(await server!.stop()).toBe(0);
    const reindex = await candor(['reindex', '--data', data, '--submitters', p('submitters.json')]);
    expect(reindex.stderr).toBe('');
    expect(reindex.stdout).toMatch(/indexed 6 entries of .*: 6 records/);
    expect(reindex.code).toBe(0);
    await start('--reindex');
    expect(server!.output()).toMatch(/rebuilding the record index from 6 entries/);
    expect(await all()).toEqual(rejudged);
    // The index is locked while the server runs: reindex says so.
    const locked = await candor(['reindex', '--data', data, '--submitters', p('submitters.json')]);
    expect(locked.code).toBe(1);
    expect(locked.stderr).toMatch(/locked/);
    expect(await server!.stop()).toBe(0);
    server = undefined;
  });
});
