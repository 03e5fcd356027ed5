/**
 * Opening a backup directory (manifest.ts) for a restore: manifest.json is parsed,
 * SHA256SUMS must hash to the manifest's value, and every file it lists must hash to its
 * line (as `sha256sum -c SHA256SUMS` would check, one file at a time, so memory does not
 * grow with the backup), before a byte of the log is read. Then the restore itself checks
 * the log against its signed checkpoint (restore.ts); the manifest must agree with that
 * checkpoint too.
 */
import { createReadStream, existsSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { readKeyFile } from '../server/keyfile.js';
import { LogError } from '../util/errors.js';
import { toBase64 } from '../util/bytes.js';
import { verifierKeyOf } from './backup.js';
import { KEY_FILE, MANIFEST_FILE, SUMS_FILE, parseManifest, type BackupManifest } from './manifest.js';
import { backupFetch, LOCAL_URL } from './sources.js';
import type { TileSource, VerifiedSourceCheckpoint } from './verified-read.js';

/** A backup directory whose files all match their SHA-256 sums. */
export interface OpenedBackup {
  manifest: BackupManifest;
  /** The signer key the backup holds, if any (already checked to be the log's). */
  signerKey: string | undefined;
  /** The backup as a tlog-tiles source. */
  source: TileSource;
  /** For RestoreOptions.expect: the verified checkpoint must be the manifest's. */
  expect: (cp: VerifiedSourceCheckpoint) => void;
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * Checks a backup directory (module comment).
 * @throws LogError CORRUPT naming the first file missing or damaged; MALFORMED for a bad
 *   manifest or SHA256SUMS; NOT_FOUND when `dir` holds no manifest (not a finished backup).
 */
export async function openBackup(dir: string): Promise<OpenedBackup> {
  const manifestPath = join(dir, MANIFEST_FILE);
  if (!existsSync(manifestPath)) {
    throw new LogError('NOT_FOUND', `${dir} is not a finished candor backup: it has no ${MANIFEST_FILE}`);
  }
  const manifest = parseManifest(await readFile(manifestPath, 'utf8'));
  const sumsPath = join(dir, SUMS_FILE);
  if (!existsSync(sumsPath)) throw new LogError('CORRUPT', `${dir}: ${SUMS_FILE} is missing`);
  const sumsHash = await sha256File(sumsPath);
  if (sumsHash !== manifest.sha256sums) {
    throw new LogError('CORRUPT', `${dir}: ${SUMS_FILE} is damaged (its SHA-256 is not the manifest's)`);
  }
  let files = 0;
  let sawKey = false;
  const lines = createInterface({ input: createReadStream(sumsPath, 'utf8'), crlfDelay: Infinity });
  for await (const line of lines) {
    files++;
    const want = line.slice(0, 64);
    const path = line.slice(66);
    if (!/^[0-9a-f]{64}$/.test(want) || line.slice(64, 66) !== '  ' || path === '' || path.split('/').includes('..')) {
      throw new LogError('MALFORMED', `${dir}: ${SUMS_FILE} line ${files} is not "<sha256 hex>  <path>"`);
    }
    if (path === KEY_FILE) sawKey = true;
    const file = join(dir, path);
    if (!existsSync(file)) throw new LogError('CORRUPT', `backup file ${path} is missing`);
    const got = await sha256File(file);
    if (got !== want) {
      throw new LogError('CORRUPT', `backup file ${path} is damaged: its SHA-256 is ${got}, ${SUMS_FILE} says ${want}`);
    }
  }
  if (files !== manifest.files) {
    throw new LogError('CORRUPT', `${dir}: ${SUMS_FILE} lists ${files} files, the manifest says ${manifest.files}`);
  }
  let signerKey: string | undefined;
  if (manifest.signerKey !== null) {
    if (!sawKey) throw new LogError('CORRUPT', `${dir}: the manifest lists a signer key that ${SUMS_FILE} does not`);
    signerKey = await readKeyFile(join(dir, KEY_FILE));
    if (verifierKeyOf(signerKey) !== manifest.verifierKey) {
      throw new LogError('CORRUPT', `${dir}: ${KEY_FILE} is not the key of ${manifest.verifierKey}`);
    }
  }
  const expect = (cp: VerifiedSourceCheckpoint): void => {
    const same =
      cp.note === manifest.checkpoint &&
      cp.size === manifest.size &&
      toBase64(cp.rootHash) === manifest.rootHash &&
      cp.origin === manifest.origin;
    if (!same) {
      throw new LogError('CORRUPT', `${dir}: the checkpoint file is not the one ${MANIFEST_FILE} describes`);
    }
  };
  return { manifest, signerKey, source: { url: LOCAL_URL, fetch: backupFetch(dir) }, expect };
}
