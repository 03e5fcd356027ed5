/**
 * `candor history`, `candor state` and `candor verify-deployment` in process, against the
 * record API fixture (records-fixture.ts) through injected fetch: outputs, verdicts and
 * their exit codes, and a log that lies (tampered proofs, entries, index answers).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { historyCommand } from '../../src/cli/history.js';
import { stateCommand } from '../../src/cli/state.js';
import { verifyDeploymentCommand } from '../../src/cli/verify-deployment.js';
import { RECORDS_EXIT } from '../../src/cli/records-client.js';
import type { GovernanceIo } from '../../src/cli/governance-io.js';
import { parsePolicy } from '../../src/client/policy.js';
import { verifyProofFile } from '../../src/client/proof-file.js';
import { SHA_C } from './helpers.js';
import { WITNESS_VKEY } from './fake-records-server.js';
import {
  LOG_URL,
  POLICY,
  RKEYS,
  T0,
  approval,
  deployment,
  recordsAllowlist,
  safetyConfig,
  signed,
  startRecordsFixture,
  type RecordsFixture,
} from './records-fixture.js';

let dir = '';
const path = (name: string): string => join(dir, name);
const sha256 = (b: string | Uint8Array): string => createHash('sha256').update(b).digest('hex');
const CONFIG = JSON.stringify({ temperature: '0.2', guardrail: { toxicity_threshold: '0.85' }, system_prompt: 'Be kind.' });
const CONFIG_DRIFTED = JSON.stringify({ temperature: '0.2', guardrail: { toxicity_threshold: '0.60' }, system_prompt: 'Be kind.' });
const WEIGHTS = 'weights v1';
const WEIGHTS_2 = 'weights v2';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'candor-records-cli-'));
  await writeFile(path('model.bin'), WEIGHTS);
  await writeFile(path('model2.bin'), WEIGHTS_2);
  await writeFile(path('config.json'), CONFIG);
  await writeFile(path('drifted.json'), CONFIG_DRIFTED);
  await writeFile(path('policy.txt'), POLICY);
  await writeFile(path('witnessed-policy.txt'), `${POLICY.replace('quorum none\n', '')}witness w1 ${WITNESS_VKEY}\nquorum w1\n`);
  await writeFile(path('submitters.json'), recordsAllowlist());
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

let f: RecordsFixture;
const sink = { out: '', err: '' };
let io: GovernanceIo;
beforeEach(async () => {
  f = await startRecordsFixture();
  sink.out = '';
  sink.err = '';
  io = f.io(sink);
});

/**
 * fraud-detector in prod-eu-1:
 *   0  deployment of WEIGHTS with CONFIG by release-ci, T0
 *   1  approval of 0 by bob, T0+10min
 */
async function deployApproved(): Promise<void> {
  const p = deployment('fraud-detector', 'prod-eu-1', sha256(WEIGHTS), {
    config: (await import('../../src/governance/config-snapshot.js')).snapshotConfig(Buffer.from(CONFIG)),
    ticket: 'AI-1',
  });
  const e = signed(p, RKEYS.ci);
  await f.submit(e);
  f.clock.now = T0 + 600_000;
  await f.submit(approval(p, e, 0, RKEYS.bob));
  f.clock.now = T0 + 3600_000;
}

const verify = (...args: string[]): Promise<number> =>
  verifyDeploymentCommand(['--model', 'fraud-detector', '--env', 'prod-eu-1', '--policy', path('policy.txt'), ...args], io);

describe('candor verify-deployment', () => {
  test('OK for the approved artifact and configuration, by file or digest', async () => {
    await deployApproved();
    expect(await verify('--artifact', path('model.bin'), '--config', path('config.json'))).toBe(0);
    expect(sink.out).toMatch(/^OK: fraud-detector in prod-eu-1 runs sha256:[0-9a-f]{64} as logged in entry 0 \(deployment by release-ci, logged 2026-03-03T12:00:00Z\), approved by bob; config sha256:.* as logged in entry 0; proven in test.example\/log at tree size 2 \(no witnesses required\)\n$/);
    sink.out = '';
    expect(await verify('--digest', `sha256:${sha256(WEIGHTS)}`, '--json')).toBe(0);
    const report = JSON.parse(sink.out) as { ok: boolean; record: { proof: string; index: number }; artifact: unknown };
    expect(report).toMatchObject({ ok: true, exitCode: 0, artifact: { ok: true, entry: 0 }, record: { index: 0, approvedBy: ['bob'] } });
    const entry = new Uint8Array(await (await f.app.request('/v1/entries/0')).arrayBuffer());
    expect(verifyProofFile(report.record.proof, entry, parsePolicy(POLICY)).index).toBe(0);
  });

  test('exit 4 on artifact drift', async () => {
    await deployApproved();
    expect(await verify('--artifact', path('model2.bin'))).toBe(RECORDS_EXIT.ARTIFACT_DRIFT);
    expect(sink.err).toMatch(/FAILED \(ARTIFACT_DRIFT\): artifact drift: the deployed artifact is sha256:[0-9a-f]{64}, but the latest approved record, entry 0 \(deployment by release-ci/);
  });

  test('exit 5 on configuration drift, with the parameter-level difference', async () => {
    await deployApproved();
    expect(await verify('--artifact', path('model.bin'), '--config', path('drifted.json'))).toBe(RECORDS_EXIT.CONFIG_DRIFT);
    expect(sink.err).toMatch(/FAILED \(CONFIG_DRIFT\): configuration drift: .*drifted.json is sha256:/);
    expect(sink.err).toMatch(/~ guardrail.toxicity_threshold: "0.85" -> "0.60" \(decreased\)/);
    expect(sink.err).not.toMatch(/Be kind/); // the prompt shows as a digest only
    sink.out = '';
    expect(await verify('--artifact', path('model.bin'), '--config', path('drifted.json'), '--json')).toBe(5);
    const r = JSON.parse(sink.out) as { diff: { changes: { path: string }[] }; problems: unknown[] };
    expect(r.diff.changes.map((c) => c.path)).toEqual(['guardrail.toxicity_threshold']);
  });

  test('exit 6 when the deployed change lacks approval; an older approved one still verifies', async () => {
    await deployApproved();
    await f.submit(signed(deployment('fraud-detector', 'prod-eu-1', sha256(WEIGHTS_2)), RKEYS.alice));
    expect(await verify('--artifact', path('model2.bin'))).toBe(RECORDS_EXIT.MISSING_APPROVAL);
    expect(sink.err).toMatch(/is that of entry 2 \(deployment by alice.*\), which is not approved: it has no approval/);
    expect(await verify('--artifact', path('model.bin'))).toBe(0);
    expect(await verify('--artifact', path('model2.bin'), '--no-require-approval')).toBe(0);
    expect(await verify('--artifact', path('model.bin'), '--no-require-approval')).toBe(RECORDS_EXIT.ARTIFACT_DRIFT);
  });

  test('self-approval does not count, by the signer or by the author CI signed for', async () => {
    const p = deployment('fraud-detector', 'prod-eu-1', sha256(WEIGHTS));
    const e = signed(p, RKEYS.dave);
    await f.submit(e);
    await f.submit(approval(p, e, 0, RKEYS.dave));
    expect(await verify('--artifact', path('model.bin'))).toBe(RECORDS_EXIT.MISSING_APPROVAL);
    expect(sink.err).toMatch(/no record of fraud-detector in prod-eu-1 is approved: .*not counted: self-approval: dave signed the change/);
    sink.err = '';
    const q = deployment('fraud-detector', 'prod-eu-1', sha256(WEIGHTS_2), { author: 'bob' });
    const e2 = signed(q, RKEYS.ci);
    await f.submit(e2);
    await f.submit(approval(q, e2, 2, RKEYS.bob));
    expect(await verify('--artifact', path('model2.bin'))).toBe(RECORDS_EXIT.MISSING_APPROVAL);
    expect(sink.err).toMatch(/self-approval: bob is the change's author/);
  });

  test('a rejection vetoes; an approver without the role on a local allowlist does not count', async () => {
    await deployApproved();
    const local = JSON.parse(recordsAllowlist()) as { submitters: { name: string; roles: string[] }[] };
    local.submitters.find((s) => s.name === 'bob')!.roles = ['engineer'];
    await writeFile(path('local.json'), JSON.stringify(local));
    expect(await verify('--artifact', path('model.bin'), '--submitters', path('local.json'))).toBe(6);
    expect(sink.err).toMatch(/bob does not have the approver role/);
    expect(await verify('--artifact', path('model.bin'), '--submitters', path('submitters.json'))).toBe(0);
    const entry0 = new Uint8Array(await (await f.app.request('/v1/entries/0')).arrayBuffer());
    await f.submit(approval(deployment('fraud-detector', 'prod-eu-1', sha256(WEIGHTS)), entry0, 0, RKEYS.dave, 'reject'));
    expect(await verify('--artifact', path('model.bin'))).toBe(6);
    expect(sink.err).toMatch(/rejected by dave/);
  });

  test('exit 3 for a model or environment with no record', async () => {
    await deployApproved();
    expect(await verifyDeploymentCommand(['--model', 'nope', '--env', 'prod-eu-1', '--digest', SHA_C, '--policy', path('policy.txt')], io)).toBe(3);
    expect(sink.err).toMatch(/FAILED \(NO_RECORD\): nothing is logged for nope in prod-eu-1/);
    expect(await verifyDeploymentCommand(['--model', 'fraud-detector', '--env', 'prod-us', '--digest', SHA_C, '--policy', path('policy.txt'), '--json'], io)).toBe(3);
    expect(JSON.parse(sink.out.trim().split('\n').pop()!)).toMatchObject({ ok: false, exitCode: 3, error: { code: 'NO_RECORD' } });
  });

  test('exit 7 when the log lies: a tampered proof, entry or index answer', async () => {
    await deployApproved();
    const tamper = (match: RegExp, edit: (body: Uint8Array) => Uint8Array): GovernanceIo =>
      f.io(sink, async (url, init) => {
        const res = await f.fetch(url, init);
        if (!match.test(url)) return res;
        const body = edit(new Uint8Array(await res.arrayBuffer()));
        return new Response(body as BodyInit, { status: res.status, headers: res.headers });
      });
    const args = ['--model', 'fraud-detector', '--env', 'prod-eu-1', '--artifact', path('model.bin'), '--policy', path('policy.txt')];
    const flipProof = tamper(/\/v1\/proof\/inclusion/, (b) => {
      const o = JSON.parse(Buffer.from(b).toString()) as { hashes: string[] };
      o.hashes[0] = Buffer.alloc(32, 7).toString('base64');
      return Buffer.from(JSON.stringify(o));
    });
    expect(await verifyDeploymentCommand(args, flipProof)).toBe(RECORDS_EXIT.BAD_PROOF);
    expect(sink.err).toMatch(/FAILED \(BAD_PROOF\)/);
    const flipEntry = tamper(/\/tile\/entries\//, (b) => {
      const c = new Uint8Array(b);
      c[c.length - 3] = c[c.length - 3]! ^ 1;
      return c;
    });
    expect(await verifyDeploymentCommand(args, flipEntry)).toBe(RECORDS_EXIT.BAD_PROOF);
    const lyingIndex = tamper(/\/v1\/search/, (b) => Buffer.from(Buffer.from(b).toString().replace(/"envelopeDigest":"[0-9a-f]/, '"envelopeDigest":"x')));
    sink.err = '';
    expect(await verifyDeploymentCommand(args, lyingIndex)).toBe(RECORDS_EXIT.BAD_PROOF);
    expect(sink.err).toMatch(/the log's index says entry 0 has envelope digest/);
  });

  test('history --trained-on --submitters: exit 7 when the index lists a record not trained on it', async () => {
    const [x, y] = [sha256('dataset x'), sha256('dataset y')];
    const update = (model: string, data: string): Parameters<typeof signed>[0] => ({
      ...deployment(model, 'prod-eu-1', sha256(model)),
      changeType: 'model-update',
      trainingData: [{ uri: `s3://d/${data}`, digest: { sha256: data } }],
    });
    await f.submit(signed(update('fraud-detector', x), RKEYS.alice));
    await f.submit(signed(update('chat', y), RKEYS.alice));
    const args = ['--trained-on', `sha256:${x}`, '--submitters', path('submitters.json')];
    expect(await historyCommand(args, io)).toBe(0);
    expect(sink.out).toMatch(/^records trained on sha256:[0-9a-f]{64}: 1 change,/);
    expect(sink.out).toContain(`training data: s3://d/${x} sha256:${x}`);
    // An index that answers trainedOn=X with chat's record, trained on Y only.
    const lying = f.io(sink, (url, init) => f.fetch(url.replace(/trainedOn=[^&]*/, 'model=chat'), init));
    sink.err = '';
    expect(await historyCommand(args, lying)).toBe(RECORDS_EXIT.BAD_PROOF);
    expect(sink.err).toMatch(/index lists entry 1 as trained on sha256:[0-9a-f]{64}, but its training data does not name it/);
  });

  test('exit 8 when the checkpoint lacks the witness quorum', async () => {
    await deployApproved();
    const args = ['--model', 'fraud-detector', '--env', 'prod-eu-1', '--artifact', path('model.bin'), '--policy', path('witnessed-policy.txt')];
    expect(await verifyDeploymentCommand(args, io)).toBe(RECORDS_EXIT.QUORUM_NOT_MET);
    expect(sink.err).toMatch(/FAILED \(QUORUM_NOT_MET\)/);
  });

  test('exit 2 on bad usage', async () => {
    for (const args of [
      ['--model', 'm', '--env', 'e', '--policy', path('policy.txt')],
      ['--model', 'm', '--env', 'e', '--digest', SHA_C, '--artifact', 'x', '--policy', path('policy.txt')],
      ['--model', 'm', '--env', 'e', '--digest', SHA_C],
      ['--model', 'm m', '--env', 'e', '--digest', SHA_C, '--policy', path('policy.txt')],
      ['--model', 'm', '--env', 'e', '--digest', 'sha512:ab', '--policy', path('policy.txt')],
      ['--bogus'],
    ]) {
      expect(await verifyDeploymentCommand(args, io), args.join(' ')).toBe(RECORDS_EXIT.USAGE);
    }
  });
});

describe('candor history and state', () => {
  beforeEach(async () => {
    await deployApproved();
    f.clock.now = T0 + 2 * 3600_000; // 14:00
    await f.submit(signed(safetyConfig('fraud-detector', 'prod-eu-1', CONFIG_DRIFTED, { ticket: 'AI-2' }), RKEYS.alice));
    f.clock.now = T0 + 3 * 3600_000;
    await f.submit(signed(deployment('fraud-detector', 'staging', SHA_C), RKEYS.ci));
  });

  test('history: a readable timeline with approvals under their change', async () => {
    expect(await historyCommand(['--model', 'fraud-detector'], io)).toBe(0);
    expect(sink.out).toContain('fraud-detector: 3 changes, 1 approval record');
    expect(sink.out).toContain('2026-03-03T12:00:00Z  entry 0  deployment  prod-eu-1\n    by release-ci (ci)\n    reason: deploy fraud-detector\n    ticket: AI-1\n');
    expect(sink.out).toMatch(/approvals: APPROVED\n {6}approved by bob at 2026-03-03T12:10:00Z \(entry 1\) "reviewed"/);
    expect(sink.out).toMatch(/entry 2 {2}safety-config {2}prod-eu-1\n {4}by alice \(engineer\)[\s\S]*approvals: none/);
    expect(sink.out).not.toMatch(/entry 1 {2}approval/);
    sink.out = '';
    expect(await historyCommand(['--model', 'fraud-detector', '--env', 'staging', '--json'], io)).toBe(0);
    expect((JSON.parse(sink.out) as { records: { index: number }[] }).records.map((r) => r.index)).toEqual([3]);
    expect(await historyCommand(['--model', 'nope'], io)).toBe(RECORDS_EXIT.NO_RECORD);
    expect(await historyCommand(['--env', 'x'], io)).toBe(RECORDS_EXIT.USAGE);
  });

  test('state: what was live then, approvals as they stood, each with its verified proof', async () => {
    const at = (t: string, ...more: string[]): Promise<number> =>
      stateCommand(['--model', 'fraud-detector', '--env', 'prod-eu-1', '--at', t, '--policy', path('policy.txt'), ...more], io);
    expect(await at('2026-03-03T12:05:00Z')).toBe(0);
    expect(sink.out).toMatch(/artifact: sha256:[0-9a-f]{64}\n {4}from entry 0: deployment by release-ci, logged 2026-03-03T12:00:00Z[\s\S]*NOT APPROVED then: no approval counts \(entry 1 by bob not counted: logged later/);
    expect(sink.out).toMatch(/proofs: every record above verified in test.example\/log at tree size 4/);
    sink.out = '';
    expect(await at('2026-03-03T14:30:00Z', '--json')).toBe(0);
    const s = JSON.parse(sink.out) as Record<string, { index: number; approved: boolean; proof: string; proven: boolean }>;
    expect([s.artifact!.index, s.artifact!.approved, s.config!.index, s.latest!.index]).toEqual([0, true, 2, 2]);
    expect(s.config!.approved).toBe(false);
    for (const part of [s.artifact!, s.config!]) {
      const entry = new Uint8Array(await (await f.app.request(`/v1/entries/${part.index}`)).arrayBuffer());
      expect(part.proven).toBe(true);
      expect(verifyProofFile(part.proof, entry, parsePolicy(POLICY)).index).toBe(part.index);
    }
    expect(await at('2026-03-03T11:00:00Z')).toBe(RECORDS_EXIT.NO_RECORD);
    // Without a policy: shown as the log serves them, and said so.
    sink.out = '';
    expect(await stateCommand(['--model', 'fraud-detector', '--env', 'prod-eu-1', '--url', LOG_URL], io)).toBe(0);
    expect(sink.out).toMatch(/config: sha256:[\s\S]*proofs: NOT verified \(no --policy\)/);
  });
});
