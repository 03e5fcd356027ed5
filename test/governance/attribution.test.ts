/**
 * attributeRecord, the one rule by which a logged record counts as a governance statement
 * (src/search/attribution.ts): forged and unknown signatures, keys that may not make the
 * record (role, environment), keys retired with the allowlist's `until` (what they signed
 * before still counts; deleting the key withdraws it all), and the same verdicts through
 * the record index, POST /v1/records and `candor state --submitters`.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stateCommand } from '../../src/cli/state.js';
import { RECORDS_EXIT } from '../../src/cli/records-client.js';
import { encodeEnvelope, parseEnvelope, signEnvelope } from '../../src/governance/dsse.js';
import { INTOTO_PAYLOAD_TYPE } from '../../src/governance/intoto.js';
import { buildStatement } from '../../src/governance/record.js';
import { stableStringify } from '../../src/governance/strict-json.js';
import { keysInForce, parseSubmitters } from '../../src/governance/submitters.js';
import { parseRecord } from '../../src/governance/verify-record.js';
import { attributeRecord } from '../../src/search/attribution.js';
import { MemoryKv } from '../../src/search/kv.js';
import { RecordIndex } from '../../src/search/record-index.js';
import { openTestLog } from '../helpers/test-log.js';
import { utf8 } from '../../src/util/bytes.js';
import { SHA_A, SHA_B } from './helpers.js';
import { POLICY, RKEYS, T0, approval, deployment, recordsAllowlist, signed, startRecordsFixture } from './records-fixture.js';

const HOUR = 3_600_000;
const list = parseSubmitters(utf8(recordsAllowlist()));
const keyid = (name: string): string => list.submitters.find((s) => s.name === name)!.keyid;
const judge = (entry: Uint8Array, l = list, at = T0): ReturnType<typeof attributeRecord> =>
  attributeRecord(parseRecord(entry), l, at);

/** `entry` with every signature's keyid replaced (a forger's hint). */
function hinted(entry: Uint8Array, id: string): Uint8Array {
  const env = parseEnvelope(entry);
  return encodeEnvelope({ ...env, signatures: env.signatures.map((s) => ({ ...s, keyid: id })) });
}

/** The allowlist with alice's entry changed by `change` (undefined: alice removed). */
function withAlice(change: ((s: Record<string, unknown>) => void) | undefined): string {
  const file = JSON.parse(recordsAllowlist()) as { submitters: Record<string, unknown>[] };
  const i = file.submitters.findIndex((s) => s.name === 'alice');
  if (change === undefined) file.submitters.splice(i, 1);
  else change(file.submitters[i]!);
  return JSON.stringify(file);
}

describe('attributeRecord', () => {
  const prod = deployment('fraud', 'prod', SHA_A);

  test('a record the log would accept is attributed to its signer', () => {
    expect(judge(signed(prod, RKEYS.alice))).toEqual({
      attributed: true,
      signer: { name: 'alice', keyid: keyid('alice'), roles: ['engineer'] },
    });
    expect(judge(approval(prod, signed(prod, RKEYS.alice), 0, RKEYS.bob))).toMatchObject({ attributed: true, signer: { name: 'bob' } });
  });

  test('a forged signature naming an allowlisted keyid, or an unknown key, is not', () => {
    expect(judge(hinted(signed(prod, RKEYS.mallory), keyid('alice')))).toEqual({
      attributed: false,
      signer: null,
      why: "BAD_SIGNATURE: a signature names alice's key but does not verify under it",
    });
    expect(judge(signed(prod, RKEYS.mallory))).toMatchObject({ attributed: false, signer: null, why: expect.stringMatching(/^UNKNOWN_KEY/) });
    expect(attributeRecord(parseRecord(signed(prod, RKEYS.alice)), undefined, T0)).toMatchObject({
      attributed: false,
      why: expect.stringMatching(/^NO_ALLOWLIST/),
    });
    // A forged signature next to a real one: the real one attributes it.
    const statement = utf8(stableStringify(buildStatement(prod)));
    const both = encodeEnvelope(signEnvelope(INTOTO_PAYLOAD_TYPE, statement, [RKEYS.mallory.signer(), RKEYS.alice.signer()]));
    expect(judge(both)).toMatchObject({ attributed: true, signer: { name: 'alice' } });
  });

  test('a key whose roles or environments do not permit the record signs it unattributed', () => {
    expect(judge(signed(prod, RKEYS.ci))).toEqual({
      attributed: false,
      signer: expect.objectContaining({ name: 'release-ci' }) as unknown,
      why: 'FORBIDDEN: release-ci may not record changes for environment prod (allowed: staging, prod-eu-*)',
    });
    expect(judge(signed(deployment('fraud', 'prod-eu-1', SHA_A), RKEYS.ci))).toMatchObject({ attributed: true });
    expect(judge(signed(prod, RKEYS.bob))).toMatchObject({
      attributed: false,
      signer: { name: 'bob' },
      why: expect.stringMatching(/^FORBIDDEN: bob \(roles: approver\) may not submit deployment records/),
    });
    expect(judge(approval(prod, signed(prod, RKEYS.bob), 0, RKEYS.alice))).toMatchObject({
      attributed: false,
      why: expect.stringMatching(/^FORBIDDEN: alice \(roles: engineer\) may not submit approval records/),
    });
  });

  test('a retired key attributes what the log integrated up to its `until`, and nothing after', () => {
    const until = new Date(T0 + HOUR).toISOString();
    const retired = parseSubmitters(utf8(withAlice((s) => (s.until = until))));
    const e = signed(prod, RKEYS.alice);
    expect(judge(e, retired, T0)).toMatchObject({ attributed: true, signer: { name: 'alice' } });
    expect(judge(e, retired, T0 + HOUR)).toMatchObject({ attributed: true });
    expect(judge(e, retired, T0 + HOUR + 1)).toEqual({
      attributed: false,
      signer: null,
      why: `RETIRED: signed by alice, whose key was retired at ${until}, before the log integrated it (${new Date(T0 + HOUR + 1).toISOString()})`,
    });
    // Removed from the list altogether: nothing it signed counts.
    expect(judge(e, parseSubmitters(utf8(withAlice(undefined))), T0)).toMatchObject({ attributed: false, why: expect.stringMatching(/^UNKNOWN_KEY/) });
    // What may sign now: the retired key's hints answer nothing.
    const now = keysInForce(retired, T0 + 2 * HOUR);
    expect(now.submitters.map((s) => s.name)).not.toContain('alice');
    expect(now.byKeyid(keyid('alice'))).toEqual([]);
    expect(keysInForce(retired, T0)).toBe(retired);
  });

  test('`until` must be an RFC 3339 UTC time', () => {
    for (const bad of ['2026-03-03', '2026-03-03T13:00:00+01:00', 'tomorrow', 1_700_000_000, '2026-13-03T13:00:00Z']) {
      expect(() => parseSubmitters(utf8(withAlice((s) => (s.until = bad))))).toThrow(/submitters\[0\]\.until must be an RFC 3339 UTC time/);
    }
    expect(parseSubmitters(utf8(withAlice((s) => (s.until = '2026-03-03T13:00:00.5Z')))).submitters[0]!.until).toBe('2026-03-03T13:00:00.5Z');
  });
});

describe('attribution through the index, the record API and candor state', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'candor-attribution-'));
    await writeFile(join(dir, 'policy.txt'), POLICY);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('a retired key: refused by POST /v1/records, its later raw entries unattributed, its earlier ones the state', async () => {
    const f = await startRecordsFixture();
    const until = new Date(T0 + HOUR).toISOString();
    const file = withAlice((s) => (s.until = until));
    f.list = parseSubmitters(utf8(file));
    await writeFile(join(dir, 'retired.json'), file);
    await writeFile(join(dir, 'removed.json'), withAlice(undefined));
    const early = signed(deployment('fraud', 'prod', SHA_A, { reason: 'before retirement' }), RKEYS.alice);
    const late = signed(deployment('fraud', 'prod', SHA_B, { reason: 'after retirement' }), RKEYS.alice);
    // POST /v1/records judges by the server's clock, long after `until`.
    const refused = await f.post(early);
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('UNKNOWN_KEY');
    // Raw entries, integrated (the log's clock) before and after `until`.
    f.clock.now = T0 + 1000;
    await f.log.add(early);
    f.clock.now = T0 + 2 * HOUR;
    await f.log.add(late);
    await f.log.drain();
    await f.index.catchUp();
    const results = (await f.index.search({ limit: 10, order: 'asc' })).results;
    expect(results.map((r) => [r.index, r.attributed, r.signer?.name ?? null])).toEqual([
      [0, true, 'alice'],
      [1, false, null],
    ]);
    expect(results[1]!.unattributed).toMatch(/^RETIRED: signed by alice, whose key was retired at/);

    const sink = { out: '', err: '' };
    const state = (...extra: string[]): Promise<number> =>
      stateCommand(['--model', 'fraud', '--env', 'prod', '--policy', join(dir, 'policy.txt'), '--json', ...extra], f.io(sink));
    for (const extra of [[], ['--submitters', join(dir, 'retired.json')]]) {
      sink.out = '';
      expect(await state(...extra)).toBe(RECORDS_EXIT.OK);
      const json = JSON.parse(sink.out) as { artifact: { index: number }; ignored: { index: number; unattributed: string }[] };
      expect(json.artifact.index).toBe(0);
      expect(json.ignored).toMatchObject([{ index: 1, unattributed: expect.stringMatching(/^RETIRED/) as unknown }]);
    }
    // Under an allowlist without alice, nothing she signed is the state.
    sink.err = '';
    expect(await stateCommand(['--model', 'fraud', '--env', 'prod', '--submitters', join(dir, 'removed.json')], f.io(sink))).toBe(
      RECORDS_EXIT.NO_RECORD
    );
    expect(sink.err).toMatch(/no attributed record is logged for fraud in prod at or before .* \(2 unattributed records ignored\)/);
    expect(sink.err).toMatch(/ignored: entry 0 \(deployment, logged [^)]*\): UNATTRIBUTED: UNKNOWN_KEY/);
    await f.log.drain();
  });
});

describe('the record index under a changed allowlist', () => {
  test('judges every indexed record again: on a reload, and when it opens under another list', async () => {
    const clock = { now: T0 };
    const { log, store } = await openTestLog(undefined, { now: () => clock.now });
    const kv = new MemoryKv();
    let current = list;
    const warnings: string[] = [];
    const open = (): Promise<RecordIndex> =>
      RecordIndex.open({ kv, store, size: () => log.size, submitters: () => current, warn: (l) => warnings.push(l) });
    const index = await open();
    const e0 = signed(deployment('fraud', 'prod', SHA_A), RKEYS.alice);
    await log.add(e0);
    clock.now += 1000;
    await log.add(approval(deployment('fraud', 'prod', SHA_A), e0, 0, RKEYS.bob));
    await log.drain();
    await index.catchUp();
    const view = async (ix: RecordIndex): Promise<unknown[]> =>
      (await ix.search({ limit: 10, order: 'asc' })).results.map((r) => [r.index, r.attributed, r.signer?.name ?? null, r.approved ?? null]);
    const bySigner = async (ix: RecordIndex, name: string): Promise<number[]> =>
      (await ix.search({ limit: 10, order: 'asc', signer: name })).results.map((r) => r.index);
    expect(await view(index)).toEqual([[0, true, 'alice', true], [1, true, 'bob', null]]);

    // alice removed (a reload): her record is withdrawn, searchable by her name no more,
    // and bob's approval of it approves nothing.
    current = parseSubmitters(utf8(withAlice(undefined)));
    await index.catchUp();
    expect(await view(index)).toEqual([[0, false, null, false], [1, true, 'bob', null]]);
    expect((await index.record(0))!.unattributed).toMatch(/^UNKNOWN_KEY/);
    expect(await bySigner(index, 'alice')).toEqual([]);
    expect(warnings).toEqual(['record index: the allowlist changed: 1 records judged anew']);

    // Back, but retired before the record was integrated (judged when the index opens).
    current = parseSubmitters(utf8(withAlice((s) => (s.until = new Date(T0 - 1).toISOString()))));
    const reopened = await open();
    await reopened.catchUp();
    expect(await view(reopened)).toEqual([[0, false, null, false], [1, true, 'bob', null]]);
    expect((await reopened.record(0))!.unattributed).toMatch(/^RETIRED: signed by alice/);
    // Retired after it: attributed again, found by her name and keyid.
    current = parseSubmitters(utf8(withAlice((s) => (s.until = new Date(T0 + HOUR).toISOString()))));
    await reopened.catchUp();
    expect(await view(reopened)).toEqual([[0, true, 'alice', true], [1, true, 'bob', null]]);
    expect(await bySigner(reopened, 'alice')).toEqual([0]);
    expect(await bySigner(reopened, keyid('alice'))).toEqual([0]);
    // The same list again: nothing to judge, nothing rewritten.
    const before = [...(await kvDump(kv))];
    await reopened.catchUp();
    expect(await kvDump(kv)).toEqual(before);
  });
});

async function kvDump(kv: MemoryKv): Promise<[string, string][]> {
  const out: [string, string][] = [];
  for await (const kvp of kv.entries({})) out.push(kvp);
  return out;
}
