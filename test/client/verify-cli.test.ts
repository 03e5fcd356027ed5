// `candor verify`, run in process through verifyCommand with captured output.
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VERIFY_EXIT, verifyCommand, type VerifyIo } from '../../src/cli/verify.js';
import { formatProofFile, leafHash } from '../../src/index.js';
import { W1, W2, W3, cosign, flipBase64Char, now, policyText, servedLog, witness } from './fixtures.js';

// Fixed at load time: the test tables below name files in it.
const dir = join(tmpdir(), `candor-verify-${process.pid}-${Date.now()}`);
const files: Record<string, string | Uint8Array> = {};
const path = (name: string): string => join(dir, name);

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: VerifyIo = {
    out: (t) => void (out += t),
    err: (t) => void (err += t),
    readFile: async (p) => new Uint8Array(await readFile(p)),
    now,
  };
  const code = await verifyCommand(args, io);
  return { code, out, err };
}

const args = (proof = 'good.tlog-proof', entry = 'entry', policy = 'policy'): string[] => [
  '--policy',
  path(policy),
  '--proof',
  path(proof),
  '--entry',
  path(entry),
];

beforeAll(async () => {
  await mkdir(dir, { recursive: true });
  const { log, entries } = await servedLog(9);
  const note = cosign(log.checkpoint.note, [W1, W2, W3]);
  const proof = async (i: number, n = note): Promise<string> =>
    formatProofFile({ extra: leafHash(entries[i]!), index: i, proof: await log.inclusionProof(i, 9), checkpoint: n });
  const good = await proof(4);
  const logLine = good.split('\n').find((l) => l.startsWith('— test.example/log '))!;
  Object.assign(files, {
    policy: policyText('two'),
    'strict-policy': policyText('all4', `witness w4 ${witness(4).verifierKey}\ngroup all4 all w1 w2 w3 w4\n`),
    'bad-policy': 'quorum nobody\n',
    entry: entries[4]!,
    'other-entry': entries[5]!,
    'good.tlog-proof': good,
    'malformed.tlog-proof': good.replace('index 4', 'index four'),
    'badsig.tlog-proof': good.replace(logLine, flipBase64Char(logLine, 50)),
    'quorum.tlog-proof': await proof(4, cosign(log.checkpoint.note, [W3])),
    'badproof.tlog-proof': good.replace('index 4', 'index 3'),
  });
  for (const [name, content] of Object.entries(files)) await writeFile(path(name), content);
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

describe('candor verify', () => {
  it('exits 0 with a readable line for a valid proof', async () => {
    const r = await run(args());
    expect(r).toMatchObject({ code: 0, err: '' });
    expect(r.out).toMatch(/^OK: entry 4 is in test\.example\/log at tree size 9 \(root .*\), cosigned by w1 \(2023-11-14T22:13:20Z\), w2 .*, w3 .*\n$/);
  });

  it('prints one JSON object with --json', async () => {
    const r = await run([...args(), '--json']);
    expect(r.code).toBe(0);
    const o = JSON.parse(r.out) as Record<string, unknown>;
    expect(o).toMatchObject({ valid: true, index: 4, origin: 'test.example/log', size: 9 });
    expect(o.witnesses).toEqual([
      { name: 'w1', timestamp: 1_700_000_000 },
      { name: 'w2', timestamp: 1_700_000_000 },
      { name: 'w3', timestamp: 1_700_000_000 },
    ]);
  });

  const failures: Array<[string, string[], number, string]> = [
    ['malformed proof', args('malformed.tlog-proof'), VERIFY_EXIT.MALFORMED, 'MALFORMED'],
    ['malformed policy', args(undefined, undefined, 'bad-policy'), VERIFY_EXIT.MALFORMED, 'MALFORMED'],
    ['bad log signature', args('badsig.tlog-proof'), VERIFY_EXIT.BAD_SIGNATURE, 'BAD_SIGNATURE'],
    ['quorum not met', args('quorum.tlog-proof'), VERIFY_EXIT.QUORUM_NOT_MET, 'QUORUM_NOT_MET'],
    ['policy asks for more witnesses', args(undefined, undefined, 'strict-policy'), 5, 'QUORUM_NOT_MET'],
    ['bad proof', args('badproof.tlog-proof'), VERIFY_EXIT.PROOF_FAILED, 'PROOF_FAILED'],
    ['entry mismatch', args(undefined, 'other-entry'), VERIFY_EXIT.ENTRY_MISMATCH, 'ENTRY_MISMATCH'],
    ['missing file', args('nonexistent'), VERIFY_EXIT.ERROR, 'ERROR'],
  ];
  it.each(failures)('%s: distinct exit code, readable by default and JSON with --json', async (_, a, exit, code) => {
    const plain = await run(a);
    expect(plain.code).toBe(exit);
    expect(plain.out).toBe('');
    expect(plain.err).toMatch(/^candor verify: FAILED \(.+\): .+\n$/);
    const json = await run([...a, '--json']);
    expect(json.code).toBe(exit);
    expect(JSON.parse(json.out)).toMatchObject({ valid: false, exitCode: exit, error: { code } });
  });

  it('exits 2 on bad usage', async () => {
    for (const a of [[], ['--policy', 'x'], [...args(), '--frobnicate'], [...args(), 'extra']]) {
      const r = await run(a);
      expect(r.code, a.join(' ')).toBe(VERIFY_EXIT.USAGE);
      expect(r.err).toMatch(/usage: candor verify/);
    }
  });

  it('has one distinct exit code per kind of failure', () => {
    expect(new Set(Object.values(VERIFY_EXIT)).size).toBe(Object.keys(VERIFY_EXIT).length);
  });
});
