/**
 * `candor record`, `approve`, `diff` and `submitter-key` end to end against a fake log on
 * 127.0.0.1 (fake-records-server.ts), through the commands' injectable I/O.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { approveCommand } from '../../src/cli/approve.js';
import { diffCommand } from '../../src/cli/diff.js';
import { nodeIo, type GovernanceIo } from '../../src/cli/governance-io.js';
import { recordCommand } from '../../src/cli/record.js';
import { submitterKeyCommand } from '../../src/cli/submitter-key.js';
import { parsePolicy } from '../../src/client/policy.js';
import { verifyProofFile } from '../../src/client/proof-file.js';
import { parseEnvelope } from '../../src/governance/dsse.js';
import { parseStatement } from '../../src/governance/intoto.js';
import { parseSubmitters, type SubmitterList } from '../../src/governance/submitters.js';
import { utf8 } from '../../src/util/bytes.js';
import { startFakeLog, type FakeLog } from './fake-records-server.js';
import { KEYS, RFC8032, SHA_A, allowlistJson, dssePrivatePem, ed25519Pem } from './helpers.js';

let dir = '';
let log: FakeLog;
let list: SubmitterList = parseSubmitters(utf8(allowlistJson()));
let out = '';
let err = '';
const io: GovernanceIo = {
  ...nodeIo,
  out: (t) => void (out += t),
  err: (t) => void (err += t),
  env: (name) => (name === 'CANDOR_URL' ? log.url : undefined),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, Math.min(ms, 5))),
};
const path = (name: string): string => join(dir, name);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'candor-cli-'));
  await writeFile(path('alice.pem'), ed25519Pem(RFC8032.A.seed));
  await writeFile(path('bob.pem'), dssePrivatePem());
  await writeFile(path('mallory.pem'), ed25519Pem('11'.repeat(32)));
  await writeFile(
    path('config.json'),
    JSON.stringify({
      temperature: '0.2',
      max_tokens: 1024,
      system_prompt: 'Be careful.',
      api_key: 'sk-1',
    })
  );
  await writeFile(
    path('config2.json'),
    JSON.stringify({
      temperature: '0.7',
      max_tokens: 1024,
      system_prompt: 'Be careful.',
      api_key: 'sk-1',
    })
  );
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});
beforeEach(async () => {
  out = '';
  err = '';
  list = parseSubmitters(utf8(allowlistJson()));
  log = await startFakeLog(() => list);
});
afterEach(async () => {
  await log.close();
});

const MODEL_UPDATE = [
  'model-update',
  '--model',
  'fraud-detector',
  '--model-digest',
  `sha256:${SHA_A}`,
  '--reason',
  'retrained',
  '--env',
  'prod-eu',
  '--ticket',
  'AI-1',
];
const lastJson = (): Record<string, unknown> =>
  JSON.parse(out.trim().split('\n').pop()!) as Record<string, unknown>;

describe('candor record', () => {
  test('logs the record, prints the receipt, and a retry is the same entry', async () => {
    expect(await recordCommand([...MODEL_UPDATE, '--key', path('alice.pem')], io)).toBe(0);
    const first = lastJson();
    expect(first).toMatchObject({ index: 0, duplicate: false, witnessed: false });
    expect(first.envelopeDigest).toBe(createHash('sha256').update(log.entries[0]!).digest('hex'));
    const statement = parseStatement(parseEnvelope(log.entries[0]!).payload);
    expect(statement.predicate).toEqual({
      changeType: 'model-update',
      model: { id: 'fraud-detector', digest: { sha256: SHA_A } },
      reason: 'retrained',
      environment: 'prod-eu',
      ticket: 'AI-1',
    });
    expect(await recordCommand([...MODEL_UPDATE, '--key', path('alice.pem')], io)).toBe(0);
    expect(lastJson()).toMatchObject({
      index: 0,
      duplicate: true,
      envelopeDigest: first.envelopeDigest,
    });
    expect(log.entries).toHaveLength(1);
  });

  test('ECDSA keys are deterministic too: a retry with a P-256 key is the same entry', async () => {
    list = parseSubmitters(
      utf8(
        JSON.stringify({
          submitters: [
            {
              name: 'bob',
              roles: ['engineer'],
              publicKey: Buffer.from(KEYS.bob.publicKey.spki).toString('base64'),
            },
          ],
        })
      )
    );
    expect(await recordCommand([...MODEL_UPDATE, '--key', path('bob.pem')], io)).toBe(0);
    expect(await recordCommand([...MODEL_UPDATE, '--key', path('bob.pem')], io)).toBe(0);
    expect(log.entries).toHaveLength(1);
  });

  test('a config snapshot: file digest, parameters, secrets and prompts only as digests', async () => {
    const args = [
      'safety-config',
      '--model',
      'bot',
      '--config',
      path('config.json'),
      '--reason',
      'r',
      '--key',
      path('alice.pem'),
      '--time',
      '2026-03-03T14:32:00Z',
    ];
    expect(await recordCommand(args, io)).toBe(0);
    const p = parseStatement(parseEnvelope(log.entries[0]!).payload).predicate as Record<
      string,
      unknown
    >;
    const fileDigest = createHash('sha256')
      .update(await readFile(path('config.json')))
      .digest('hex');
    expect(p.config).toMatchObject({
      digest: { sha256: fileDigest },
      parameters: { temperature: '0.2', max_tokens: 1024 },
    });
    expect(p.createdAt).toBe('2026-03-03T14:32:00Z');
    expect(Buffer.from(log.entries[0]!).toString()).not.toMatch(/sk-1|careful/);
  });

  test('SOURCE_DATE_EPOCH sets the time, never the clock', async () => {
    const env = {
      ...io,
      env: (n: string) => (n === 'SOURCE_DATE_EPOCH' ? '1772548320' : io.env(n)),
    };
    expect(
      await recordCommand([...MODEL_UPDATE, '--key', path('alice.pem'), '--dry-run'], env)
    ).toBe(0);
    const statement = parseStatement(parseEnvelope(utf8(out.trim())).payload);
    expect(statement.predicate.createdAt).toBe('2026-03-03T14:32:00Z');
  });

  test('--dry-run prints the envelope and sends nothing; --envelope-out keeps it', async () => {
    const args = [
      ...MODEL_UPDATE,
      '--key',
      path('alice.pem'),
      '--dry-run',
      '--envelope-out',
      path('env.json'),
    ];
    expect(await recordCommand(args, io)).toBe(0);
    expect(log.requests).toBe(0);
    expect(out).toBe(Buffer.from(await readFile(path('env.json'))).toString() + '\n');
  });

  test('--wait retries pushback; --witnessed waits for cosignatures; --policy checks them; --proof-out works', async () => {
    log.knobs.pushback = 2;
    log.knobs.witnessTimeouts = 2;
    await writeFile(path('policy.txt'), log.policy());
    const args = [
      ...MODEL_UPDATE,
      '--key',
      path('alice.pem'),
      '--wait',
      '--witnessed',
      '--policy',
      path('policy.txt'),
      '--proof-out',
      path('p.tlog-proof'),
    ];
    expect(await recordCommand(args, io)).toBe(0);
    expect(lastJson()).toMatchObject({ index: 0, witnessed: true });
    expect(log.requests).toBe(5);
    const proof = await readFile(path('p.tlog-proof'));
    expect(verifyProofFile(proof, log.entries[0]!, parsePolicy(log.policy())).index).toBe(0);
  });

  test('without --wait, a busy log is exit 4 at once (and retrying later is safe)', async () => {
    log.knobs.witnessTimeouts = 1;
    expect(
      await recordCommand([...MODEL_UPDATE, '--key', path('alice.pem'), '--witnessed'], io)
    ).toBe(4);
    expect(err).toMatch(/not witness-included .*504.*safe/s);
    expect(
      await recordCommand([...MODEL_UPDATE, '--key', path('alice.pem'), '--witnessed'], io)
    ).toBe(0);
    expect(lastJson()).toMatchObject({ index: 0, duplicate: true });
  });

  test('an unreachable log is exit 4 after --timeout', async () => {
    await log.close();
    const started = Date.now();
    const args = [...MODEL_UPDATE, '--key', path('alice.pem'), '--wait', '--timeout', '0.3'];
    expect(await recordCommand(args, io)).toBe(4);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(err).toMatch(/not included within 0.3 s/);
    log = await startFakeLog(() => list);
  });

  test('a record the log refuses is exit 3 with its reason', async () => {
    expect(await recordCommand([...MODEL_UPDATE, '--key', path('mallory.pem')], io)).toBe(3);
    expect(err).toMatch(/UNKNOWN_KEY/);
    expect(await recordCommand([...MODEL_UPDATE, '--key', path('bob.pem')], io)).toBe(3);
    expect(err).toMatch(/FORBIDDEN/);
  });

  test('a receipt for another entry is exit 5; so is a policy the checkpoint fails', async () => {
    expect(await recordCommand([...MODEL_UPDATE, '--key', path('alice.pem')], io)).toBe(0);
    log.knobs.wrongLeaf = true;
    const other = [
      'dataset',
      '--dataset',
      `s3://d/x=sha256:${SHA_A}`,
      '--reason',
      'r',
      '--key',
      path('alice.pem'),
    ];
    expect(await recordCommand(other, io)).toBe(5);
    expect(err).toMatch(/for another entry/);
    log.knobs.wrongLeaf = false;
    await writeFile(path('policy.txt'), log.policy());
    expect(await recordCommand([...other, '--policy', path('policy.txt')], io)).toBe(5);
    expect(err).toMatch(/policy/);
  });

  test.each([
    ['no reason', ['model-update', '--model', 'm', '--model-digest', SHA_A], /--reason/],
    ['no change type', ['--reason', 'r'], /change type/],
    ['an approval', ['approval', '--reason', 'r'], /candor approve/],
    [
      'a model update without digest',
      ['model-update', '--model', 'm', '--reason', 'r'],
      /model\.digest: is required/,
    ],
    [
      'a bad digest',
      ['model-update', '--model', 'm', '--model-digest', 'sha256:xyz', '--reason', 'r'],
      /--model-digest/,
    ],
    ['a bad dataset', ['dataset', '--dataset', 'nodigest', '--reason', 'r'], /URI=DIGEST/],
    ['a local time', [...MODEL_UPDATE, '--time', '2026-03-03 14:32'], /--time/],
    ['--param without --config', [...MODEL_UPDATE, '--param', 'x'], /need --config/],
    ['an unknown flag', [...MODEL_UPDATE, '--modle', 'x'], /modle/],
  ])('bad usage: %s is exit 2', async (_name, args, why) => {
    expect(await recordCommand([...args, '--key', path('alice.pem')], io)).toBe(2);
    expect(err).toMatch(why);
    expect(log.requests).toBe(0);
  });

  test('an unreadable key is exit 1', async () => {
    expect(await recordCommand([...MODEL_UPDATE, '--key', path('nope.pem')], io)).toBe(1);
  });
});

describe('candor approve', () => {
  test("bob approves alice's change: the subject is the SHA-256 of the logged envelope", async () => {
    expect(await recordCommand([...MODEL_UPDATE, '--key', path('alice.pem')], io)).toBe(0);
    const changeDigest = lastJson().envelopeDigest;
    expect(
      await approveCommand(
        ['--entry', '0', '--key', path('bob.pem'), '--reason', 'eval pack reviewed'],
        io
      )
    ).toBe(0);
    expect(err).toMatch(/approving entry 0: model-update of fraud-detector in prod-eu/);
    const approval = parseStatement(parseEnvelope(log.entries[1]!).payload);
    expect(approval.subject).toEqual([{ name: 'entry:0', digest: { sha256: changeDigest } }]);
    expect(approval.predicate).toMatchObject({
      changeType: 'approval',
      approves: { entry: 0, digest: { sha256: changeDigest }, decision: 'approve' },
      environment: 'prod-eu',
      reason: 'eval pack reviewed',
    });
    expect(
      await approveCommand(
        ['--entry', '0', '--key', path('bob.pem'), '--reason', 'eval pack reviewed'],
        io
      )
    ).toBe(0);
    expect(lastJson()).toMatchObject({ index: 1, duplicate: true });
  });

  test('refuses self-approval and approving an approval (exit 3); a missing entry is exit 1', async () => {
    expect(await recordCommand([...MODEL_UPDATE, '--key', path('alice.pem')], io)).toBe(0);
    expect(await approveCommand(['--entry', '0', '--key', path('alice.pem')], io)).toBe(3);
    expect(err).toMatch(/your key signed this change/);
    expect(await approveCommand(['--entry', '0', '--key', path('bob.pem')], io)).toBe(0);
    expect(await approveCommand(['--entry', '1', '--key', path('bob.pem')], io)).toBe(3);
    expect(err).toMatch(/itself an approval/);
    expect(await approveCommand(['--entry', '9', '--key', path('bob.pem')], io)).toBe(1);
    expect(err).toMatch(/no entry 9/);
    expect(await approveCommand(['--entry', 'x', '--key', path('bob.pem')], io)).toBe(2);
  });
});

describe('candor diff', () => {
  test('two files: readable, JSON, and --exit-code', async () => {
    expect(await diffCommand([path('config.json'), path('config2.json')], io)).toBe(0);
    expect(out).toMatch(/~ temperature: "0.2" -> "0.7" \(increased\)/);
    expect(out).not.toMatch(/sk-1|careful/);
    out = '';
    expect(
      await diffCommand([path('config.json'), path('config2.json'), '--json', '--exit-code'], io)
    ).toBe(1);
    expect(JSON.parse(out).changes).toHaveLength(1);
    expect(await diffCommand([path('config.json'), path('config.json'), '--exit-code'], io)).toBe(
      0
    );
  });

  test('a logged entry against the file it was made from: no differences', async () => {
    const args = [
      'safety-config',
      '--model',
      'bot',
      '--config',
      path('config.json'),
      '--reason',
      'r',
      '--key',
      path('alice.pem'),
    ];
    expect(await recordCommand(args, io)).toBe(0);
    out = '';
    expect(await diffCommand(['entry:0', path('config.json'), '--exit-code'], io)).toBe(0);
    expect(out).toMatch(/\(unchanged\)\nno parameter differences/);
    expect(await diffCommand(['entry:0', path('config2.json'), '--exit-code'], io)).toBe(1);
  });

  test('bad arguments', async () => {
    expect(await diffCommand([path('config.json')], io)).toBe(2);
    expect(await diffCommand(['entry:x', path('config.json')], io)).toBe(2);
    expect(await diffCommand(['entry:5', path('config.json')], io)).toBe(1);
  });
});

describe('candor submitter-key', () => {
  test('writes a 0600 key and prints an allowlist entry that works', async () => {
    const out1 = path('carol.pem');
    expect(
      await submitterKeyCommand(
        ['--out', out1, '--type', 'ecdsa-p256', '--role', 'approver', '--env', 'prod-*'],
        io
      )
    ).toBe(0);
    expect((await stat(out1)).mode % 0o1000).toBe(0o600);
    const entry = JSON.parse(out) as Record<string, unknown>;
    expect(entry).toMatchObject({ name: 'carol', roles: ['approver'], environments: ['prod-*'] });
    list = parseSubmitters(
      utf8(JSON.stringify({ submitters: [entry, ...JSON.parse(allowlistJson()).submitters] }))
    );
    expect(await recordCommand([...MODEL_UPDATE, '--key', path('alice.pem')], io)).toBe(0);
    expect(await approveCommand(['--entry', '0', '--key', out1], io)).toBe(0);
    expect((await readFile(`${out1}.pub`, 'utf8')).startsWith('-----BEGIN PUBLIC KEY-----')).toBe(
      true
    );
    expect(await submitterKeyCommand(['--out', out1], io)).toBe(1);
    expect(await submitterKeyCommand(['--out', path('x.pem'), '--type', 'rsa'], io)).toBe(2);
  });
});
