/**
 * The record API in process: POST /v1/records (refusals before anything is logged, dedup,
 * receipts), GET /v1/search (each field, paging, time ranges, strict parameters) and
 * GET /v1/records/<index>, over createApp + registerRecords on a MemoryStore log.
 */
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { createApp } from '../../src/server/app.js';
import { registerRecords } from '../../src/server/records.js';
import { encodeEnvelope, parseEnvelope, signEnvelope } from '../../src/governance/dsse.js';
import { INTOTO_PAYLOAD_TYPE } from '../../src/governance/intoto.js';
import { SubmitterRegistry, type SubmitterList } from '../../src/governance/submitters.js';
import { MemoryKv } from '../../src/search/kv.js';
import { RecordIndex } from '../../src/search/record-index.js';
import { receiptToProofFile } from '../../src/client/receipt.js';
import { verifyProofFile } from '../../src/client/proof-file.js';
import { parsePolicy } from '../../src/client/policy.js';
import { utf8 } from '../../src/util/bytes.js';
import { openTestLog, TEST_VERIFIER_KEY } from '../helpers/test-log.js';
import { SHA_A, SHA_B, SHA_C } from './helpers.js';
import {
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

let f: RecordsFixture;
beforeEach(async () => {
  f = await startRecordsFixture();
});
afterEach(async () => {
  await f.log.drain();
});

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const errorOf = async (res: Response): Promise<{ code: string; message: string }> =>
  ((await res.json()) as { error: { code: string; message: string } }).error;

describe('POST /v1/records refuses, logging nothing', () => {
  const good = (): Uint8Array => signed(deployment('fraud', 'prod-eu-1', SHA_A), RKEYS.alice);
  const refusals: [string, () => Uint8Array | string, number, string, RegExp][] = [
    [
      'unsigned',
      () => encodeEnvelope({ ...parseEnvelope(good()), signatures: [] }),
      400,
      'UNSIGNED',
      /no signatures/,
    ],
    ['unknown key', () => signed(deployment('fraud', 'prod', SHA_A), RKEYS.mallory), 403, 'UNKNOWN_KEY', /allowlist/],
    [
      'bad signature (another key, alice named)',
      () => {
        const env = parseEnvelope(good());
        const other = parseEnvelope(signed(deployment('fraud', 'prod-eu-1', SHA_A), RKEYS.mallory));
        return encodeEnvelope({ ...env, signatures: [{ keyid: env.signatures[0]!.keyid, sig: other.signatures[0]!.sig }] });
      },
      403,
      'BAD_SIGNATURE',
      /alice/,
    ],
    [
      'a statement altered after signing',
      () => {
        const env = parseEnvelope(good());
        const text = Buffer.from(env.payload).toString().replace(SHA_A, SHA_B);
        return encodeEnvelope({ ...env, payload: utf8(text) });
      },
      403,
      'BAD_SIGNATURE',
      /altered/,
    ],
    ['malformed (not JSON)', () => 'hello', 400, 'MALFORMED', /./],
    ['malformed (no payloadType)', () => '{"payload":"e30=","signatures":[]}', 400, 'MALFORMED', /payloadType/],
    [
      'malformed (a governance record missing its reason)',
      () => {
        const p = deployment('fraud', 'prod', SHA_A);
        delete p.reason;
        const statement = {
          _type: 'https://in-toto.io/Statement/v1',
          subject: [{ name: 'model:fraud', digest: { sha256: SHA_A } }],
          predicateType: 'https://candor.dev/governance-record/v1',
          predicate: p,
        };
        return encodeEnvelope(signEnvelope(INTOTO_PAYLOAD_TYPE, utf8(JSON.stringify(statement)), [RKEYS.alice.signer()]));
      },
      400,
      'MALFORMED',
      /reason/,
    ],
    ['too large', () => 'x'.repeat(70_000), 413, 'TOO_LARGE', /65535/],
    [
      'forbidden role (an engineer approving)',
      () => approval(deployment('fraud', 'prod', SHA_A), good(), 0, RKEYS.alice),
      403,
      'FORBIDDEN',
      /approver/,
    ],
    [
      'forbidden environment',
      () => signed(deployment('fraud', 'prod-us', SHA_A), RKEYS.ci),
      403,
      'FORBIDDEN',
      /prod-us/,
    ],
  ];
  test.each(refusals)('%s', async (_name, body, status, code, message) => {
    const res = await f.post(body());
    expect(res.status).toBe(status);
    const err = await errorOf(res);
    expect(err.code).toBe(code);
    expect(err.message).toMatch(message);
    expect(f.log.size).toBe(0);
  });

  test('wait=witnessed on a log without witnesses, and a bad wait value', async () => {
    for (const q of ['?wait=witnessed', '?wait=soon']) {
      const res = await f.post(good(), q);
      expect(res.status).toBe(400);
      expect((await errorOf(res)).code).toBe('MALFORMED');
    }
    expect(f.log.size).toBe(0);
  });

  test('405 for other methods', async () => {
    const res = await f.app.request('/v1/records', { method: 'GET' });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST');
    expect((await f.app.request('/v1/search', { method: 'POST' })).status).toBe(405);
  });
});

describe('POST /v1/records logs', () => {
  test('the canonical envelope once, with a receipt that verifies and the record', async () => {
    const entry = signed(deployment('fraud', 'prod-eu-1', SHA_A), RKEYS.ci);
    const a = await f.submit(entry);
    expect(a).toMatchObject({ index: 0, duplicate: false });
    expect(a.record).toMatchObject({
      envelopeDigest: sha256(entry),
      changeType: 'deployment',
      model: 'fraud',
      env: 'prod-eu-1',
      signer: 'release-ci',
      indexed: true,
    });
    const proof = receiptToProofFile(a);
    expect(verifyProofFile(proof, entry, parsePolicy(POLICY)).index).toBe(0);
    // The same envelope again, and in another spelling: one entry.
    const b = await f.submit(entry);
    expect(b).toMatchObject({ index: 0, duplicate: true });
    const o = JSON.parse(Buffer.from(entry).toString()) as { payload: string; signatures: { sig: string; keyid: string }[] };
    // Keys reordered, white space, URL-safe unpadded base64, an unknown field.
    const respelled = JSON.stringify(
      {
        signatures: o.signatures.map((s) => ({ sig: s.sig.replace(/=+$/, ''), keyid: s.keyid })),
        payloadType: INTOTO_PAYLOAD_TYPE,
        payload: o.payload.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, ''),
        extra: 1,
      },
      null,
      2
    );
    expect(respelled).not.toBe(Buffer.from(entry).toString());
    const c = await f.submit(utf8(respelled));
    expect(c).toMatchObject({ index: 0, duplicate: true });
    expect(f.log.size).toBe(1);
    // Searchable as soon as answered.
    const page = (await (await f.app.request('/v1/search?model=fraud')).json()) as { results: { index: number }[] };
    expect(page.results.map((r) => r.index)).toEqual([0]);
  });

  test('the allowlist file is reloaded without a restart: a key added is accepted, removed refused', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'candor-subm-'));
    try {
      const file = join(dir, 'submitters.json');
      await writeFile(file, recordsAllowlist());
      const registry = await SubmitterRegistry.open(file);
      const { log, store } = await openTestLog();
      const app = createApp({ log, verifierKey: TEST_VERIFIER_KEY });
      const submitters = (): SubmitterList => registry.current;
      const index = await RecordIndex.open({ kv: new MemoryKv(), store, size: () => log.size, submitters });
      registerRecords(app, { submitters, index });
      const post = (b: Uint8Array): Promise<Response> => Promise.resolve(app.request('/v1/records', { method: 'POST', body: b as BodyInit }));
      const carol = signed(deployment('fraud', 'prod', SHA_C), RKEYS.mallory);
      expect((await errorOf(await post(carol))).code).toBe('UNKNOWN_KEY');
      const spki = Buffer.from(RKEYS.mallory.publicKey.spki).toString('base64');
      await writeFile(file, recordsAllowlist([{ name: 'carol', roles: ['engineer'], publicKey: spki }]));
      expect(await registry.reload()).toEqual({ changed: true, count: 5 });
      const ok = await post(carol);
      expect(ok.status).toBe(200);
      expect(((await ok.json()) as { record: { signer: string } }).record.signer).toBe('carol');
      await writeFile(file, recordsAllowlist());
      await registry.reload();
      const again = signed(deployment('fraud', 'prod', SHA_B), RKEYS.mallory);
      const refused = await post(again);
      expect(refused.status).toBe(403);
      expect((await errorOf(refused)).code).toBe('UNKNOWN_KEY');
      expect(log.size).toBe(1);
      await log.drain();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('without an allowlist the routes answer 404 saying why', async () => {
    const { log } = await openTestLog();
    const app = createApp({ log, verifierKey: TEST_VERIFIER_KEY });
    registerRecords(app, {});
    for (const [path, method] of [['/v1/records', 'POST'], ['/v1/search', 'GET'], ['/v1/records/0', 'GET']] as const) {
      const res = await app.request(path, { method, ...(method === 'POST' ? { body: '{}' } : {}) });
      expect(res.status).toBe(404);
      expect((await errorOf(res)).message).toMatch(/--submitters FILE/);
    }
    await log.drain();
  });
});

describe('GET /v1/search', () => {
  type Page = { results: Record<string, unknown>[]; next?: string; indexedSize: number };
  const search = async (q: string): Promise<Page> => {
    const res = await f.app.request(`/v1/search?${q}`);
    expect(res.status, await res.clone().text()).toBe(200);
    return (await res.json()) as Page;
  };
  const indices = async (q: string): Promise<number[]> => (await search(q)).results.map((r) => r.index as number);

  // 0 fraud prod-eu-1 deployment (ci)       T0
  // 1 fraud prod-eu-1 approval of 0 (bob)    T0+1h
  // 2 fraud staging   deployment (ci)        T0+2h
  // 3 chat  prod-eu-1 safety-config (alice)  T0+3h
  // 4 fraud prod-eu-1 deployment (dave), self-approved by dave (5)  T0+4h
  beforeEach(async () => {
    const d0 = deployment('fraud', 'prod-eu-1', SHA_A);
    const e0 = signed(d0, RKEYS.ci);
    await f.submit(e0);
    f.clock.now = T0 + 3600_000;
    await f.submit(approval(d0, e0, 0, RKEYS.bob));
    f.clock.now = T0 + 2 * 3600_000;
    await f.submit(signed(deployment('fraud', 'staging', SHA_B), RKEYS.ci));
    f.clock.now = T0 + 3 * 3600_000;
    await f.submit(signed(safetyConfig('chat', 'prod-eu-1', '{"temperature":"0.2"}'), RKEYS.alice));
    f.clock.now = T0 + 4 * 3600_000;
    const d4 = deployment('fraud', 'prod-eu-1', SHA_C);
    const e4 = signed(d4, RKEYS.dave);
    await f.submit(e4);
    await f.submit(approval(d4, e4, 4, RKEYS.dave));
  });

  test('by each field', async () => {
    expect(await indices('model=fraud')).toEqual([0, 1, 2, 4, 5]);
    expect(await indices('env=prod-eu-1')).toEqual([0, 1, 3, 4, 5]);
    expect(await indices('model=fraud&env=prod-eu-1')).toEqual([0, 1, 4, 5]);
    expect(await indices('changeType=deployment')).toEqual([0, 2, 4]);
    expect(await indices('changeType=deployment,safety-config&env=prod-eu-1')).toEqual([0, 3, 4]);
    expect(await indices(`subject=sha256:${SHA_A}`)).toEqual([0]);
    expect(await indices(`subject=${SHA_B}`)).toEqual([2]);
    expect(await indices('signer=release-ci')).toEqual([0, 2]);
    expect(await indices(`signer=${RKEYS.bob.publicKey.fingerprint}`)).toEqual([1]);
    expect(await indices('predicateType=https://candor.dev/governance-record/v1&limit=2')).toEqual([0, 1]);
    expect(await indices('model=nope')).toEqual([]);
  });

  test('an approval is found by the approved envelope digest, and results carry approvals', async () => {
    const all = (await search('model=fraud&env=prod-eu-1')).results;
    const [d0, a1, d4] = [all[0]!, all[1]!, all[2]!];
    expect(await indices(`subject=${d0.envelopeDigest as string}`)).toEqual([1]);
    expect(d0).toMatchObject({ changeType: 'deployment', signer: { name: 'release-ci', roles: ['ci'] }, approved: true, time: '2026-03-03T12:00:00.000Z' });
    expect(d0.approvals).toEqual([expect.objectContaining({ index: 1, counted: true, decision: 'approve', signer: expect.objectContaining({ name: 'bob' }) })]);
    expect(a1).toMatchObject({ changeType: 'approval', approves: { index: 0, decision: 'approve', envelopeDigest: d0.envelopeDigest } });
    expect(d4.approved).toBe(false);
    expect(d4.approvals).toEqual([expect.objectContaining({ index: 5, counted: false, why: expect.stringMatching(/self-approval/) })]);
    const one = (await (await f.app.request('/v1/records/4')).json()) as Record<string, unknown>;
    expect(one).toEqual(d4);
    expect((await f.app.request('/v1/records/2000')).status).toBe(404);
  });

  test('time ranges (inclusive) and newest first', async () => {
    expect(await indices('since=2026-03-03T13:00:00Z')).toEqual([1, 2, 3, 4, 5]);
    expect(await indices('until=2026-03-03T13:00:00Z')).toEqual([0, 1]);
    expect(await indices('since=2026-03-03T13:00:00Z&until=2026-03-03T15:00:00%2B00:00')).toEqual([1, 2, 3]);
    expect(await indices('since=2026-03-03T14:00:00%2B01:00&until=2026-03-03T13:30:00Z')).toEqual([1]);
    expect(await indices('model=fraud&until=2026-03-03T14:00:00Z&order=desc')).toEqual([2, 1, 0]);
    expect(await indices('order=desc&limit=3')).toEqual([5, 4, 3]);
  });

  test('paging: every result once, in order, both ways', async () => {
    for (const order of ['asc', 'desc']) {
      for (const base of ['', 'model=fraud&', 'since=2026-03-03T12:00:00Z&']) {
        const seen: number[] = [];
        let q = `${base}order=${order}&limit=2`;
        for (let pages = 0; pages < 10; pages++) {
          const page = await search(q);
          seen.push(...page.results.map((r) => r.index as number));
          if (page.next === undefined) break;
          q = `${base}order=${order}&limit=2&cursor=${page.next}`;
        }
        const all = (await search(`${base}order=${order}`)).results.map((r) => r.index as number);
        expect(seen).toEqual(all);
      }
    }
    const page = await search('model=fraud&limit=2');
    const res = await f.app.request(`/v1/search?model=chat&cursor=${page.next!}`);
    expect(res.status).toBe(400);
    expect((await errorOf(res)).message).toMatch(/cursor/);
  });

  test('strict parameters: 400 naming the problem', async () => {
    const cases: [string, RegExp][] = [
      ['enviroment=prod', /unknown search parameter "enviroment"/],
      ['model=a&model=b', /twice/],
      ['model=', /empty/],
      ['model=has space', /identifier/],
      ['changeType=deploy', /changeType must be/],
      ['changeType=deployment,deployment', /twice/],
      ['subject=sha256:xyz', /sha256/],
      ['since=yesterday', /RFC 3339/],
      ['since=2026-03-03T12:00:00', /RFC 3339/],
      ['since=2026-03-04T00:00:00Z&until=2026-03-03T00:00:00Z', /after/],
      ['limit=0', /limit/],
      ['limit=1001', /limit/],
      ['limit=01', /canonical/],
      ['order=up', /asc or desc/],
      ['cursor=!!', /cursor/],
      ['predicateType=nope', /URI/],
    ];
    for (const [q, message] of cases) {
      const res = await f.app.request(`/v1/search?${q}`);
      expect(res.status, q).toBe(400);
      const err = await errorOf(res);
      expect(err.code).toBe('MALFORMED');
      expect(err.message, q).toMatch(message);
    }
  });
});
