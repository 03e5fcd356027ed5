/**
 * Evidence packs: a pack made by `candor export` (in process, test/evidence/fixture.ts)
 * verifies, and every kind of tampering is refused with its own error naming the file and
 * the record: an entry byte, a proof hash, the checkpoint's text, signature and
 * cosignatures against the policy's quorum, the consistency proof, manifest fields, report
 * bytes, missing and extra files, a policy or allowlist that is not the pack's. Then one
 * changed byte at spread positions of every file.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { readNodeAllowlist } from '../../src/cli/evidence-allowlist.js';
import { formatCheckpoint } from '../../src/checkpoint/checkpoint.js';
import { parsePolicy } from '../../src/client/policy.js';
import { EVIDENCE_EXIT, isEvidenceError, type EvidenceError } from '../../src/evidence/errors.js';
import { PACK_FILES, entryFileName, proofFileName } from '../../src/evidence/manifest.js';
import { verifyPack, type VerifyPackOptions } from '../../src/evidence/verify.js';
import { ed25519Signer, formatVerifierKey } from '../../src/note/keys.js';
import { ed25519PublicKey } from '../../src/note/ed25519.js';
import { signNote } from '../../src/note/note.js';
import { utf8 } from '../../src/util/bytes.js';
import { TEST_ORIGIN, TEST_SIGNER_KEY, W1, flipBase64Char } from '../client/fixtures.js';
import { recordsAllowlist } from '../governance/records-fixture.js';
import {
  POLICY_ALL,
  POLICY_TWO,
  WITNESSES,
  edited,
  makePack,
  textOf,
  verifyOptions,
  type MadePack,
} from './fixture.js';

let p: MadePack;
beforeAll(async () => {
  p = await makePack();
});
afterAll(async () => {
  await p.cleanup();
});

const verify = (files: ReadonlyMap<string, Uint8Array>, extra: Partial<VerifyPackOptions> = {}): ReturnType<typeof verifyPack> =>
  verifyPack(files, verifyOptions(p, extra));

/** The EvidenceError verifying `files` throws (the test fails if it verifies). */
function failure(files: ReadonlyMap<string, Uint8Array>, extra: Partial<VerifyPackOptions> = {}): EvidenceError {
  try {
    verify(files, extra);
  } catch (err) {
    if (isEvidenceError(err)) return err;
    throw err;
  }
  throw new Error('the pack verified');
}

/** The manifest, edited as plain JSON (keeping its spelling: key order, indentation). */
function editManifest(files: ReadonlyMap<string, Uint8Array>, edit: (m: Record<string, any>) => void): Map<string, Uint8Array> { // eslint-disable-line @typescript-eslint/no-explicit-any
  return edited(files, PACK_FILES.manifest, (b) => {
    const m = JSON.parse(Buffer.from(b).toString()) as Record<string, unknown>;
    edit(m);
    return JSON.stringify(m, null, 2) + '\n';
  });
}

const E2 = entryFileName(2);
const P2 = proofFileName(2);

describe('a pack made by candor export', () => {
  test('verifies, and says what it proves', () => {
    const v = verify(p.files);
    expect(v.records.map((r) => [r.claim.index, r.claim.role])).toEqual([
      [0, 'approved-change'],
      [1, 'match'],
      [2, 'match'],
      [4, 'approval'],
      [5, 'approval'],
    ]);
    expect([v.checkpoint.size, v.latest.size]).toEqual([6, 8]);
    expect(v.checkpoint.witnesses.map((w) => w.name)).toEqual(['w1', 'w2', 'w3']);
    expect(v.outcomes.get(0)).toMatchObject({ approved: true, approvedBy: ['bob'] });
    expect(v.outcomes.get(2)).toMatchObject({ approved: false, approvedBy: ['bob'], rejectedBy: ['dave'] });
    expect(v.notes).toEqual([]);
    expect(v.allowlistFrom).toBe('pack');
    const md = textOf(p.files, PACK_FILES.markdown);
    expect(md).toContain('### 2026-03-03T14:00:00.000Z · entry 2 · safety-config · `fraud-detector` · `prod-eu-1`');
    expect(md).toContain('`~ guardrail.toxicity_threshold: "0.85" -> "0.80" (decreased)`');
    expect(md).toContain('**NOT APPROVED**: rejected by dave');
    expect(md).toContain('candor verify-export . --policy <your copy of the trust policy>');
    expect(md).not.toContain('Be kind'); // the prompt is a secret: only its digest is logged
  });

  test('is the same, byte for byte, when exported again from the same log state', async () => {
    const again = await makePack();
    try {
      expect([...again.files.keys()]).toEqual([...p.files.keys()]);
      for (const [path, bytes] of p.files) expect(Buffer.from(again.files.get(path)!).equals(Buffer.from(bytes)), path).toBe(true);
    } finally {
      await again.cleanup();
    }
  });
});

describe('tampering is refused, naming the file and the record', () => {
  test('an entry byte: ENTRY_MISMATCH', () => {
    const err = failure(edited(p.files, E2, (b) => ((b[100] = b[100]! ^ 1), b)));
    expect([err.code, err.file, err.entry, err.exitCode]).toEqual(['ENTRY_MISMATCH', E2, 2, EVIDENCE_EXIT.ENTRY_MISMATCH]);
    expect(err.message).toMatch(/^entry 2 \(records\/entry-00000002\.dsse\.json\): the file is not the entry the log holds at index 2/);
  });

  test('a proof hash: BAD_PROOF; its index, extra or checkpoint: the proof file', () => {
    const lines = textOf(p.files, P2).split('\n');
    expect(lines[2]).toBe('index 2');
    const hash = edited(p.files, P2, () => [...lines.slice(0, 3), flipBase64Char(lines[3]!, 5), ...lines.slice(4)].join('\n'));
    expect([failure(hash).code, failure(hash).file, failure(hash).entry]).toEqual(['BAD_PROOF', P2, 2]);
    const index = edited(p.files, P2, () => [...lines.slice(0, 2), 'index 3', ...lines.slice(3)].join('\n'));
    expect(failure(index)).toMatchObject({ code: 'CLAIM_MISMATCH', file: P2, entry: 2, message: expect.stringMatching(/proves index 3/) });
    const extra = edited(p.files, P2, () => [lines[0], flipBase64Char(lines[1]!, 10), ...lines.slice(2)].join('\n'));
    expect(failure(extra)).toMatchObject({ code: 'MALFORMED', file: P2, entry: 2, message: expect.stringMatching(/extra line/) });
    // The checkpoint inside the proof without w3's cosignature: still valid, but not the pack's.
    const shorter = edited(p.files, P2, (b) => Buffer.from(b).toString().replace(/— w3\.example .*\n/, ''));
    expect(failure(shorter)).toMatchObject({ code: 'CLAIM_MISMATCH', file: P2, message: expect.stringMatching(/its checkpoint is not checkpoint.txt/) });
  });

  test("the checkpoint's text or the log's signature: BAD_SIGNATURE", () => {
    const size = edited(p.files, PACK_FILES.checkpoint, (b) => Buffer.from(b).toString().replace('\n6\n', '\n7\n'));
    expect(failure(size)).toMatchObject({ code: 'BAD_SIGNATURE', file: PACK_FILES.checkpoint, exitCode: 4 });
    const sig = edited(p.files, PACK_FILES.checkpoint, (b) => {
      const t = Buffer.from(b).toString();
      const at = t.indexOf(`— ${TEST_ORIGIN} `) + `— ${TEST_ORIGIN} `.length + 20;
      return flipBase64Char(t, at);
    });
    expect(failure(sig)).toMatchObject({ code: 'BAD_SIGNATURE', file: PACK_FILES.checkpoint });
  });

  test('a cosignature removed: QUORUM_NOT_MET when your quorum needs it, else the checkpoint no longer matches', () => {
    const without = (...names: string[]): Map<string, Uint8Array> =>
      edited(p.files, PACK_FILES.checkpoint, (b) =>
        names.reduce((t, n) => t.replace(new RegExp(`— ${n}\\.example .*\\n`), ''), Buffer.from(b).toString())
      );
    const all = { policy: parsePolicy(POLICY_ALL), policyBytes: utf8(POLICY_ALL) };
    expect(failure(without('w3'), all)).toMatchObject({ code: 'QUORUM_NOT_MET', file: PACK_FILES.checkpoint, exitCode: 5 });
    expect(failure(without('w2', 'w3'))).toMatchObject({ code: 'QUORUM_NOT_MET', file: PACK_FILES.checkpoint });
    // Two of three still cosign: the checkpoint opens, but it is not the one the pack holds.
    expect(failure(without('w3'))).toMatchObject({ code: 'CLAIM_MISMATCH', file: PACK_FILES.checkpoint, message: expect.stringMatching(/SHA-256/) });
  });

  test('the consistency proof: BAD_PROOF; its sizes: CLAIM_MISMATCH; its spelling: MALFORMED', () => {
    const C = PACK_FILES.consistency;
    const proof = JSON.parse(textOf(p.files, C)) as { from: number; to: number; hashes: string[] };
    expect([proof.from, proof.to, proof.hashes.length > 0]).toEqual([6, 8, true]);
    const write = (o: object): Map<string, Uint8Array> => edited(p.files, C, () => JSON.stringify(o, null, 2) + '\n');
    expect(failure(write({ ...proof, hashes: [flipBase64Char(proof.hashes[0]!, 3), ...proof.hashes.slice(1)] }))).toMatchObject({
      code: 'BAD_PROOF',
      file: C,
      exitCode: 6,
    });
    expect(failure(write({ ...proof, to: 7 }))).toMatchObject({ code: 'CLAIM_MISMATCH', file: C });
    expect(failure(edited(p.files, C, (b) => Buffer.from(b).toString().replace('\n', '\n ')))).toMatchObject({ code: 'MALFORMED', file: C });
  });

  test('a latest checkpoint of another history (a fork) is not consistent: BAD_PROOF', () => {
    const forked = signNote(formatCheckpoint({ origin: TEST_ORIGIN, size: 8, rootHash: new Uint8Array(32).fill(9) }), [ed25519Signer(TEST_SIGNER_KEY)]);
    let files = edited(p.files, PACK_FILES.latest, () => forked);
    files = editManifest(files, (m) => {
      m.latest.rootHash = Buffer.alloc(32, 9).toString('base64');
    });
    expect(failure(files)).toMatchObject({ code: 'BAD_PROOF', file: PACK_FILES.consistency });
    // Signed by someone else: BAD_SIGNATURE.
    const other = signNote(formatCheckpoint({ origin: TEST_ORIGIN, size: 8, rootHash: new Uint8Array(32) }), [W1.signer]);
    expect(failure(edited(p.files, PACK_FILES.latest, () => other))).toMatchObject({ code: 'BAD_SIGNATURE', file: PACK_FILES.latest });
  });

  test('manifest claims that the bytes contradict: CLAIM_MISMATCH naming the record', () => {
    const rec = (m: Record<string, any>, i: number): Record<string, any> => m.records.find((r: { index: number }) => r.index === i); // eslint-disable-line @typescript-eslint/no-explicit-any
    const cases: [string, (m: Record<string, any>) => void, number, RegExp][] = [ // eslint-disable-line @typescript-eslint/no-explicit-any
      ['envelope digest', (m) => (rec(m, 2).envelopeDigest = 'f'.repeat(64)), 2, /envelope digest is "f{64}", but the entry's is/],
      ['statement digest', (m) => (rec(m, 2).payloadDigest = 'f'.repeat(64)), 2, /statement digest/],
      ['model', (m) => (rec(m, 2).model = 'other-model'), 2, /model is "other-model"/],
      ['environment', (m) => (rec(m, 0).env = 'staging'), 0, /environment is "staging"/],
      ['change type', (m) => (rec(m, 2).changeType = 'deployment'), 2, /change type is "deployment"/],
      ['signer', (m) => (rec(m, 1).signer.name = 'dave'), 1, /signed by \{"name":"dave".*but its signature is by bob/],
      ['role', (m) => (rec(m, 4).role = 'match'), 4, /its role is "match", but by the query and its claims it is "approval"/],
      ['what an approval approves', (m) => (rec(m, 4).approves.entry = 0), 4, /"approves.entry" is 0, but the change it names is entry 2/],
      ['time order', (m) => (rec(m, 4).time = '2026-03-03T13:00:00.000Z'), 4, /before entry 2/],
      ['time after the witnesses cosigned', (m) => (rec(m, 5).time = '2026-03-03T17:30:00.000Z'), 5, /witness w1 had cosigned a checkpoint including it at 2026-03-03T17:00:00.000Z/],
      ['log key', (m) => (m.log.verifierKey = m.log.verifierKey.replace('+A', '+B')), -1, /signed by the log key/],
      ['checkpoint size', (m) => (m.checkpoint.size = 5), -1, /size 5/],
    ];
    for (const [what, edit, entry, message] of cases) {
      const err = failure(editManifest(p.files, edit));
      expect(err.code, what).toBe('CLAIM_MISMATCH');
      expect(err.message, what).toMatch(message);
      expect(err.message, what).toMatch(/manifest\.json/);
      expect(err.entry, what).toBe(entry === -1 ? undefined : entry);
    }
  });

  test('manifest fields only the report shows: REPORT_MISMATCH naming the line and the record', () => {
    const time = failure(editManifest(p.files, (m) => (m.records[2].time = '2026-03-03T14:00:00.001Z')));
    expect(time).toMatchObject({ code: 'REPORT_MISMATCH', file: PACK_FILES.markdown, entry: 2, exitCode: 9 });
    expect(time.message).toMatch(/report\.md: it is not what manifest\.json and the records produce: line \d+ \(in the section of entry 2\)/);
    const exported = failure(editManifest(p.files, (m) => (m.exportedAt = '2026-03-03T18:00:00.001Z')));
    expect(exported).toMatchObject({ code: 'REPORT_MISMATCH', file: PACK_FILES.markdown, entry: undefined });
    const url = failure(editManifest(p.files, (m) => (m.log.url = 'http://log.evil')));
    expect(url).toMatchObject({ code: 'REPORT_MISMATCH' });
  });

  test("the manifest's spelling, fields and file list: MALFORMED; a file's SHA-256: CLAIM_MISMATCH", () => {
    const M = PACK_FILES.manifest;
    const spaced = edited(p.files, M, (b) => Buffer.from(b).toString().replace('"format": ', '"format":  '));
    expect(failure(spaced)).toMatchObject({ code: 'MALFORMED', file: M, message: expect.stringMatching(/exact form/) });
    expect(failure(editManifest(p.files, (m) => (m.records[0].note = 'x')))).toMatchObject({ code: 'MALFORMED', message: expect.stringMatching(/records\[0\]\.note: is not a field/) });
    expect(failure(editManifest(p.files, (m) => (m.format = 'candor-evidence/v2')))).toMatchObject({ code: 'MALFORMED', message: expect.stringMatching(/format/) });
    expect(failure(editManifest(p.files, (m) => delete m.files['report.md']))).toMatchObject({ code: 'MALFORMED', message: expect.stringMatching(/does not list report\.md/) });
    const digest = failure(editManifest(p.files, (m) => (m.files['report.html'] = '0'.repeat(64))));
    expect(digest).toMatchObject({ code: 'CLAIM_MISMATCH', file: PACK_FILES.html, message: expect.stringMatching(/its SHA-256 is [0-9a-f]{64}, but manifest\.json says 0{64}/) });
  });

  test('a report byte: REPORT_MISMATCH naming the line and the record it describes', () => {
    for (const path of [PACK_FILES.markdown, PACK_FILES.html]) {
      const inRecord = failure(edited(p.files, path, (b) => Buffer.from(b).toString().replace('Fewer false refusals', 'Fewer false refusalz')));
      expect(inRecord, path).toMatchObject({ code: 'REPORT_MISMATCH', file: path, entry: 2 });
      expect(inRecord.message).toMatch(/should be ".*Fewer false refusals.*", but is ".*refusalz/);
      const inHeader = failure(edited(p.files, path, (b) => Buffer.from(b).toString().replace('Completeness', 'Completenesz')));
      expect(inHeader, path).toMatchObject({ code: 'REPORT_MISMATCH', file: path, entry: undefined });
    }
    const truncated = failure(edited(p.files, PACK_FILES.html, (b) => b.subarray(0, b.length - 1)));
    expect(truncated).toMatchObject({ code: 'REPORT_MISMATCH', file: PACK_FILES.html });
  });

  test('a missing or an extra file: MALFORMED naming it', () => {
    const P4 = proofFileName(4);
    const missing = new Map(p.files);
    missing.delete(P4);
    expect(failure(missing)).toMatchObject({ code: 'MALFORMED', file: P4, entry: 4, exitCode: 3, message: expect.stringMatching(/missing/) });
    const noManifest = new Map(p.files);
    noManifest.delete(PACK_FILES.manifest);
    expect(failure(noManifest)).toMatchObject({ code: 'MALFORMED', file: PACK_FILES.manifest });
    for (const extra of ['notes.txt', entryFileName(3), 'records/README']) {
      const more = new Map(p.files).set(extra, utf8('x'));
      expect(failure(more), extra).toMatchObject({ code: 'MALFORMED', file: extra, message: expect.stringMatching(/unexpected file/) });
    }
  });
});

describe("your trust material, not the pack's", () => {
  test('a policy trusting another key for the log refuses the pack: BAD_SIGNATURE', () => {
    const otherKey = formatVerifierKey(TEST_ORIGIN, 0x01, ed25519PublicKey(new Uint8Array(32).fill(42)));
    const elsewhere = POLICY_TWO.replace(/log \S+/, `log ${otherKey}`);
    const err = failure(p.files, { policy: parsePolicy(elsewhere), policyBytes: utf8(elsewhere) });
    expect(err).toMatchObject({ code: 'BAD_SIGNATURE', file: PACK_FILES.checkpoint, exitCode: 4 });
  });

  test('a policy needing more cosignatures than the pack has: QUORUM_NOT_MET', async () => {
    const two = await makePack({ witnesses: [WITNESSES[0]!, WITNESSES[1]!] });
    try {
      expect(verifyPack(two.files, verifyOptions(two)).checkpoint.witnesses).toHaveLength(2);
      expect(() => verifyPack(two.files, verifyOptions(two, { policy: parsePolicy(POLICY_ALL), policyBytes: utf8(POLICY_ALL) }))).toThrow(
        expect.objectContaining({ code: 'QUORUM_NOT_MET', file: PACK_FILES.checkpoint })
      );
    } finally {
      await two.cleanup();
    }
  });

  test("the same trust in other words verifies, and says so; the pack's policy.txt altered does not", () => {
    const mine = `# my copy\n${POLICY_TWO}`;
    const v = verify(p.files, { policy: parsePolicy(mine), policyBytes: utf8(mine) });
    expect(v.notes).toEqual([expect.stringMatching(/your policy differs from the pack's policy\.txt/)]);
    const altered = edited(p.files, PACK_FILES.policy, (b) => Buffer.from(b).toString().replace('# test policy', '# test policz'));
    expect(failure(altered)).toMatchObject({ code: 'CLAIM_MISMATCH', file: PACK_FILES.policy, exitCode: 8 });
  });

  test('your allowlist: signers must be the same under it; the snapshot altered fails', () => {
    const same = utf8(recordsAllowlist());
    const v = verify(p.files, { submitters: { allowlist: readNodeAllowlist(same), bytes: same } });
    expect([v.allowlistFrom, v.notes]).toEqual(['yours', []]);
    const withoutBob = JSON.parse(recordsAllowlist()) as { submitters: { name: string }[] };
    withoutBob.submitters = withoutBob.submitters.filter((s) => s.name !== 'bob');
    const bytes = utf8(JSON.stringify(withoutBob));
    const err = failure(p.files, { submitters: { allowlist: readNodeAllowlist(bytes), bytes } });
    expect(err).toMatchObject({ code: 'CLAIM_MISMATCH', entry: 1, file: entryFileName(1), message: expect.stringMatching(/no key of your allowlist/) });
    const altered = edited(p.files, PACK_FILES.submitters, (b) => Buffer.from(b).toString().replace('"alice"', '"alicf"'));
    expect(failure(altered)).toMatchObject({ code: 'CLAIM_MISMATCH', file: PACK_FILES.submitters });
  });

  test('your allowlist: attribution must be the same under it too', () => {
    // alice's key, but no longer allowed in prod-eu-1: her safety-config would not count.
    const narrowed = JSON.parse(recordsAllowlist()) as { submitters: { name: string; environments?: string[] }[] };
    narrowed.submitters.find((s) => s.name === 'alice')!.environments = ['staging'];
    const bytes = utf8(JSON.stringify(narrowed));
    expect(failure(p.files, { submitters: { allowlist: readNodeAllowlist(bytes), bytes } })).toMatchObject({
      code: 'CLAIM_MISMATCH',
      entry: 2,
      file: entryFileName(2),
      message: expect.stringMatching(/attributes it, but it is not attributed under your allowlist \(FORBIDDEN: alice may not record changes for environment prod-eu-1/),
    });
  });
});

describe('one changed byte anywhere', () => {
  test('fails at every file, at spread positions, naming the file (or the record)', () => {
    let checked = 0;
    for (const [path, bytes] of p.files) {
      const positions = new Set([0, bytes.length - 1, ...Array.from({ length: 14 }, (_, k) => Math.floor(((k + 1) * bytes.length) / 15))]);
      const entry = /entry-0*(\d+)\./.exec(path)?.[1];
      for (const at of positions) {
        const err = failure(edited(p.files, path, (b) => ((b[at] = b[at]! ^ 1), b)));
        const named = err.file === path || (entry !== undefined && err.entry === Number(entry)) || err.message.includes(path);
        expect(named, `${path}@${at}: ${err.message}`).toBe(true);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(200);
  });
});
