/**
 * The manifest of an evidence pack (`manifest.json`, format `candor-evidence/v1`): what was
 * asked for, which log and checkpoint the pack is built on, and, per record, what the
 * exporter claims about it. Every claim is checked against the bytes by verifyPack; the
 * manifest itself proves nothing.
 *
 * A pack is a directory of plain files, with fixed names:
 *
 *   manifest.json                        this manifest
 *   checkpoint.txt                       the checkpoint every record is proven against, with
 *                                        its witness cosignatures (c2sp.org/tlog-checkpoint)
 *   latest-checkpoint.txt                the log's latest checkpoint at export time
 *   consistency-proof.json               {"from","to","hashes"}: RFC 6962 consistency proof
 *                                        from checkpoint.txt to latest-checkpoint.txt
 *   policy.txt                           the trust policy the exporter used (c2sp.org/tlog-policy)
 *   submitters.json                      the submitter allowlist snapshot (signer identities)
 *   report.md, report.html               the human-readable report
 *   records/entry-<index>.dsse.json      each record's exact entry bytes (the DSSE envelope)
 *   records/entry-<index>.tlog-proof     its inclusion proof against checkpoint.txt
 *                                        (c2sp.org/tlog-proof)
 *
 * `<index>` is the log index, zero-padded to 8 digits. `files` maps every file but the
 * manifest to its SHA-256, so `sha256sum` alone can check a copy of the pack.
 *
 * The manifest has exactly one spelling: formatManifest writes JSON with the keys in a
 * fixed order, two-space indentation and a final newline, and parseManifest refuses any
 * other (a pack where one byte changed must not verify).
 */
import { parseStrictJson, isJsonObject } from '../governance/strict-json.js';
import { CHANGE_TYPES, IDENTIFIER_PATTERN } from '../governance/schema.js';
import type { ChangeType } from '../governance/predicate-types.js';
import { fromBase64, fromUtf8 } from '../util/bytes.js';
import { EvidenceError } from './errors.js';

/** The format of the manifest, and of the pack. */
export const EVIDENCE_FORMAT = 'candor-evidence/v1';

/** The fixed file names of a pack (see the module comment). */
export const PACK_FILES = {
  manifest: 'manifest.json',
  checkpoint: 'checkpoint.txt',
  latest: 'latest-checkpoint.txt',
  consistency: 'consistency-proof.json',
  policy: 'policy.txt',
  submitters: 'submitters.json',
  markdown: 'report.md',
  html: 'report.html',
} as const;

/** The directory of the record files. */
export const RECORDS_DIR = 'records';

/** Largest manifest accepted, in bytes. */
export const MAX_MANIFEST_SIZE = 64 * 1024 * 1024;

const pad = (index: number): string => String(index).padStart(8, '0');

/** The file of a record's entry bytes: `records/entry-00000041.dsse.json`. */
export function entryFileName(index: number): string {
  return `${RECORDS_DIR}/entry-${pad(index)}.dsse.json`;
}

/** The file of a record's tlog-proof: `records/entry-00000041.tlog-proof`. */
export function proofFileName(index: number): string {
  return `${RECORDS_DIR}/entry-${pad(index)}.tlog-proof`;
}

/**
 * Why a record is in the pack:
 * - `match`: it matches the query (model, environment, logged in the period);
 * - `approval`: an approval (or rejection) of a change in the pack, outside the query
 *   (for example logged after the period), so that "which approvals" is provable;
 * - `approved-change`: a change outside the query that an approval in the pack names.
 */
export type RecordRole = 'match' | 'approval' | 'approved-change';

const ROLES: readonly RecordRole[] = ['match', 'approval', 'approved-change'];

/** The query the pack answers; null fields were not restricted. */
export interface ManifestQuery {
  model: string | null;
  env: string | null;
  /** Logged at or after (RFC 3339, UTC, milliseconds). */
  since: string | null;
  /** Logged at or before. */
  until: string | null;
}

/** What the exporter claims about one record. */
export interface ManifestRecord {
  index: number;
  role: RecordRole;
  /** When the log integrated it (the log's clock; RFC 3339 UTC with milliseconds). */
  time: string;
  changeType: ChangeType;
  model: string | null;
  env: string | null;
  /** The allowlisted key that made its signature (per submitters.json), or null. */
  signer: { name: string; keyid: string } | null;
  /**
   * Whether it counts as a governance record under submitters.json (attributeRecord in
   * search/attribution.ts); an unattributed record is in the pack, marked, and counts for
   * nothing. Absent in packs made before it was recorded (the verifier judges anyway).
   */
  attributed?: boolean;
  /** Why it is not attributed. */
  unattributed?: string;
  /** Hex SHA-256 of the entry bytes. */
  envelopeDigest: string;
  /** Hex SHA-256 of the statement (the decoded DSSE payload). */
  payloadDigest: string;
  /** Approvals: what they approve; `entry` is the approved change's index when it is in the pack. */
  approves?: { envelopeDigest: string; decision: 'approve' | 'reject'; entry: number | null };
  /** entryFileName(index). */
  entry: string;
  /** proofFileName(index). */
  proof: string;
}

/** The manifest (see the module comment). */
export interface Manifest {
  format: typeof EVIDENCE_FORMAT;
  query: ManifestQuery;
  /** When the pack was made, by the exporter's clock. */
  exportedAt: string;
  log: { origin: string; verifierKey: string; url: string };
  checkpoint: { file: string; size: number; rootHash: string };
  latest: { file: string; size: number; rootHash: string; consistencyProof: string };
  policy: string;
  submitters: string;
  reports: { markdown: string; html: string };
  /** In log order. */
  records: ManifestRecord[];
  /** Every file of the pack except manifest.json, sorted by path, to its hex SHA-256. */
  files: Record<string, string>;
}

const M = PACK_FILES.manifest;

function bad(path: string, why: string): never {
  throw new EvidenceError('MALFORMED', `${M}: ${path}: ${why}`, M);
}

const HEX64 = /^[0-9a-f]{64}$/;
const IDENTIFIER = new RegExp(IDENTIFIER_PATTERN);
const TIME = /^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z$/;

/** True for a time as the pack writes it: `new Date(ms).toISOString()`. */
export function isPackTime(t: string): boolean {
  return TIME.test(t) && !Number.isNaN(Date.parse(t)) && new Date(Date.parse(t)).toISOString() === t;
}

function object(v: unknown, path: string, keys: readonly string[], optional: readonly string[] = []): Record<string, unknown> {
  if (!isJsonObject(v)) return bad(path, 'must be an object');
  for (const k of Object.keys(v)) {
    if (!keys.includes(k) && !optional.includes(k)) bad(`${path}.${k}`, 'is not a field of the manifest');
  }
  for (const k of keys) if (!(k in v)) bad(`${path}.${k}`, 'is missing');
  return v;
}

function str(v: unknown, path: string, max = 4096): string {
  if (typeof v !== 'string' || v.length === 0 || v.length > max) return bad(path, `must be a string of 1 to ${max} characters`);
  return v;
}

function nullable<T>(v: unknown, read: (v: unknown) => T): T | null {
  return v === null ? null : read(v);
}

function index(v: unknown, path: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) return bad(path, 'must be a non-negative integer');
  return v;
}

function time(v: unknown, path: string): string {
  if (typeof v !== 'string' || !isPackTime(v)) return bad(path, 'must be a UTC time like 2026-03-03T14:32:05.118Z');
  return v;
}

function hex(v: unknown, path: string): string {
  if (typeof v !== 'string' || !HEX64.test(v)) return bad(path, 'must be 64 lowercase hex digits (a SHA-256)');
  return v;
}

function ident(v: unknown, path: string): string {
  if (typeof v !== 'string' || !IDENTIFIER.test(v)) return bad(path, 'must be an identifier');
  return v;
}

function root(v: unknown, path: string): string {
  const s = str(v, path, 64);
  try {
    fromBase64(s, 32);
  } catch {
    bad(path, 'must be a 32-byte hash in base64');
  }
  return s;
}

function fixed<T extends string>(v: unknown, path: string, want: T): T {
  if (v !== want) return bad(path, `must be ${JSON.stringify(want)}`);
  return want;
}

function readRecord(v: unknown, i: number): ManifestRecord {
  const at = `records[${i}]`;
  const o = object(
    v,
    at,
    ['index', 'role', 'time', 'changeType', 'model', 'env', 'signer', 'envelopeDigest', 'payloadDigest', 'entry', 'proof'],
    ['approves', 'attributed', 'unattributed']
  );
  const n = index(o.index, `${at}.index`);
  if (!ROLES.includes(o.role as RecordRole)) bad(`${at}.role`, `must be one of ${ROLES.join(', ')}`);
  if (!(CHANGE_TYPES as readonly string[]).includes(o.changeType as string)) {
    bad(`${at}.changeType`, `must be one of ${CHANGE_TYPES.join(', ')}`);
  }
  const r: ManifestRecord = {
    index: n,
    role: o.role as RecordRole,
    time: time(o.time, `${at}.time`),
    changeType: o.changeType as ChangeType,
    model: nullable(o.model, (m) => ident(m, `${at}.model`)),
    env: nullable(o.env, (e) => ident(e, `${at}.env`)),
    signer: nullable(o.signer, (s) => {
      const so = object(s, `${at}.signer`, ['name', 'keyid']);
      return { name: str(so.name, `${at}.signer.name`, 128), keyid: str(so.keyid, `${at}.signer.keyid`, 256) };
    }),
    envelopeDigest: hex(o.envelopeDigest, `${at}.envelopeDigest`),
    payloadDigest: hex(o.payloadDigest, `${at}.payloadDigest`),
    entry: fixed(o.entry, `${at}.entry`, entryFileName(n)),
    proof: fixed(o.proof, `${at}.proof`, proofFileName(n)),
  };
  if (o.attributed !== undefined) {
    if (typeof o.attributed !== 'boolean') bad(`${at}.attributed`, 'must be true or false');
    r.attributed = o.attributed;
  }
  if (o.unattributed !== undefined) {
    if (r.attributed !== false) bad(`${at}.unattributed`, 'is only given with "attributed": false');
    r.unattributed = str(o.unattributed, `${at}.unattributed`, 4096);
  }
  if (o.approves !== undefined) {
    const a = object(o.approves, `${at}.approves`, ['envelopeDigest', 'decision', 'entry']);
    if (a.decision !== 'approve' && a.decision !== 'reject') bad(`${at}.approves.decision`, 'must be approve or reject');
    r.approves = {
      envelopeDigest: hex(a.envelopeDigest, `${at}.approves.envelopeDigest`),
      decision: a.decision,
      entry: nullable(a.entry, (e) => index(e, `${at}.approves.entry`)),
    };
  }
  return r;
}

/**
 * The manifest's one spelling (see the module comment).
 * @example
 * files.set('manifest.json', utf8(formatManifest(manifest)));
 */
export function formatManifest(m: Manifest): string {
  const files: Record<string, string> = {};
  for (const k of Object.keys(m.files).sort()) files[k] = m.files[k]!;
  const canonical = {
    format: m.format,
    query: { model: m.query.model, env: m.query.env, since: m.query.since, until: m.query.until },
    exportedAt: m.exportedAt,
    log: { origin: m.log.origin, verifierKey: m.log.verifierKey, url: m.log.url },
    checkpoint: { file: m.checkpoint.file, size: m.checkpoint.size, rootHash: m.checkpoint.rootHash },
    latest: {
      file: m.latest.file,
      size: m.latest.size,
      rootHash: m.latest.rootHash,
      consistencyProof: m.latest.consistencyProof,
    },
    policy: m.policy,
    submitters: m.submitters,
    reports: { markdown: m.reports.markdown, html: m.reports.html },
    records: m.records.map((r) => ({
      index: r.index,
      role: r.role,
      time: r.time,
      changeType: r.changeType,
      model: r.model,
      env: r.env,
      signer: r.signer === null ? null : { name: r.signer.name, keyid: r.signer.keyid },
      ...(r.attributed === undefined ? {} : { attributed: r.attributed }),
      ...(r.unattributed === undefined ? {} : { unattributed: r.unattributed }),
      envelopeDigest: r.envelopeDigest,
      payloadDigest: r.payloadDigest,
      ...(r.approves === undefined
        ? {}
        : {
            approves: {
              envelopeDigest: r.approves.envelopeDigest,
              decision: r.approves.decision,
              entry: r.approves.entry,
            },
          }),
      entry: r.entry,
      proof: r.proof,
    })),
    files,
  };
  return JSON.stringify(canonical, null, 2) + '\n';
}

/**
 * Reads manifest.json: strict JSON, every field checked, unknown fields refused, and the
 * bytes must be exactly formatManifest of what they say.
 * @throws EvidenceError MALFORMED naming manifest.json and the field.
 */
export function parseManifest(bytes: Uint8Array): Manifest {
  if (bytes.length > MAX_MANIFEST_SIZE) bad('(file)', `larger than ${MAX_MANIFEST_SIZE} bytes`);
  let text: string;
  let v: unknown;
  try {
    text = fromUtf8(bytes, M);
    v = parseStrictJson(bytes, `${M} is not valid JSON`);
  } catch (err) {
    throw new EvidenceError('MALFORMED', (err as Error).message, M);
  }
  const o = object(v, '(top)', [
    'format',
    'query',
    'exportedAt',
    'log',
    'checkpoint',
    'latest',
    'policy',
    'submitters',
    'reports',
    'records',
    'files',
  ]);
  if (o.format !== EVIDENCE_FORMAT) {
    bad('format', `must be "${EVIDENCE_FORMAT}" (this candor reads only that format)`);
  }
  const q = object(o.query, 'query', ['model', 'env', 'since', 'until']);
  const log = object(o.log, 'log', ['origin', 'verifierKey', 'url']);
  const cp = object(o.checkpoint, 'checkpoint', ['file', 'size', 'rootHash']);
  const latest = object(o.latest, 'latest', ['file', 'size', 'rootHash', 'consistencyProof']);
  const reports = object(o.reports, 'reports', ['markdown', 'html']);
  if (!Array.isArray(o.records)) bad('records', 'must be an array');
  if (!isJsonObject(o.files)) bad('files', 'must be an object');
  const files = o.files;
  const fileDigests: Record<string, string> = {};
  for (const [path, digest] of Object.entries(files)) fileDigests[path] = hex(digest, `files[${JSON.stringify(path)}]`);
  const m: Manifest = {
    format: EVIDENCE_FORMAT,
    query: {
      model: nullable(q.model, (x) => ident(x, 'query.model')),
      env: nullable(q.env, (x) => ident(x, 'query.env')),
      since: nullable(q.since, (x) => time(x, 'query.since')),
      until: nullable(q.until, (x) => time(x, 'query.until')),
    },
    exportedAt: time(o.exportedAt, 'exportedAt'),
    log: { origin: str(log.origin, 'log.origin', 1024), verifierKey: str(log.verifierKey, 'log.verifierKey', 1024), url: str(log.url, 'log.url') },
    checkpoint: {
      file: fixed(cp.file, 'checkpoint.file', PACK_FILES.checkpoint),
      size: index(cp.size, 'checkpoint.size'),
      rootHash: root(cp.rootHash, 'checkpoint.rootHash'),
    },
    latest: {
      file: fixed(latest.file, 'latest.file', PACK_FILES.latest),
      size: index(latest.size, 'latest.size'),
      rootHash: root(latest.rootHash, 'latest.rootHash'),
      consistencyProof: fixed(latest.consistencyProof, 'latest.consistencyProof', PACK_FILES.consistency),
    },
    policy: fixed(o.policy, 'policy', PACK_FILES.policy),
    submitters: fixed(o.submitters, 'submitters', PACK_FILES.submitters),
    reports: {
      markdown: fixed(reports.markdown, 'reports.markdown', PACK_FILES.markdown),
      html: fixed(reports.html, 'reports.html', PACK_FILES.html),
    },
    records: o.records.map(readRecord),
    files: fileDigests,
  };
  if (m.query.model === null && m.query.env === null) bad('query', 'names neither a model nor an environment');
  if (formatManifest(m) !== text) {
    bad('(file)', 'is not in the exact form candor writes (key order, two-space indentation, final newline)');
  }
  return m;
}

/** consistency-proof.json: the answer of `GET /v1/proof/consistency`, in one spelling. */
export interface ConsistencyProofFile {
  from: number;
  to: number;
  /** Base64 hashes. */
  hashes: string[];
}

/** The one spelling of consistency-proof.json (two-space indented JSON, final newline). */
export function formatConsistencyProof(p: ConsistencyProofFile): string {
  return JSON.stringify({ from: p.from, to: p.to, hashes: [...p.hashes] }, null, 2) + '\n';
}

/**
 * Reads consistency-proof.json strictly (exactly formatConsistencyProof's spelling).
 * @throws EvidenceError MALFORMED naming the file.
 */
export function parseConsistencyProof(bytes: Uint8Array): { from: number; to: number; hashes: Uint8Array[] } {
  const F = PACK_FILES.consistency;
  const fail = (why: string): never => {
    throw new EvidenceError('MALFORMED', `${F}: ${why}`, F);
  };
  let v: unknown;
  let text = '';
  try {
    text = fromUtf8(bytes, F);
    v = parseStrictJson(bytes, `${F} is not valid JSON`);
  } catch (err) {
    fail((err as Error).message);
  }
  if (!isJsonObject(v)) return fail('must be an object {"from", "to", "hashes"}');
  const keys = Object.keys(v);
  if (keys.length !== 3 || !['from', 'to', 'hashes'].every((k) => keys.includes(k))) {
    fail('must have exactly the fields "from", "to" and "hashes"');
  }
  const { from, to, hashes } = v;
  for (const [k, n] of [['from', from], ['to', to]] as const) {
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) fail(`"${k}" must be a non-negative integer`);
  }
  if (!Array.isArray(hashes) || hashes.length > 63 || !hashes.every((h) => typeof h === 'string')) {
    fail('"hashes" must be an array of at most 63 base64 hashes');
  }
  const list = hashes as string[];
  const decoded = list.map((h, i) => {
    try {
      return fromBase64(h, 32, `hash ${i}`);
    } catch (err) {
      return fail((err as Error).message);
    }
  });
  if (formatConsistencyProof({ from: from as number, to: to as number, hashes: list }) !== text) {
    fail('is not in the exact form candor writes (two-space indentation, final newline)');
  }
  return { from: from as number, to: to as number, hashes: decoded };
}
