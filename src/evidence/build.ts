/**
 * Building an evidence pack from parts already verified against the log (see
 * src/cli/export.ts for how they are fetched): the records' entry bytes and tlog-proofs
 * against one checkpoint, the latest checkpoint and the consistency proof to it, the trust
 * policy and the allowlist snapshot. buildPack writes the manifest's claims from the
 * bytes themselves (digests, change type, model, environment, the signer by its DSSE
 * signature), decides each record's role from the query, renders the reports, and then
 * verifies the whole pack with verifyPack under the exporter's policy before handing it
 * back: a pack that would not verify is never written. Pure: no I/O, no clock.
 */
import { parseCheckpoint } from '../checkpoint/checkpoint.js';
import { parsePolicy } from '../client/policy.js';
import { parseNote } from '../note/note.js';
import { toBase64, utf8 } from '../util/bytes.js';
import {
  EVIDENCE_FORMAT,
  PACK_FILES,
  entryFileName,
  formatConsistencyProof,
  formatManifest,
  isPackTime,
  proofFileName,
  type Manifest,
  type ManifestQuery,
  type ManifestRecord,
} from './manifest.js';
import { readPackEntry, sha256Hex, type AllowlistReader } from './record.js';
import { renderReports, type ReportRecord } from './report.js';
import { policyCosigners, verifyPack, type VerifiedPack } from './verify.js';

/** One record to put in the pack. */
export interface PackRecordInput {
  index: number;
  /** When the log integrated it (RFC 3339; written as UTC with milliseconds). */
  time: string;
  /** The exact entry bytes. */
  entry: Uint8Array;
  /** Its tlog-proof against `checkpoint`. */
  proof: string;
}

/** What a pack is made of. */
export interface BuildPackInput {
  query: ManifestQuery;
  /** When the pack is made (RFC 3339 UTC with milliseconds). */
  exportedAt: string;
  log: { origin: string; verifierKey: string; url: string };
  /** The checkpoint note every proof is against, as the log served it. */
  checkpoint: string;
  /** The log's latest checkpoint note at export. */
  latest: string;
  /** The RFC 6962 consistency proof from `checkpoint` to `latest`. */
  consistency: Uint8Array[];
  /** The trust policy file (policy.txt). */
  policy: Uint8Array;
  /** The allowlist file (submitters.json). */
  submitters: Uint8Array;
  records: PackRecordInput[];
}

/** Options of buildPack. */
export interface BuildPackOptions {
  readAllowlist: AllowlistReader;
  /** The current time in milliseconds, for the self-check's cosignature timestamps. */
  now?: () => number;
}

const treeOf = (note: string): { size: number; rootHash: string } => {
  const cp = parseCheckpoint(parseNote(note).text);
  return { size: cp.size, rootHash: toBase64(cp.rootHash) };
};

/**
 * Builds the pack's files (see the module comment).
 * @returns the files (path → bytes, manifest.json included) and what verifyPack made of them.
 * @throws EvidenceError when the pack would not verify under the exporter's own policy;
 *   LogError MALFORMED when an entry is not a governance record or a part does not parse.
 * @example
 * const { files } = buildPack({ query, exportedAt, log, checkpoint, latest, consistency,
 *   policy, submitters, records }, { readAllowlist });
 */
export function buildPack(
  input: BuildPackInput,
  options: BuildPackOptions
): { files: Map<string, Uint8Array>; pack: VerifiedPack } {
  const policy = parsePolicy(input.policy);
  const allowlist = options.readAllowlist(input.submitters);
  const cp = treeOf(input.checkpoint);
  const latest = treeOf(input.latest);
  const sorted = [...input.records].sort((a, b) => a.index - b.index);
  const records: ReportRecord[] = [];
  for (const [i, r] of sorted.entries()) {
    if (i > 0 && sorted[i - 1]!.index === r.index) throw new TypeError(`entry ${r.index} is given twice`);
    const time = new Date(Date.parse(r.time)).toISOString();
    if (!isPackTime(time)) throw new TypeError(`entry ${r.index}: bad time ${JSON.stringify(r.time)}`);
    const entry = readPackEntry(r.entry);
    const p = entry.predicate;
    const { attributed, signer, why } = allowlist.attribute(entry, Date.parse(time));
    const claim: ManifestRecord = {
      index: r.index,
      role: 'match',
      time,
      changeType: p.changeType,
      model: p.model?.id ?? null,
      env: p.environment ?? null,
      signer: signer === null ? null : { name: signer.name, keyid: signer.keyid },
      attributed,
      ...(attributed || why === undefined ? {} : { unattributed: why }),
      envelopeDigest: entry.envelopeDigest,
      payloadDigest: entry.payloadDigest,
      entry: entryFileName(r.index),
      proof: proofFileName(r.index),
    };
    if (p.approves !== undefined) {
      claim.approves = { envelopeDigest: p.approves.digest.sha256 ?? '', decision: p.approves.decision, entry: null };
    }
    const unattributed = attributed || why === undefined ? {} : { unattributed: why };
    records.push({ claim, entry, signer, attributed, ...unattributed });
  }
  const byDigest = new Map(records.map((r) => [r.claim.envelopeDigest, r.claim.index]));
  const q = input.query;
  for (const { claim: c } of records) {
    if (c.approves !== undefined) c.approves.entry = byDigest.get(c.approves.envelopeDigest) ?? null;
    const t = Date.parse(c.time);
    const matches =
      (q.model === null || c.model === q.model) &&
      (q.env === null || c.env === q.env) &&
      (q.since === null || t >= Date.parse(q.since)) &&
      (q.until === null || t <= Date.parse(q.until));
    c.role = matches ? 'match' : c.changeType === 'approval' ? 'approval' : 'approved-change';
  }

  const manifest: Manifest = {
    format: EVIDENCE_FORMAT,
    query: q,
    exportedAt: input.exportedAt,
    log: input.log,
    checkpoint: { file: PACK_FILES.checkpoint, size: cp.size, rootHash: cp.rootHash },
    latest: { file: PACK_FILES.latest, size: latest.size, rootHash: latest.rootHash, consistencyProof: PACK_FILES.consistency },
    policy: PACK_FILES.policy,
    submitters: PACK_FILES.submitters,
    reports: { markdown: PACK_FILES.markdown, html: PACK_FILES.html },
    records: records.map((r) => r.claim),
    files: {},
  };
  const files = new Map<string, Uint8Array>([
    [PACK_FILES.checkpoint, utf8(input.checkpoint)],
    [PACK_FILES.latest, utf8(input.latest)],
    [
      PACK_FILES.consistency,
      utf8(formatConsistencyProof({ from: cp.size, to: latest.size, hashes: input.consistency.map(toBase64) })),
    ],
    [PACK_FILES.policy, input.policy],
    [PACK_FILES.submitters, input.submitters],
  ]);
  for (const r of sorted) {
    files.set(entryFileName(r.index), r.entry);
    files.set(proofFileName(r.index), utf8(r.proof));
  }
  const reports = renderReports({
    manifest,
    records,
    cosigners: policyCosigners(input.checkpoint, policy),
    quorum: policy.quorum,
  });
  files.set(PACK_FILES.markdown, utf8(reports.markdown));
  files.set(PACK_FILES.html, utf8(reports.html));
  for (const [path, bytes] of files) manifest.files[path] = sha256Hex(bytes);
  files.set(PACK_FILES.manifest, utf8(formatManifest(manifest)));

  const pack = verifyPack(files, {
    policy,
    policyBytes: input.policy,
    readAllowlist: options.readAllowlist,
    ...(options.now === undefined ? {} : { now: options.now }),
  });
  return { files, pack };
}
