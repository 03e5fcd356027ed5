/**
 * An evidence pack made by the real `candor export` code, in process: the record API
 * fixture (an in-memory log with its record index, test/governance/records-fixture.ts),
 * whose `/checkpoint` is cosigned by three test witnesses, holding a small history of
 * fraud-detector (changes, approvals, a rejection, records outside the query); then
 * exportCommand writes the pack to a temporary directory and readPackDir reads it back.
 *
 * History (T0 = 2026-03-03T12:00:00Z), query `--model fraud-detector --env prod-eu-1
 * --since T0+5min --until T0+3h`:
 *   0  T0          deployment by release-ci                 approved-change (approved by 1)
 *   1  T0+10min    approval of 0 by bob                     match
 *   2  T0+2h       safety-config by alice (lowers a threshold) match
 *   3  T0+150min   deployment to staging by release-ci      (not in the pack)
 *   4  T0+4h       approval of 2 by bob                     approval (after the period)
 *   5  T0+4h       rejection of 2 by dave (another approver) approval (after the period)
 *   6, 7           staging deployments logged after the witnessed checkpoint: the log's
 *                  latest checkpoint (size 8) is newer than the pack's (size 6), so the pack
 *                  carries a real consistency proof
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportCommand } from '../../src/cli/export.js';
import type { GovernanceIo } from '../../src/cli/governance-io.js';
import { readPackDir } from '../../src/cli/verify-export.js';
import { readNodeAllowlist } from '../../src/cli/evidence-allowlist.js';
import { parsePolicy, type Policy } from '../../src/client/policy.js';
import { snapshotConfig } from '../../src/governance/config-snapshot.js';
import { utf8 } from '../../src/util/bytes.js';
import type { VerifyPackOptions } from '../../src/evidence/verify.js';
import { cosign, policyText, witness, type TestWitness } from '../client/fixtures.js';
import {
  RKEYS,
  T0,
  approval,
  deployment,
  recordsAllowlist,
  safetyConfig,
  signed,
  startRecordsFixture,
  type RecordsFixture,
} from '../governance/records-fixture.js';

export { T0 };
const MIN = 60_000;
/** When the witnesses cosign (POSIX seconds): T0 + 5h. */
export const COSIGN_AT = T0 / 1000 + 5 * 3600;
/** The clock at export and verification: T0 + 6h. */
export const NOW = T0 + 6 * 3600_000;
export const now = (): number => NOW;

export const WITNESSES: TestWitness[] = [witness(1, COSIGN_AT), witness(2, COSIGN_AT + 1), witness(3, COSIGN_AT + 2)];
/** Two of the three witnesses. */
export const POLICY_TWO = policyText('two');
/** All three witnesses. */
export const POLICY_ALL = policyText('all3', 'group all3 all w1 w2 w3\n');

export const CONFIG_1 = JSON.stringify({ temperature: '0.2', guardrail: { toxicity_threshold: '0.85' }, system_prompt: 'Be kind.' });
export const CONFIG_2 = JSON.stringify({ temperature: '0.2', guardrail: { toxicity_threshold: '0.80' }, system_prompt: 'Be kinder.' });
export const WEIGHTS = createHash('sha256').update('weights v1').digest('hex');

export const QUERY = [
  '--model', 'fraud-detector', '--env', 'prod-eu-1',
  '--since', new Date(T0 + 5 * MIN).toISOString(), '--until', new Date(T0 + 180 * MIN).toISOString(),
];

/**
 * A fetch whose /checkpoint is `note` (default: the log's latest), cosigned by `witnesses`
 * (real cosignatures): a log whose witnesses have cosigned up to that checkpoint.
 */
export function cosigningFetch(f: RecordsFixture, witnesses: readonly TestWitness[], note?: string): GovernanceIo['fetch'] {
  return async (url, init) => {
    const res = await f.fetch(url, init);
    if (!/\/checkpoint$/.test(url) || res.status !== 200) return res;
    return new Response(cosign(note ?? (await res.text()), witnesses), { status: 200 });
  };
}

/** Logs the history of the module comment. */
export async function logHistory(f: RecordsFixture, reason2 = 'Fewer false refusals on billing questions'): Promise<void> {
  const at = async (ms: number, e: Uint8Array): Promise<void> => {
    f.clock.now = ms;
    await f.submit(e);
  };
  const d0 = deployment('fraud-detector', 'prod-eu-1', WEIGHTS, { config: snapshotConfig(utf8(CONFIG_1)), ticket: 'AI-1', author: 'u-7f3a2c' });
  const e0 = signed(d0, RKEYS.ci);
  await at(T0, e0);
  await at(T0 + 10 * MIN, approval(d0, e0, 0, RKEYS.bob));
  const s2 = safetyConfig('fraud-detector', 'prod-eu-1', CONFIG_2, { reason: reason2, ticket: 'AI-2', preDetermined: true });
  const e2 = signed(s2, RKEYS.alice);
  await at(T0 + 120 * MIN, e2);
  await at(T0 + 150 * MIN, signed(deployment('fraud-detector', 'staging', WEIGHTS), RKEYS.ci));
  await at(T0 + 240 * MIN, approval(s2, e2, 2, RKEYS.bob));
  await at(T0 + 240 * MIN, approval(s2, e2, 2, RKEYS.dave, 'reject'));
  f.clock.now = NOW;
}

/** Logs two staging deployments (entries 6 and 7) after the history. */
export async function growLog(f: RecordsFixture): Promise<void> {
  for (const n of [1, 2]) {
    f.clock.now = T0 + (250 + n) * MIN;
    await f.submit(signed(deployment('fraud-detector', 'staging', WEIGHTS, { reason: `later ${n}` }), RKEYS.ci));
  }
  f.clock.now = NOW;
}

/** A made pack: its directory, its files, and the trust files used. */
export interface MadePack {
  dir: string;
  root: string;
  files: Map<string, Uint8Array>;
  policy: Policy;
  policyBytes: Uint8Array;
  f: RecordsFixture;
  io: GovernanceIo;
  sink: { out: string; err: string };
  cleanup(): Promise<void>;
}

/** Exports the history with the real export command (POLICY_TWO, three cosigning witnesses). */
export async function makePack(options: { reason2?: string; witnesses?: TestWitness[]; policy?: string; args?: string[] } = {}): Promise<MadePack> {
  const root = await mkdtemp(join(tmpdir(), 'candor-evidence-'));
  const f = await startRecordsFixture();
  await logHistory(f, options.reason2);
  const witnessed = f.log.checkpoint.note;
  await growLog(f);
  const sink = { out: '', err: '' };
  const io = f.io(sink, cosigningFetch(f, options.witnesses ?? WITNESSES, witnessed));
  const policy = options.policy ?? POLICY_TWO;
  await writeFile(join(root, 'policy.txt'), policy);
  await writeFile(join(root, 'submitters.json'), recordsAllowlist());
  const dir = join(root, 'pack');
  const code = await exportCommand(
    [...(options.args ?? QUERY), '--out', dir, '--policy', join(root, 'policy.txt'), '--submitters', join(root, 'submitters.json')],
    io
  );
  if (code !== 0) throw new Error(`export failed (${code}): ${sink.err}${sink.out}`);
  return {
    dir,
    root,
    files: await readPackDir(dir),
    policy: parsePolicy(policy),
    policyBytes: utf8(policy),
    f,
    io,
    sink,
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
}

/** verifyPack options for a made pack (your policy = the exporter's unless given). */
export function verifyOptions(p: MadePack, extra: Partial<VerifyPackOptions> = {}): VerifyPackOptions {
  return { policy: p.policy, policyBytes: p.policyBytes, readAllowlist: readNodeAllowlist, now, ...extra };
}

/** A copy of `files` with `path` replaced by `edit(bytes)`. */
export function edited(
  files: ReadonlyMap<string, Uint8Array>,
  path: string,
  edit: (b: Uint8Array) => Uint8Array | string
): Map<string, Uint8Array> {
  const out = new Map(files);
  const v = edit(new Uint8Array(files.get(path)!));
  out.set(path, typeof v === 'string' ? utf8(v) : v);
  return out;
}

/** The file as text. */
export const textOf = (files: ReadonlyMap<string, Uint8Array>, path: string): string =>
  Buffer.from(files.get(path)!).toString('utf8');
