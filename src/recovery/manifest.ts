/**
 * The backup format (docs/backup.md). A backup is a directory laid out as a static
 * c2sp.org/tlog-tiles copy of the log at one signed checkpoint, so that it can also be
 * served as a read-only mirror:
 *
 *   PATH/manifest.json          what the backup is (below); written last
 *   PATH/SHA256SUMS             "<sha256 hex>  <path>" for every other file (sha256sum -c)
 *   PATH/checkpoint             the signed checkpoint note, byte for byte as the log served it
 *   PATH/tile/<L>/<N>[.p/<W>]   every hash tile of the tree of that size
 *   PATH/tile/entries/<N>[.p/<W>]  every entry bundle of that size
 *   PATH/log.key                the signer key, only with --with-key (mode 0600)
 *
 * manifest.json:
 *   { "format": "candor-backup/1", "origin": …, "verifierKey": …, "size": N,
 *     "rootHash": base64, "checkpoint": the note text, "created": ISO 8601 time,
 *     "signerKey": "log.key" or null, "files": number of lines in SHA256SUMS,
 *     "sha256sums": SHA-256 hex of SHA256SUMS }
 */
import { LogError } from '../util/errors.js';
import { fromBase64 } from '../util/bytes.js';

/** The format tag of this version's backups. */
export const BACKUP_FORMAT = 'candor-backup/1';
/** File names inside a backup directory. */
export const MANIFEST_FILE = 'manifest.json';
export const SUMS_FILE = 'SHA256SUMS';
export const KEY_FILE = 'log.key';

/** What manifest.json says. */
export interface BackupManifest {
  format: typeof BACKUP_FORMAT;
  origin: string;
  verifierKey: string;
  size: number;
  /** Base64 RFC 6962 root hash of the tree of `size`. */
  rootHash: string;
  checkpoint: string;
  created: string;
  signerKey: typeof KEY_FILE | null;
  files: number;
  sha256sums: string;
}

const HEX64 = /^[0-9a-f]{64}$/;

/**
 * Parses and checks manifest.json.
 * @throws LogError MALFORMED naming the first field that is missing or wrong.
 */
export function parseManifest(text: string): BackupManifest {
  let m: Record<string, unknown>;
  try {
    m = JSON.parse(text) as Record<string, unknown>;
  } catch (err) {
    throw new LogError('MALFORMED', `${MANIFEST_FILE} is not JSON`, { cause: err });
  }
  const bad = (field: string, want: string): LogError =>
    new LogError('MALFORMED', `${MANIFEST_FILE}: "${field}" must be ${want}`);
  if (typeof m !== 'object' || m === null) throw bad('(top level)', 'an object');
  if (m.format !== BACKUP_FORMAT) throw bad('format', JSON.stringify(BACKUP_FORMAT));
  for (const f of ['origin', 'verifierKey', 'checkpoint', 'created'] as const) {
    if (typeof m[f] !== 'string' || m[f] === '') throw bad(f, 'a non-empty string');
  }
  for (const f of ['size', 'files'] as const) {
    const v = m[f];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw bad(f, 'a whole number');
  }
  if (typeof m.rootHash !== 'string') throw bad('rootHash', 'base64 of 32 bytes');
  fromBase64(m.rootHash, 32, `${MANIFEST_FILE} rootHash`);
  if (m.signerKey !== null && m.signerKey !== KEY_FILE) throw bad('signerKey', `null or "${KEY_FILE}"`);
  if (typeof m.sha256sums !== 'string' || !HEX64.test(m.sha256sums)) throw bad('sha256sums', 'SHA-256 hex');
  return m as unknown as BackupManifest;
}

/** Formats one SHA256SUMS line (the sha256sum tool's text format). */
export function sumsLine(hex: string, path: string): string {
  return `${hex}  ${path}\n`;
}
