/**
 * Verifying an evidence pack fully offline: verifyPack takes the pack's files (path →
 * bytes), YOUR trust policy and an allowlist reader, and either returns what the pack
 * proves or throws an EvidenceError naming the file (and the record) that failed and why.
 * No I/O and no `node:` modules: it runs in browsers too (signatures are checked through
 * the injected AllowlistReader).
 *
 * Checks, in this order (each failure has its code, see errors.ts):
 *  1. manifest.json: strict JSON, every field, exactly candor's spelling.       MALFORMED
 *  2. The files: exactly those the manifest implies (no missing, no extra), and its
 *     `files` list names exactly those.                                        MALFORMED
 *  3. policy.txt and submitters.json: their SHA-256 as the manifest lists it, and they
 *     parse. (Nothing else vouches for them; the policy that counts is yours.)  CLAIM_MISMATCH
 *  4. checkpoint.txt, opened against YOUR policy: signed by the log your policy trusts for
 *     its origin (BAD_SIGNATURE), cosigned to your quorum (QUORUM_NOT_MET); then the
 *     manifest's origin, log key, size and root, and the file's SHA-256.       CLAIM_MISMATCH
 *  5. latest-checkpoint.txt: signed by the same log (no quorum needed), no smaller, and
 *     consistency-proof.json proves it extends checkpoint.txt.                 BAD_PROOF
 *  6. Each record, in log order: its tlog-proof is canonical, for its index and against
 *     exactly checkpoint.txt; its entry's leaf hash is included at that index (BAD_PROOF, or
 *     ENTRY_MISMATCH when the proof is valid for another entry: the file was altered); the
 *     entry is a governance record; every claim (digests, change type, model, environment,
 *     signer by its DSSE signature under the allowlist, what an approval approves) is what
 *     the bytes say; times do not go backwards in log order and none is later than a
 *     cosignature of the checkpoint that includes it (allowing clock skew); its role is
 *     what the query implies.                                                   CLAIM_MISMATCH
 *  7. With your own allowlist (`submitters`): every signer is the same under it.
 *  8. report.md and report.html: byte for byte what renderReports makes of the verified
 *     contents (the mismatch names the line and the record it describes).    REPORT_MISMATCH
 * So one changed byte anywhere fails: every file is either checked for meaning or
 * compared with what candor would write, and the manifest's SHA-256 of each file catches
 * what meaning cannot (a comment in policy.txt, a cosignature by a witness you do not know).
 *
 * What verification cannot show: that no matching record is missing (the log's index
 * could leave one out, and the pack is not signed as a whole, so whoever holds it could
 * drop a record and make the manifest and reports again; the log itself, read by a
 * monitor or exported again, shows that), and the integration times beyond the witnesses'
 * bound (the log's clock is the operator's word).
 */
import { COSIGNATURE_V1_SIZE, cosignatureTimestamp } from '../checkpoint/cosignature.js';
import { formatProofFile, parseProofFile } from '../client/proof-file.js';
import { openCheckpointWithPolicy, type VerifiedCheckpoint } from '../client/open.js';
import type { Policy } from '../client/policy.js';
import { parsePolicy } from '../client/policy.js';
import { leafHash } from '../merkle/hash.js';
import { verifyConsistency, verifyInclusion } from '../merkle/verify.js';
import { parseNote } from '../note/note.js';
import type { ApprovalOutcome, SignerInfo } from '../search/approvals.js';
import { equalBytes, fromUtf8, toBase64, toHex, utf8 } from '../util/bytes.js';
import { isLogError, type ErrorCode } from '../util/errors.js';
import { EvidenceError, type EvidenceErrorCode } from './errors.js';
import {
  PACK_FILES,
  entryFileName,
  parseConsistencyProof,
  parseManifest,
  proofFileName,
  type Manifest,
  type ManifestRecord,
} from './manifest.js';
import { readPackEntry, sha256Hex, type Allowlist, type AllowlistReader, type PackAttribution } from './record.js';
import { approvalOutcomes, renderReports, type ReportCosigner, type ReportInput, type ReportRecord } from './report.js';

/** Default tolerance between the log's clock and the witnesses' clocks: five minutes. */
export const DEFAULT_MAX_CLOCK_SKEW_SECONDS = 300;

/** Options of verifyPack. */
export interface VerifyPackOptions {
  /** YOUR trust policy: the log's key and the witnesses you trust, with your quorum. */
  policy: Policy;
  /** Your policy's bytes, only to say whether the pack's policy.txt is the same. */
  policyBytes?: Uint8Array;
  /** Parses an allowlist (the pack's submitters.json). */
  readAllowlist: AllowlistReader;
  /** Your copy of the allowlist: signers must be the same under it. */
  submitters?: { allowlist: Allowlist; bytes: Uint8Array };
  /** The current time in milliseconds (cosignatures from the future do not count). */
  now?: () => number;
  /** Tolerated clock difference between the log and the witnesses, in seconds (default 300). */
  maxClockSkewSeconds?: number;
}

/** What a verified pack proves. */
export interface VerifiedPack {
  manifest: Manifest;
  /** Every record, verified, in log order, signers as the pack's allowlist names them. */
  records: ReportRecord[];
  /** checkpoint.txt, opened against your policy (`witnesses` are yours that counted). */
  checkpoint: VerifiedCheckpoint;
  /** latest-checkpoint.txt. */
  latest: { size: number; rootHash: Uint8Array };
  /** Per change (log index): the approval verdict, under your allowlist when given. */
  outcomes: Map<number, ApprovalOutcome>;
  /** Whose allowlist judged the signers: yours (`submitters`) or the pack's snapshot. */
  allowlistFrom: 'yours' | 'pack';
  /** Differences worth saying that are not failures (your policy is not the pack's, ...). */
  notes: string[];
}

const M = PACK_FILES.manifest;

function where(file: string, entry?: number): string {
  return entry === undefined ? file : `entry ${entry} (${file})`;
}

function fail(code: EvidenceErrorCode, file: string, why: string, entry?: number): never {
  throw new EvidenceError(code, `${where(file, entry)}: ${why}`, file, entry);
}

/** The kind of failure each client-library error code is, in a pack. */
const KIND_OF: Partial<Record<ErrorCode, EvidenceErrorCode>> = {
  MALFORMED: 'MALFORMED',
  TOO_LARGE: 'MALFORMED',
  UNKNOWN_LOG: 'BAD_SIGNATURE',
  BAD_SIGNATURE: 'BAD_SIGNATURE',
  QUORUM_NOT_MET: 'QUORUM_NOT_MET',
  PROOF_FAILED: 'BAD_PROOF',
  ENTRY_MISMATCH: 'ENTRY_MISMATCH',
};

/** A client-library failure as an EvidenceError of the matching kind (anything else is rethrown). */
function fromLogError(err: unknown, file: string, entry?: number): never {
  const code = isLogError(err) ? KIND_OF[err.code] : undefined;
  if (code === undefined) throw err;
  return fail(code, file, (err as Error).message, entry);
}

const show = (v: unknown): string => JSON.stringify(v);

function expectedFiles(m: Manifest): string[] {
  const fixed = [
    PACK_FILES.checkpoint,
    PACK_FILES.latest,
    PACK_FILES.consistency,
    PACK_FILES.policy,
    PACK_FILES.submitters,
    PACK_FILES.markdown,
    PACK_FILES.html,
  ];
  return [...fixed, ...m.records.flatMap((r) => [entryFileName(r.index), proofFileName(r.index)])];
}

/** The record a pack file belongs to. */
function recordOfFile(m: Manifest, file: string): number | undefined {
  return m.records.find((r) => r.entry === file || r.proof === file)?.index;
}

function checkFileSet(m: Manifest, files: ReadonlyMap<string, Uint8Array>): void {
  for (let i = 1; i < m.records.length; i++) {
    if (m.records[i]!.index <= m.records[i - 1]!.index) {
      fail('MALFORMED', M, `records must be in log order, each index once (records[${i}] is entry ${m.records[i]!.index})`);
    }
  }
  const expected = expectedFiles(m);
  const want = new Set(expected);
  for (const path of [...files.keys()].sort()) {
    if (path !== M && !want.has(path)) {
      fail('MALFORMED', path, `unexpected file: ${M} does not make it part of this pack`);
    }
  }
  for (const path of expected) {
    if (!files.has(path)) {
      const entry = recordOfFile(m, path);
      fail('MALFORMED', path, `missing: ${M} lists it but the pack does not have it`, entry);
    }
  }
  for (const path of Object.keys(m.files)) {
    if (!want.has(path)) fail('MALFORMED', M, `"files" lists ${show(path)}, which is not a file of this pack`);
  }
  for (const path of expected) {
    if (m.files[path] === undefined) fail('MALFORMED', M, `"files" does not list ${path}`);
  }
}

function checkDigest(m: Manifest, files: ReadonlyMap<string, Uint8Array>, path: string, entry?: number): void {
  const got = sha256Hex(files.get(path)!);
  if (got !== m.files[path]) {
    fail('CLAIM_MISMATCH', path, `its SHA-256 is ${got}, but ${M} says ${m.files[path]!}: the file was altered`, entry);
  }
}

function text(files: ReadonlyMap<string, Uint8Array>, path: string, entry?: number): string {
  try {
    return fromUtf8(files.get(path)!, path);
  } catch (err) {
    return fromLogError(err, path, entry);
  }
}

/** The cosignatures on `note` by witnesses of `policy`, verified (for the report). */
export function policyCosigners(note: string, policy: Policy): ReportCosigner[] {
  const parsed = parseNote(note);
  const msg = utf8(parsed.text);
  const out: ReportCosigner[] = [];
  for (const w of policy.witnesses) {
    const sig = parsed.signatures.find((s) => s.name === w.verifier.name && s.keyId === w.verifier.keyId);
    if (sig === undefined || sig.signature.length !== COSIGNATURE_V1_SIZE || !w.verifier.verify(msg, sig.signature)) continue;
    out.push({ name: w.name, keyName: w.verifier.name, timestamp: cosignatureTimestamp(sig.signature) });
  }
  return out;
}

function matchesQuery(m: Manifest, r: ManifestRecord): boolean {
  const t = Date.parse(r.time);
  return (
    (m.query.model === null || r.model === m.query.model) &&
    (m.query.env === null || r.env === m.query.env) &&
    (m.query.since === null || t >= Date.parse(m.query.since)) &&
    (m.query.until === null || t <= Date.parse(m.query.until))
  );
}

const signerClaim = (s: SignerInfo | null): { name: string; keyid: string } | null =>
  s === null ? null : { name: s.name, keyid: s.keyid };

/**
 * Verifies a pack (see the module comment).
 * @param files every regular file of the pack directory: `/`-separated relative path → bytes.
 * @returns what the pack proves.
 * @throws EvidenceError naming the file, and the record (log index) when it concerns one.
 * @example
 * const pack = verifyPack(files, { policy: parsePolicy(myPolicy), readAllowlist });
 * console.log(pack.records.length, pack.checkpoint.size);
 */
export function verifyPack(files: ReadonlyMap<string, Uint8Array>, options: VerifyPackOptions): VerifiedPack {
  const notes: string[] = [];
  const now = options.now ?? Date.now;

  // 1-2. The manifest and the set of files.
  const manifestBytes = files.get(M);
  if (manifestBytes === undefined) fail('MALFORMED', M, 'missing: this is not an evidence pack (no manifest)');
  const m = parseManifest(manifestBytes);
  checkFileSet(m, files);

  // 3. The pack's policy and allowlist: nothing but the manifest vouches for them.
  checkDigest(m, files, PACK_FILES.policy);
  checkDigest(m, files, PACK_FILES.submitters);
  let packPolicy: Policy;
  try {
    packPolicy = parsePolicy(files.get(PACK_FILES.policy)!);
  } catch (err) {
    return fromLogError(err, PACK_FILES.policy);
  }
  let packAllowlist: Allowlist;
  try {
    packAllowlist = options.readAllowlist(files.get(PACK_FILES.submitters)!);
  } catch (err) {
    return fail('MALFORMED', PACK_FILES.submitters, err instanceof Error ? err.message : String(err));
  }
  if (options.policyBytes !== undefined && !equalBytes(options.policyBytes, files.get(PACK_FILES.policy)!)) {
    notes.push(`your policy differs from the pack's ${PACK_FILES.policy}: the pack was checked against yours`);
  }
  const yours = options.submitters;
  if (yours !== undefined && !equalBytes(yours.bytes, files.get(PACK_FILES.submitters)!)) {
    notes.push(`your allowlist differs from the pack's ${PACK_FILES.submitters}: every signer was checked under both`);
  }

  // 4. The checkpoint, against YOUR policy.
  const cpFile = PACK_FILES.checkpoint;
  const cpText = text(files, cpFile);
  let cp: VerifiedCheckpoint;
  try {
    cp = openCheckpointWithPolicy(cpText, options.policy, { now });
  } catch (err) {
    return fromLogError(err, cpFile);
  }
  if (cp.origin !== m.log.origin) {
    fail('CLAIM_MISMATCH', cpFile, `it is a checkpoint of ${show(cp.origin)}, but ${M} says the log is ${show(m.log.origin)}`);
  }
  if (cp.logKey !== m.log.verifierKey) {
    fail('CLAIM_MISMATCH', cpFile, `it is signed by the log key ${cp.logKey}, but ${M} says ${m.log.verifierKey}`);
  }
  if (cp.size !== m.checkpoint.size || toBase64(cp.rootHash) !== m.checkpoint.rootHash) {
    fail('CLAIM_MISMATCH', cpFile, `it is of size ${cp.size} and root ${toBase64(cp.rootHash)}, but ${M} says size ${m.checkpoint.size} and root ${m.checkpoint.rootHash}`);
  }
  checkDigest(m, files, cpFile);

  // 5. The latest checkpoint and the consistency proof.
  const latestFile = PACK_FILES.latest;
  const latestText = text(files, latestFile);
  let latest: VerifiedCheckpoint;
  try {
    latest = openCheckpointWithPolicy(latestText, { ...options.policy, quorum: 'none' }, { now, origin: cp.origin });
  } catch (err) {
    return fromLogError(err, latestFile);
  }
  if (latest.size !== m.latest.size || toBase64(latest.rootHash) !== m.latest.rootHash) {
    fail('CLAIM_MISMATCH', latestFile, `it is of size ${latest.size} and root ${toBase64(latest.rootHash)}, but ${M} says size ${m.latest.size} and root ${m.latest.rootHash}`);
  }
  if (latest.size < cp.size) {
    fail('BAD_PROOF', latestFile, `it is of size ${latest.size}, smaller than the pack's checkpoint (${cp.size}): the log went backwards`);
  }
  const cFile = PACK_FILES.consistency;
  const consistency = parseConsistencyProof(files.get(cFile)!);
  if (consistency.from !== cp.size || consistency.to !== latest.size) {
    fail('CLAIM_MISMATCH', cFile, `it is from size ${consistency.from} to ${consistency.to}, but the checkpoints are of sizes ${cp.size} and ${latest.size}`);
  }
  try {
    if (cp.size === 0) {
      if (consistency.hashes.length !== 0) fail('BAD_PROOF', cFile, 'a proof from the empty tree must be empty');
    } else verifyConsistency(cp.size, latest.size, consistency.hashes, cp.rootHash, latest.rootHash);
  } catch (err) {
    if (!isLogError(err)) throw err;
    fail('BAD_PROOF', cFile, `it does not prove that ${latestFile} (size ${latest.size}) extends ${cpFile} (size ${cp.size}): ${err.message}`);
  }
  checkDigest(m, files, latestFile);
  checkDigest(m, files, cFile);

  // 6-7. The records.
  const skew = (options.maxClockSkewSeconds ?? DEFAULT_MAX_CLOCK_SKEW_SECONDS) * 1000;
  const firstCosign = cp.witnesses.length === 0 ? undefined : cp.witnesses.reduce((a, w) => (w.timestamp < a.timestamp ? w : a));
  const records: ReportRecord[] = [];
  const yourJudgements = new Map<number, PackAttribution>();
  let previous: ManifestRecord | undefined;
  for (const claim of m.records) {
    const n = claim.index;
    const pFile = claim.proof;
    const eFile = claim.entry;
    const entryBytes = files.get(eFile)!;
    let proof;
    try {
      proof = parseProofFile(files.get(pFile)!);
    } catch (err) {
      return fromLogError(err, pFile, n);
    }
    if (proof.index !== n) fail('CLAIM_MISMATCH', pFile, `it proves index ${proof.index}, but ${M} lists it as entry ${n}`, n);
    if (proof.checkpoint !== cpText) fail('CLAIM_MISMATCH', pFile, `its checkpoint is not ${cpFile}: every proof must be against the pack's one checkpoint`, n);
    const leaf = leafHash(entryBytes);
    try {
      verifyInclusion(leaf, n, cp.size, proof.proof, cp.rootHash);
    } catch (err) {
      if (!isLogError(err, 'PROOF_FAILED') && !isLogError(err, 'MALFORMED')) throw err;
      const extra = proof.extra;
      if (extra?.length === 32 && provesLeaf(extra, n, cp, proof.proof)) {
        fail('ENTRY_MISMATCH', eFile, `the file is not the entry the log holds at index ${n}: its leaf hash is ${toHex(leaf)}, the proof is for ${toHex(extra)}`, n);
      }
      fail('BAD_PROOF', pFile, `the inclusion proof does not verify at index ${n} of ${cp.origin} (size ${cp.size}): ${(err as Error).message}`, n);
    }
    if (formatProofFile({ extra: leaf, index: n, proof: proof.proof, checkpoint: proof.checkpoint }) !== text(files, pFile, n)) {
      fail('MALFORMED', pFile, "it is not in the form candor writes (its extra line must be the entry's leaf hash)", n);
    }
    let entry;
    try {
      entry = readPackEntry(entryBytes);
    } catch (err) {
      fail('CLAIM_MISMATCH', eFile, `${M} lists it as a governance record, but it is not one: ${(err as Error).message}`, n);
    }
    const p = entry.predicate;
    const claims: [string, unknown, unknown][] = [
      ['envelope digest', claim.envelopeDigest, entry.envelopeDigest],
      ['statement digest', claim.payloadDigest, entry.payloadDigest],
      ['change type', claim.changeType, p.changeType],
      ['model', claim.model, p.model?.id ?? null],
      ['environment', claim.env, p.environment ?? null],
    ];
    for (const [what, said, is] of claims) {
      if (said !== is) fail('CLAIM_MISMATCH', eFile, `${M} says its ${what} is ${show(said)}, but the entry's is ${show(is)}`, n);
    }
    const judged = packAllowlist.attribute(entry, Date.parse(claim.time));
    const signer = judged.signer;
    if (show(signerClaim(signer)) !== show(claim.signer)) {
      const is = signer === null ? `no key in ${PACK_FILES.submitters} made its signature` : `its signature is by ${signer.name} (key ${signer.keyid})`;
      fail('CLAIM_MISMATCH', eFile, `${M} says it was signed by ${show(claim.signer)}, but ${is}`, n);
    }
    // Packs from before attribution was recorded say nothing: the verifier judges anyway.
    const unattributed = judged.attributed ? undefined : (judged.why ?? 'not attributed');
    const claimed = claim.attributed;
    if (claimed !== undefined && (claimed !== judged.attributed || claim.unattributed !== unattributed)) {
      const is = judged.attributed ? 'it is attributed' : `it is not attributed (${unattributed!})`;
      const says = `${M} says it is ${claimed ? '' : 'not '}attributed`;
      fail('CLAIM_MISMATCH', eFile, `${says}, but under ${PACK_FILES.submitters} ${is}`, n);
    }
    if (yours !== undefined) {
      const j = yours.allowlist.attribute(entry, Date.parse(claim.time));
      const s = j.signer;
      yourJudgements.set(n, j);
      if ((s?.name ?? null) !== (signer?.name ?? null)) {
        const is = s === null ? 'no key of your allowlist made its signature' : `under your allowlist it is signed by ${s.name}`;
        fail('CLAIM_MISMATCH', eFile, `the pack says it was signed by ${signer?.name ?? 'no allowlisted key'}, but ${is}`, n);
      }
      if (j.attributed !== judged.attributed) {
        const is = j.attributed ? 'attributed under your allowlist' : `not attributed under your allowlist (${j.why ?? ''})`;
        const pack = `the pack's ${PACK_FILES.submitters} ${judged.attributed ? 'attributes it' : 'does not attribute it'}`;
        fail('CLAIM_MISMATCH', eFile, `${pack}, but it is ${is}`, n);
      }
    }
    if ((claim.approves === undefined) !== (p.approves === undefined)) {
      fail('CLAIM_MISMATCH', M, `"approves" is ${claim.approves === undefined ? 'missing' : 'given'}, but the entry is ${p.approves === undefined ? 'not ' : ''}an approval`, n);
    }
    if (claim.approves !== undefined && p.approves !== undefined) {
      if (claim.approves.envelopeDigest !== p.approves.digest.sha256 || claim.approves.decision !== p.approves.decision) {
        fail('CLAIM_MISMATCH', eFile, `${M} says it ${claim.approves.decision}s sha256:${claim.approves.envelopeDigest}, but it ${p.approves.decision}s sha256:${p.approves.digest.sha256 ?? '?'}`, n);
      }
    }
    const t = Date.parse(claim.time);
    if (previous !== undefined && t < Date.parse(previous.time)) {
      fail('CLAIM_MISMATCH', M, `it says the entry was logged at ${claim.time}, before entry ${previous.index} (${previous.time}), which precedes it in the log`, n);
    }
    previous = claim;
    if (firstCosign !== undefined && t > firstCosign.timestamp * 1000 + skew) {
      fail('CLAIM_MISMATCH', M, `it says the entry was logged at ${claim.time}, but witness ${firstCosign.name} had cosigned a checkpoint including it at ${new Date(firstCosign.timestamp * 1000).toISOString()}`, n);
    }
    const attributed = judged.attributed;
    records.push({ claim, entry, signer, attributed, ...(unattributed === undefined ? {} : { unattributed }) });
  }

  // Roles and what approvals approve, across records.
  const byDigest = new Map(records.map((r) => [r.claim.envelopeDigest, r]));
  const decidedOn = new Set(records.map((r) => r.claim.approves?.envelopeDigest));
  for (const r of records) {
    const c = r.claim;
    if (c.approves !== undefined) {
      const target = byDigest.get(c.approves.envelopeDigest);
      const want = target?.claim.index ?? null;
      if (c.approves.entry !== want) {
        fail('CLAIM_MISMATCH', M, `"approves.entry" is ${show(c.approves.entry)}, but the change it names is ${want === null ? 'not in the pack' : `entry ${want}`}`, c.index);
      }
    }
    const role = matchesQuery(m, c) ? 'match' : c.changeType === 'approval' ? 'approval' : 'approved-change';
    if (c.role !== role) {
      fail('CLAIM_MISMATCH', M, `its role is ${show(c.role)}, but by the query and its claims it is ${show(role)}`, c.index);
    }
    if (role === 'approval') {
      const target = c.approves?.entry === null || c.approves === undefined ? undefined : byDigest.get(c.approves.envelopeDigest);
      if (target === undefined || target.claim.changeType === 'approval') {
        fail('CLAIM_MISMATCH', M, `it is outside the query, and the change it decides on is not in the pack`, c.index);
      }
    }
    if (role === 'approved-change' && !decidedOn.has(c.envelopeDigest)) {
      fail('CLAIM_MISMATCH', M, `it is outside the query, and no approval in the pack decides on it`, c.index);
    }
  }
  for (const r of records) {
    checkDigest(m, files, r.claim.entry, r.claim.index);
    checkDigest(m, files, r.claim.proof, r.claim.index);
  }

  // 8. The reports.
  const input: ReportInput = {
    manifest: m,
    records,
    cosigners: policyCosigners(cpText, packPolicy),
    quorum: packPolicy.quorum,
  };
  const want = renderReports(input);
  compareReport(files, PACK_FILES.markdown, want.markdown, want.markdownOwners);
  compareReport(files, PACK_FILES.html, want.html, want.htmlOwners);
  checkDigest(m, files, PACK_FILES.markdown);
  checkDigest(m, files, PACK_FILES.html);

  const outcomes =
    yours === undefined
      ? approvalOutcomes(records)
      : approvalOutcomes(records, (r) => yourJudgements.get(r.claim.index) ?? { attributed: false, signer: null });
  return {
    manifest: m,
    records,
    checkpoint: cp,
    latest: { size: latest.size, rootHash: latest.rootHash },
    outcomes,
    allowlistFrom: yours === undefined ? 'pack' : 'yours',
    notes,
  };
}

function provesLeaf(hash: Uint8Array, index: number, cp: VerifiedCheckpoint, proof: Uint8Array[]): boolean {
  try {
    return verifyInclusion(hash, index, cp.size, proof, cp.rootHash);
  } catch {
    return false;
  }
}

function clip(s: string): string {
  return JSON.stringify(s.length > 100 ? `${s.slice(0, 100)}…` : s);
}

function compareReport(files: ReadonlyMap<string, Uint8Array>, path: string, want: string, owners: (number | null)[]): void {
  const bytes = files.get(path)!;
  if (equalBytes(bytes, utf8(want))) return;
  let got: string;
  try {
    got = fromUtf8(bytes, path);
  } catch {
    got = '';
  }
  const a = got.split('\n');
  const b = want.split('\n');
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  const owner = owners[Math.min(i, owners.length - 1)] ?? null;
  const section = owner === null ? '' : ` (in the section of entry ${owner})`;
  throw new EvidenceError(
    'REPORT_MISMATCH',
    `${path}: it is not what ${M} and the records produce: line ${i + 1}${section} should be ${clip(b[i] ?? '(end of file)')}, ` +
      `but is ${clip(a[i] ?? '(end of file)')}`,
    path,
    owner ?? undefined
  );
}
