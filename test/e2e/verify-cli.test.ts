/**
 * `candor add --proof-out` and `candor verify` end to end, as child processes: a real log
 * with a real witness (quorum 1) on 127.0.0.1, a plain and a witnessed proof, and the
 * documented exit code for each kind of failure.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServerProcess, type ServerProcess, runCandor, type CliResult } from '../helpers/server-process.js';
import {
  freePort,
  makeWitnessIdentity,
  startWitnessProcess,
  type WitnessProcess,
} from '../helpers/witness-process.js';
import { generateSignerKey } from '../../src/note/keys.js';

const ORIGIN = 'verify.example/log';

const candor = (args: string[]): Promise<CliResult> => runCandor(args);

/** Replaces character `at` of `line` inside `text` (A↔B), keeping the base64 canonical. */
function flipInLine(text: string, match: (line: string) => boolean, at: number): string {
  const lines = text.split('\n');
  const i = lines.findIndex(match);
  if (i < 0) throw new Error('no such line');
  const l = lines[i]!;
  lines[i] = l.slice(0, at) + (l[at] === 'A' ? 'B' : 'A') + l.slice(at + 1);
  return lines.join('\n');
}

describe('candor add --proof-out, then candor verify', () => {
  let root: string;
  let log: ServerProcess | undefined;
  let witness: WitnessProcess | undefined;
  const path = (name: string): string => join(root, name);
  const verify = (proof: string, entry: string, policy: string, ...extra: string[]): Promise<{ code: number; stdout: string; stderr: string }> =>
    candor(['verify', '--policy', path(policy), '--proof', path(proof), '--entry', path(entry), ...extra]);

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'candor-verify-e2e-'));
    const key = generateSignerKey(ORIGIN);
    await writeFile(path('log.key'), key.signerKey + '\n', { mode: 0o600 });
    const w = await makeWitnessIdentity(root, 'w1.example/witness');
    witness = await startWitnessProcess(w, ['--log', `${ORIGIN}=${key.verifierKey}`, '--poll', '0', '--gossip', '0']);
    const port = await freePort();
    log = await startServerProcess(path('log'), [
      '--origin', ORIGIN, '--key', path('log.key'), '--port', String(port),
      '--witness', `w1=${w.vkey}@${w.url}`, '--quorum', '1',
    ]);
    await writeFile(path('policy-log'), `log ${key.verifierKey}\nquorum none\n`);
    await writeFile(path('policy-witnessed'), `log ${key.verifierKey}\nwitness w1 ${w.vkey}\nquorum w1\n`);
    for (const [i, name] of ['e0.json', 'e1.json', 'e2.json'].entries()) {
      await writeFile(path(name), `{"model":"m${i}","digest":"sha256:${i}${i}"}\n`);
    }
    expect((await candor(['add', '--url', log.url, path('e0.json')])).code).toBe(0);
    const plain = await candor(['add', '--url', log.url, '--proof-out', path('plain.tlog-proof'), path('e1.json')]);
    expect(plain.code).toBe(0);
    const witnessed = await candor(['add', '--url', log.url, '--witnessed', '--proof-out', path('witnessed.tlog-proof'), path('e2.json')]);
    expect(witnessed).toMatchObject({ code: 0 });

    const proof = await readFile(path('plain.tlog-proof'), 'utf8');
    const isHash = (l: string): boolean => /^[A-Za-z0-9+/]{43}=$/.test(l);
    await writeFile(path('hash.tlog-proof'), flipInLine(proof, isHash, 10));
    await writeFile(path('sig.tlog-proof'), flipInLine(proof, (l) => l.startsWith(`— ${ORIGIN} `), 40));
    await writeFile(path('garbage.tlog-proof'), 'this is not a proof\n');
    await writeFile(path('tampered.json'), (await readFile(path('e1.json'), 'utf8')).replace('m1', 'm9'));
  }, 60_000);

  afterAll(async () => {
    await log?.kill();
    await witness?.kill();
    await rm(root, { recursive: true, force: true });
  });

  it('exits 0 on the genuine files, plain and witnessed', async () => {
    const plain = await verify('plain.tlog-proof', 'e1.json', 'policy-log');
    expect(plain).toMatchObject({ code: 0, stderr: '' });
    expect(plain.stdout).toMatch(/^OK: entry 1 is in verify\.example\/log at tree size \d+/);
    const witnessed = await verify('witnessed.tlog-proof', 'e2.json', 'policy-witnessed', '--json');
    expect(witnessed.code).toBe(0);
    const o = JSON.parse(witnessed.stdout) as { valid: boolean; index: number; witnesses: { name: string }[] };
    expect(o).toMatchObject({ valid: true, index: 2, origin: ORIGIN });
    expect(o.witnesses.map((w) => w.name)).toEqual(['w1']);
  });

  const failures: Array<[string, string, string, string, number, string]> = [
    ['a tampered entry', 'plain.tlog-proof', 'tampered.json', 'policy-log', 7, 'ENTRY_MISMATCH'],
    ['a tampered proof hash', 'hash.tlog-proof', 'e1.json', 'policy-log', 6, 'PROOF_FAILED'],
    ['a tampered checkpoint signature', 'sig.tlog-proof', 'e1.json', 'policy-log', 4, 'BAD_SIGNATURE'],
    ['a policy demanding witnesses the proof lacks', 'plain.tlog-proof', 'e1.json', 'policy-witnessed', 5, 'QUORUM_NOT_MET'],
    ['garbage', 'garbage.tlog-proof', 'e1.json', 'policy-log', 3, 'MALFORMED'],
  ];

  it.each(failures)('exits with its own code on %s, with --json too', async (_, proof, entry, policy, code, errorCode) => {
    const plain = await verify(proof, entry, policy);
    expect(plain).toMatchObject({ code, stdout: '' });
    expect(plain.stderr).toMatch(/^candor verify: FAILED \(/);
    const json = await verify(proof, entry, policy, '--json');
    expect(json.code).toBe(code);
    expect(JSON.parse(json.stdout)).toMatchObject({ valid: false, exitCode: code, error: { code: errorCode } });
  });
});
