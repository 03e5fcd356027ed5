/**
 * `candor export` and `candor verify-export` in process, against the record API fixture
 * through injected fetch: outputs and exit codes, a log that lies or lacks its witnesses,
 * and a report that escapes what records say.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportCommand } from '../../src/cli/export.js';
import type { GovernanceIo } from '../../src/cli/governance-io.js';
import { verifyExportCommand } from '../../src/cli/verify-export.js';
import { RECORDS_EXIT } from '../../src/cli/records-client.js';
import { EVIDENCE_EXIT } from '../../src/evidence/errors.js';
import { verifyPack } from '../../src/evidence/verify.js';
import { recordsAllowlist, startRecordsFixture, type RecordsFixture } from '../governance/records-fixture.js';
import {
  NOW,
  POLICY_ALL,
  POLICY_TWO,
  QUERY,
  WITNESSES,
  cosigningFetch,
  growLog,
  logHistory,
  makePack,
  textOf,
  verifyOptions,
  type MadePack,
} from './fixture.js';

/** A JSON proof answer with its first hash changed (its first character). */
const flipFirstHash = (t: string): string => t.replace(/"hashes":\["(.)/, (_, c: string) => `"hashes":["${c === 'A' ? 'B' : 'A'}`);

let dir = '';
const path = (name: string): string => join(dir, name);
let n = 0;
const fresh = (): string => path(`pack-${++n}`);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'candor-evidence-cli-'));
  await writeFile(path('policy.txt'), POLICY_TWO);
  await writeFile(path('policy-all.txt'), POLICY_ALL);
  await writeFile(path('submitters.json'), recordsAllowlist());
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('candor export', () => {
  let f: RecordsFixture;
  const sink = { out: '', err: '' };
  let io: GovernanceIo;
  beforeAll(async () => {
    f = await startRecordsFixture();
    await logHistory(f);
    await growLog(f);
    io = f.io(sink, cosigningFetch(f, WITNESSES));
  });
  const run = (args: string[], withIo = io): Promise<number> => {
    sink.out = '';
    sink.err = '';
    return exportCommand(args, withIo);
  };
  const trust = (): string[] => ['--policy', path('policy.txt'), '--submitters', path('submitters.json')];

  test('writes the pack and says what it holds; --json for machines', async () => {
    const out = fresh();
    expect(await run([...QUERY, '--out', out, ...trust()]), sink.err).toBe(0);
    expect(sink.out).toBe(
      `wrote evidence pack ${out}: 5 records (2 matching model fraud-detector in environment prod-eu-1, 3 more: approvals and approved changes outside the query)\n` +
        "  proven in test.example/log at tree size 8 (cosigned by w1, w2, w3); the log's latest checkpoint (size 8) is consistent with it\n" +
        `  verify it offline: candor verify-export ${out} --policy <your copy of the trust policy>\n`
    );
    expect(textOf(new Map([['m', await readFile(join(out, 'policy.txt'))]]), 'm')).toBe(POLICY_TWO);
    const json = fresh();
    expect(await run(['--env', 'staging', '--out', json, ...trust(), '--json'])).toBe(0);
    expect(JSON.parse(sink.out)).toMatchObject({ ok: true, exitCode: 0, out: json, records: 3, matched: 3, checkpoint: { size: 8 }, latest: { size: 8 } });
    expect(existsSync(`${json}.partial-${process.pid}`)).toBe(false);
  });

  test('exit 3 when nothing matches, 2 on bad usage, and nothing is written', async () => {
    const out = fresh();
    expect(await run(['--model', 'nope', '--out', out, ...trust()])).toBe(RECORDS_EXIT.NO_RECORD);
    expect(sink.err).toMatch(/FAILED \(NO_RECORD\): nothing is logged for model nope in that period/);
    expect(existsSync(out)).toBe(false);
    await mkdir(path('full'));
    await writeFile(path('full/x'), 'x');
    for (const args of [
      ['--out', out, ...trust()],
      ['--model', 'm', ...trust()],
      ['--model', 'm', '--out', out, '--policy', path('policy.txt')],
      ['--model', 'm', '--out', out, '--submitters', path('submitters.json')],
      ['--model', 'm m', '--out', out, ...trust()],
      ['--model', 'm', '--since', 'yesterday', '--out', out, ...trust()],
      ['--model', 'm', '--since', '2026-03-04T00:00:00Z', '--until', '2026-03-03T00:00:00Z', '--out', out, ...trust()],
      ['--model', 'm', '--out', path('full'), ...trust()],
      ['--model', 'm', '--out', path('no/such/parent'), ...trust()],
      ['--model', 'm', '--out', out, '--policy', path('submitters.json'), '--submitters', path('submitters.json')],
      ['--model', 'm', '--out', out, '--bogus'],
    ]) {
      expect(await run(args), args.join(' ')).toBe(RECORDS_EXIT.USAGE);
    }
    expect(sink.err).toMatch(/usage: candor export/);
    expect(existsSync(out)).toBe(false);
  });

  test('exit 8 when the checkpoint lacks the quorum, 7 when the log lies; nothing is written', async () => {
    const out = fresh();
    const all = ['--policy', path('policy-all.txt'), '--submitters', path('submitters.json')];
    const twoWitnesses = f.io(sink, cosigningFetch(f, [WITNESSES[0]!, WITNESSES[1]!]));
    expect(await run([...QUERY, '--out', out, ...all], twoWitnesses)).toBe(RECORDS_EXIT.QUORUM_NOT_MET);
    expect(sink.err).toMatch(/FAILED \(QUORUM_NOT_MET\)/);
    // The witnesses have cosigned up to size 6: the log's latest (8) needs a consistency proof.
    const witnessed = (await f.store.readCheckpoint(6))!.note;
    const tamper = (match: RegExp, edit: (text: string) => string): GovernanceIo =>
      f.io(sink, async (url, init) => {
        const res = await cosigningFetch(f, WITNESSES, witnessed)(url, init);
        if (!match.test(url)) return res;
        return new Response(edit(await res.text()), { status: res.status, headers: res.headers });
      });
    const lies: [string, GovernanceIo, RegExp][] = [
      ['an inclusion proof', tamper(/\/v1\/proof\/inclusion/, flipFirstHash), /entry \d+/],
      ['the index (envelope digest)', tamper(/\/v1\/search/, (t) => t.replace(/"envelopeDigest":"[0-9a-f]/, '"envelopeDigest":"x')), /the log's index says entry \d+ has envelope digest/],
      ['the index (time going backwards)', tamper(/\/v1\/search\?.*subject/, (t) => t.replace(/"time":"2026-03-03T16:00/g, '"time":"2026-03-03T11:00')), /does not make a pack that verifies: .*before entry 2/],
      ['a consistency proof', tamper(/\/v1\/proof\/consistency/, flipFirstHash), /latest checkpoint/],
    ];
    for (const [what, lying, message] of lies) {
      expect(await run([...QUERY, '--out', out, '--json', ...trust()], lying), what).toBe(RECORDS_EXIT.BAD_PROOF);
      const answer = JSON.parse(sink.out) as { ok: boolean; error: { code: string; message: string } };
      expect(answer, what).toMatchObject({ ok: false, exitCode: 7, error: { code: 'BAD_PROOF' } });
      expect(answer.error.message, what).toMatch(message);
    }
    expect(existsSync(out)).toBe(false);
  });
});

describe('candor verify-export', () => {
  let p: MadePack;
  beforeAll(async () => {
    p = await makePack();
  });
  afterAll(async () => {
    await p.cleanup();
  });
  const sink = { out: '', err: '' };
  const io = (): GovernanceIo => {
    sink.out = '';
    sink.err = '';
    return { ...p.io, out: (t) => void (sink.out += t), err: (t) => void (sink.err += t), now: () => NOW };
  };
  const policy = (): string => join(p.root, 'policy.txt');

  test('exit 0 with a readable summary, or one JSON object', async () => {
    const root = (JSON.parse(textOf(p.files, 'manifest.json')) as { checkpoint: { rootHash: string } }).checkpoint.rootHash;
    expect(await verifyExportCommand([p.dir, '--policy', policy()], io())).toBe(0);
    expect(sink.out).toBe(
      [
        `OK: evidence pack ${p.dir} verified offline`,
        '  query: model fraud-detector in environment prod-eu-1, logged from 2026-03-03T12:05:00.000Z to 2026-03-03T15:00:00.000Z',
        '  records: 5 (1 change and 1 approval matching; 3 added for context); 0 of 1 changes approved',
        `  proven: every entry is in test.example/log at tree size 6 (root ${root}), cosigned by w1, w2, w3 (your policy)`,
        "  consistent: the log's checkpoint at export (size 8) extends it",
        "  signers: every signer checked under the pack's allowlist snapshot (submitters.json; pass --submitters to use your own)",
        '  reports: report.md and report.html are exactly what these records produce',
        "  not proven: that no matching record is missing (the log's index, or whoever held the pack, could leave one out: export again, or run a monitor)",
        '',
      ].join('\n')
    );
    expect(await verifyExportCommand([p.dir, '--policy', policy(), '--submitters', join(p.root, 'submitters.json'), '--json'], io())).toBe(0);
    const json = JSON.parse(sink.out) as { ok: boolean; allowlist: string; records: { index: number; approved?: boolean }[] };
    expect(json).toMatchObject({ ok: true, exitCode: 0, origin: 'test.example/log', checkpoint: { size: 6 }, latest: { size: 8 }, allowlist: 'yours' });
    expect(json.records.map((r) => [r.index, r.approved])).toEqual([[0, true], [1, undefined], [2, false], [4, undefined], [5, undefined]]);
  });

  test('a changed file on disk: its exit code and the file and record on stderr, or in --json', async () => {
    const copy = join(p.root, 'copy');
    await rm(copy, { recursive: true, force: true });
    await mkdir(join(copy, 'records'), { recursive: true });
    for (const [name, bytes] of p.files) await writeFile(join(copy, name), bytes);
    const entry = join(copy, 'records/entry-00000001.dsse.json');
    const original = await readFile(entry);
    const flipped = Buffer.from(original);
    flipped[40] = flipped[40]! ^ 1;
    await writeFile(entry, flipped);
    expect(await verifyExportCommand([copy, '--policy', policy()], io())).toBe(EVIDENCE_EXIT.ENTRY_MISMATCH);
    expect(sink.err).toMatch(/^candor verify-export: FAILED \(ENTRY_MISMATCH\): entry 1 \(records\/entry-00000001\.dsse\.json\): the file is not the entry the log holds at index 1/);
    expect(await verifyExportCommand([copy, '--policy', policy(), '--json'], io())).toBe(7);
    expect(JSON.parse(sink.out)).toMatchObject({ ok: false, exitCode: 7, error: { code: 'ENTRY_MISMATCH', file: 'records/entry-00000001.dsse.json', entry: 1 } });
    await writeFile(entry, original);
    expect(await verifyExportCommand([copy, '--policy', policy()], io())).toBe(0);
    // A link or a stray directory is not part of a pack.
    await symlink(join(copy, 'report.md'), join(copy, 'link.md'));
    expect(await verifyExportCommand([copy, '--policy', policy()], io())).toBe(EVIDENCE_EXIT.MALFORMED);
    expect(sink.err).toMatch(/link\.md: unexpected entry \(not a regular file\)/);
    await rm(join(copy, 'link.md'));
    await mkdir(join(copy, 'records', 'more'));
    expect(await verifyExportCommand([copy, '--policy', policy()], io())).toBe(EVIDENCE_EXIT.MALFORMED);
    expect(sink.err).toMatch(/records\/more: unexpected directory/);
  });

  test('exit 2 on bad usage, 1 when the pack cannot be read', async () => {
    await writeFile(join(p.root, 'bad-policy.txt'), 'quorum nobody\n');
    for (const args of [
      [p.dir],
      [p.dir, p.dir, '--policy', policy()],
      ['--policy', policy()],
      [p.dir, '--policy', join(p.root, 'bad-policy.txt')],
      [p.dir, '--policy', policy(), '--submitters', policy()],
      [p.dir, '--policy', policy(), '--bogus'],
    ]) {
      expect(await verifyExportCommand(args, io()), args.join(' ')).toBe(EVIDENCE_EXIT.USAGE);
    }
    expect(await verifyExportCommand([join(p.root, 'nowhere'), '--policy', policy()], io())).toBe(EVIDENCE_EXIT.ERROR);
    expect(sink.err).toMatch(/cannot read the pack/);
    expect(await verifyExportCommand([join(p.root, 'nowhere'), '--policy', policy(), '--json'], io())).toBe(EVIDENCE_EXIT.ERROR);
    expect(JSON.parse(sink.out)).toMatchObject({ ok: false, exitCode: 1, error: { code: 'ERROR' } });
  });
});

describe('the report', () => {
  test('escapes what records say, in Markdown and in HTML, and still verifies', async () => {
    const evil = '<script>alert(1)</script> **bold** [x](javascript:alert(1)) | `tick` & <img src=x onerror=alert(2)>\n# Heading\u202egnp.exe';
    const p = await makePack({ reason2: evil });
    try {
      expect(verifyPack(p.files, verifyOptions(p)).records).toHaveLength(5);
      const html = textOf(p.files, 'report.html');
      expect(html).not.toMatch(/<script|<img|javascript:alert\(1\)"|onerror=alert\(2\)>/);
      expect(html).toContain('Reason: &lt;script&gt;alert(1)&lt;/script&gt; **bold** [x](javascript:alert(1)) | `tick` &amp; &lt;img src=x onerror=alert(2)&gt; # Heading gnp.exe</li>');
      expect(html).not.toContain('\u202e');
      expect(html).toContain(`content="default-src 'none'; style-src 'unsafe-inline'"`);
      const md = textOf(p.files, 'report.md');
      expect(md).toContain(
        '- Reason: \\<script\\>alert(1)\\</script\\> \\*\\*bold\\*\\* \\[x\\](javascript:alert(1)) \\| \\`tick\\` \\& \\<img src=x onerror=alert(2)\\> \\# Heading gnp.exe\n'
      );
      expect(md).not.toMatch(/^# Heading/m);
    } finally {
      await p.cleanup();
    }
  });
});
