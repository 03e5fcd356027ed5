/**
 * Issue 10, item 5, end to end with the real program: a DSSE envelope signed by a random
 * key but carrying an allowlisted keyid is refused by POST /v1/records, but POST
 * /v1/entries logs any bytes. Next to a real signed and approved record, the forged
 * deployment (and a forged approval of it) must never count: the search and record API
 * mark them `attributed: false`, `candor history` marks them UNATTRIBUTED, `candor state`
 * reports the real record (and lists the forged one as ignored), `verify-deployment`
 * ignores it (the forged digest is drift, not a pending change), an evidence pack counts it
 * as nothing and `verify-export` refuses a manifest that claims otherwise, and the
 * monitor raises `unverified-record` for both and nothing for the real ones.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatManifest, parseManifest } from '../../src/evidence/manifest.js';
import { encodeEnvelope, parseEnvelope } from '../../src/governance/dsse.js';
import { parseSubmitters } from '../../src/governance/submitters.js';
import { utf8 } from '../../src/util/bytes.js';
import { RFC8032, dssePrivatePem, ed25519Pem } from '../governance/helpers.js';
import { RKEYS, approval, deployment, recordsAllowlist, signed } from '../governance/records-fixture.js';
import { runCandor, startServerProcess, type ServerProcess } from '../helpers/server-process.js';

const ORIGIN = 'attribution.example/log';
const sha256 = (b: string | Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** `entry`, its signatures made by mallory's key but naming `keyid` (an allowlisted key's). */
function withKeyid(entry: Uint8Array, keyid: string): Uint8Array {
  const env = parseEnvelope(entry);
  return encodeEnvelope({ ...env, signatures: env.signatures.map((s) => ({ ...s, keyid })) });
}

interface Found {
  index: number;
  attributed: boolean;
  unattributed?: string;
  approved?: boolean;
  signer: { name: string } | null;
}

describe('records only from verified submitters (issue 10, item 5)', () => {
  let dir = '';
  let server: ServerProcess | undefined;
  const p = (name: string): string => join(dir, name);
  const url = (): string[] => ['--url', server!.url];
  const list = parseSubmitters(utf8(recordsAllowlist()));
  const keyidOf = (name: string): string => list.submitters.find((s) => s.name === name)!.keyid;
  const forged = deployment('fraud', 'prod', sha256('evil weights'), { reason: 'routine update' });
  let forgedEntry: Uint8Array = new Uint8Array();
  let forgedAt = -1;
  let forgedApprovalAt = -1;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'candor-attribution-e2e-'));
    await writeFile(p('alice.pem'), ed25519Pem(RFC8032.A.seed));
    await writeFile(p('bob.pem'), dssePrivatePem());
    await writeFile(p('model.bin'), 'the weights');
    await writeFile(p('submitters.json'), recordsAllowlist());
    server = await startServerProcess(p('data'), ['--origin', ORIGIN, '--submitters', p('submitters.json')]);
    await writeFile(p('policy.txt'), `log ${server.verifierKey} ${server.url}\nquorum none\n`);

    // The real record, signed by alice and approved by bob, through the real commands.
    const rec = await runCandor([
      'record', 'deployment', '--model', 'fraud', '--model-digest', `sha256:${sha256('the weights')}`,
      '--env', 'prod', '--reason', 'Q3 retrain', '--key', p('alice.pem'), '--wait', ...url(),
    ]);
    expect(rec.code, rec.stderr).toBe(0);
    const appr = await runCandor(['approve', '--entry', '0', '--key', p('bob.pem'), '--wait', ...url()]);
    expect(appr.code, appr.stderr).toBe(0);

    // The forged deployment: mallory's signature under alice's keyid; and a forged approval
    // of it under bob's keyid. The record API refuses both; the raw entry API logs them.
    forgedEntry = withKeyid(signed(forged, RKEYS.mallory), keyidOf('alice'));
    const refused = await fetch(`${server.url}/v1/records`, { method: 'POST', body: forgedEntry as BodyInit });
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('BAD_SIGNATURE');
    const raw = async (body: Uint8Array): Promise<number> => {
      const res = await fetch(`${server!.url}/v1/entries`, { method: 'POST', body: body as BodyInit });
      expect(res.status).toBe(200);
      return ((await res.json()) as { index: number }).index;
    };
    forgedAt = await raw(forgedEntry);
    forgedApprovalAt = await raw(withKeyid(approval(forged, forgedEntry, forgedAt, RKEYS.mallory), keyidOf('bob')));
    expect([forgedAt, forgedApprovalAt]).toEqual([2, 3]);
    // The index picks raw entries up by polling the log.
    const deadline = Date.now() + 10_000;
    while ((await fetch(`${server.url}/v1/records/${forgedApprovalAt}`)).status !== 200) {
      if (Date.now() > deadline) throw new Error('the record index did not catch up');
      await new Promise((r) => setTimeout(r, 50));
    }
  });
  afterAll(async () => {
    await server?.kill();
    await rm(dir, { recursive: true, force: true });
  });

  it('the search and record API mark the forged records unattributed and never approved', async () => {
    const page = (await (await fetch(`${server!.url}/v1/search?model=fraud`)).json()) as { results: Found[] };
    const byIndex = new Map(page.results.map((r) => [r.index, r]));
    expect(byIndex.get(0)).toMatchObject({ attributed: true, approved: true, signer: { name: 'alice' } });
    expect(byIndex.get(0)!.unattributed).toBeUndefined();
    expect(byIndex.get(1)).toMatchObject({ attributed: true, signer: { name: 'bob' } });
    const f = byIndex.get(forgedAt)!;
    expect(f).toMatchObject({ attributed: false, approved: false, signer: null });
    expect(f.unattributed).toMatch(/^BAD_SIGNATURE: a signature names alice's key but does not verify under it/);
    const one = (await (await fetch(`${server!.url}/v1/records/${forgedApprovalAt}`)).json()) as Found;
    expect(one).toMatchObject({ attributed: false, signer: null });
    expect(one.unattributed).toMatch(/^BAD_SIGNATURE: a signature names bob's key/);
    // The forged approval is listed under the forged change, not counted.
    const change = f as Found & { approvals: { index: number; counted: boolean }[] };
    expect(change.approvals).toMatchObject([{ index: forgedAt + 1, counted: false }]);
    // Search by signer finds only what alice really signed.
    const alice = (await (await fetch(`${server!.url}/v1/search?signer=alice`)).json()) as { results: Found[] };
    expect(alice.results.map((r) => r.index)).toEqual([0]);
  });

  it('candor history marks them UNATTRIBUTED, from the index and under --submitters', async () => {
    for (const extra of [[], ['--submitters', p('submitters.json')]]) {
      const h = await runCandor(['history', '--model', 'fraud', ...extra, ...url()]);
      expect(h.code, h.stderr).toBe(0);
      expect(h.stdout).toMatch(/^fraud: 1 change, 1 approval record, 2 UNATTRIBUTED records \(not counted\)/);
      expect(h.stdout).toMatch(
        new RegExp(`entry ${forgedAt} {2}deployment {2}prod\\n {4}by an unknown key .*\\n {4}UNATTRIBUTED: not a governance record of this model \\(BAD_SIGNATURE`)
      );
      expect(h.stdout).toMatch(/entry 0 {2}deployment {2}prod\n {4}by alice \(engineer\)\n/);
      expect(h.stdout).not.toMatch(/entry 0 [^\n]*\n(?: {4}[^\n]*\n)* {4}UNATTRIBUTED/);
      const json = JSON.parse((await runCandor(['history', '--model', 'fraud', '--json', ...extra, ...url()])).stdout) as { records: Found[] };
      expect(json.records.map((r) => [r.index, r.attributed])).toEqual([[0, true], [1, true], [2, false], [3, false]]);
    }
  });

  it('candor state reports the real record, not the newer forged one', async () => {
    for (const extra of [[], ['--submitters', p('submitters.json')]]) {
      const args = ['state', '--model', 'fraud', '--env', 'prod', '--policy', p('policy.txt'), ...extra, ...url()];
      const text = await runCandor(args);
      expect(text.code, text.stderr).toBe(0);
      expect(text.stdout).toContain(`artifact: sha256:${sha256('the weights')}`);
      expect(text.stdout).not.toContain(sha256('evil weights'));
      expect(text.stdout).toMatch(new RegExp(`ignored: entry ${forgedAt} \\(deployment, logged [^)]*\\): UNATTRIBUTED: BAD_SIGNATURE`));
      const json = JSON.parse((await runCandor([...args, '--json'])).stdout) as {
        artifact: { index: number; attributed: boolean; approved: boolean };
        latest: { index: number };
        ignored: { index: number; attributed: boolean; unattributed: string }[];
      };
      expect(json.artifact).toMatchObject({ index: 0, attributed: true, approved: true });
      expect(json.latest.index).toBe(0);
      expect(json.ignored).toMatchObject([{ index: forgedAt, attributed: false }]);
      expect(json.ignored[0]!.unattributed).toMatch(/^BAD_SIGNATURE/);
    }
  });

  it('candor verify-deployment ignores the forged record', async () => {
    const verify = (...more: string[]): ReturnType<typeof runCandor> =>
      runCandor(['verify-deployment', '--model', 'fraud', '--env', 'prod', '--policy', p('policy.txt'), ...url(), ...more]);
    const ok = await verify('--artifact', p('model.bin'), '--json');
    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ ok: true, record: { index: 0 }, ignored: [{ index: forgedAt }] });
    // The forged digest deployed: drift from the governing record, not "a newer change
    // awaiting approval".
    for (const extra of [[], ['--submitters', p('submitters.json')]]) {
      const evil = await verify('--digest', sha256('evil weights'), ...extra);
      expect(evil.code).toBe(4);
      expect(evil.stderr).toMatch(/FAILED \(ARTIFACT_DRIFT\).*the latest approved record, entry 0 \(deployment by alice/);
      expect(evil.stderr).toMatch(new RegExp(`ignored: entry ${forgedAt} .*UNATTRIBUTED: BAD_SIGNATURE`));
      // Even without requiring an approval, the forged record never governs.
      expect((await verify('--digest', sha256('evil weights'), '--no-require-approval', ...extra)).code).toBe(4);
      expect((await verify('--artifact', p('model.bin'), '--no-require-approval', ...extra)).code).toBe(0);
    }
  });

  it('an evidence pack counts the forged records as nothing, and verify-export holds it to that', async () => {
    const out = p('pack');
    const exp = await runCandor([
      'export', '--model', 'fraud', '--out', out, '--policy', p('policy.txt'), '--submitters', p('submitters.json'), '--json', ...url(),
    ]);
    expect(exp.code, exp.stderr).toBe(0);
    const manifest = JSON.parse(await readFile(join(out, 'manifest.json'), 'utf8')) as {
      records: { index: number; attributed?: boolean; unattributed?: string; signer: unknown }[];
    };
    expect(manifest.records.map((r) => [r.index, r.attributed])).toEqual([[0, true], [1, true], [2, false], [3, false]]);
    expect(manifest.records[2]!.unattributed).toMatch(/^BAD_SIGNATURE/);
    const report = await readFile(join(out, 'report.md'), 'utf8');
    expect(report).toMatch(/\| Changes in the period \| 1 \(1 deployment\) \|/);
    expect(report).toMatch(/\| Approved \| 1 of 1 \|/);
    expect(report).toMatch(/\| Approval records \| 1 \(1 counting\) \|/);
    // Markdown escapes the underscore.
    expect(report).toContain('| Unattributed (not counted) | entry 2 (deployment: BAD\\_SIGNATURE), entry 3 (approval: BAD\\_SIGNATURE) |');
    expect(report).toContain('**UNATTRIBUTED**');
    const ok = await runCandor(['verify-export', out, '--policy', p('policy.txt'), '--submitters', p('submitters.json')]);
    expect(ok.code, ok.stderr + ok.stdout).toBe(0);

    // A manifest that passes the forged deployment off as attributed (in the exact form
    // candor writes) is refused.
    const lie = parseManifest(await readFile(join(out, 'manifest.json')));
    lie.records[2]!.attributed = true;
    delete lie.records[2]!.unattributed;
    await writeFile(join(out, 'manifest.json'), formatManifest(lie));
    const bad = await runCandor(['verify-export', out, '--policy', p('policy.txt'), '--json']);
    expect(bad.code).not.toBe(0);
    expect(bad.stdout + bad.stderr).toMatch(/CLAIM_MISMATCH[\s\S]*says it is attributed, but under submitters\.json it is not attributed \(BAD_SIGNATURE/);
  });

  it('the monitor raises unverified-record for the forged records only', async () => {
    const run = await runCandor([
      'monitor', '--policy', p('policy.txt'), '--state', p('monitor'), '--once', '--submitters', p('submitters.json'), ...url(),
    ]);
    expect(run.code, run.stderr).toBe(9);
    const alerts = run.stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { type: string; rule: string; entry: { index: number }; details: { why?: string } })
      .filter((a) => a.type === 'rule-alert');
    expect(alerts.map((a) => `${a.rule}@${a.entry.index}`).sort()).toEqual([
      `unverified-record@${forgedAt}`,
      `unverified-record@${forgedApprovalAt}`,
    ]);
    expect(alerts[0]!.details.why).toMatch(/^BAD_SIGNATURE/);
  });
});
