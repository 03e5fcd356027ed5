/**
 * Writing a backup (format: manifest.ts, docs/backup.md) from any tlog-tiles source:
 * a running log server's public read API, or a stopped log's store (sources.ts).
 *
 * Consistency. The backup is taken at one signed checkpoint, fetched first and verified
 * under the log's key. Everything else is read for that tree size only: entry bundles and
 * hash tiles of a size never change (a log only appends), so a server that takes writes
 * meanwhile changes nothing the backup reads. Every bundle is authenticated against the
 * checkpoint as it arrives (verified-read.ts) and the hash tiles written are rebuilt from
 * the entries (tile-builder.ts) and checked to lead to the checkpoint's root: a backup
 * never copies a corruption it could have seen.
 *
 * Atomicity. Files go to `<out>.partial-<pid>`, each fsynced; manifest.json is written
 * last; then the directory is renamed to `<out>`. A crash leaves a `.partial-` directory
 * without a manifest, which restore refuses, never a `<out>` that looks complete.
 *
 * The signer key is included only when the caller passes it (`candor backup --with-key`);
 * then the directory and the key file are mode 0700 / 0600.
 */
import { existsSync } from 'node:fs';
import { open, rm, type FileHandle } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { formatTilePath, TILE_WIDTH } from '../merkle/tiles.js';
import { leafHash } from '../merkle/hash.js';
import { parseSignerKey, formatVerifierKey } from '../note/keys.js';
import { ed25519PublicKey } from '../note/ed25519.js';
import { nodeSha256 } from '../server/node-crypto.js';
import { encodeChunk } from '../storage/keys.js';
import { LogError } from '../util/errors.js';
import { equalBytes, toBase64, toHex } from '../util/bytes.js';
import { DirMaker, renameSynced, syncDir, writeFileSynced } from './files.js';
import { BACKUP_FORMAT, KEY_FILE, MANIFEST_FILE, SUMS_FILE, sumsLine, type BackupManifest } from './manifest.js';
import { TileBuilder } from './tile-builder.js';
import { fetchVerifiedCheckpoint, verifiedBundles, type TileSource } from './verified-read.js';

/** Files being written and fsynced at once. */
const MAX_WRITES_IN_FLIGHT = 16;

/** Options for writeBackup. */
export interface BackupOptions {
  source: TileSource;
  /** The log's verifier key: the checkpoint must verify under it. */
  verifierKey: string;
  /** The backup directory to create; must not exist. */
  out: string;
  /** The log's signer key, to include in the backup (log.key, mode 0600); omit to leave it out. */
  signerKey?: string | undefined;
  /** Progress lines. */
  say?: (line: string) => void;
  /** The clock for the manifest's `created`; default Date.now. */
  now?: () => number;
}

/** What a backup holds. */
export interface BackupResult {
  manifest: BackupManifest;
  /** Bytes written, manifest and key included. */
  bytes: number;
}

/** The verifier key of a signer key (Ed25519, key name as in the signer key). */
export function verifierKeyOf(signerKey: string): string {
  const { name, seed } = parseSignerKey(signerKey);
  return formatVerifierKey(name, 0x01, ed25519PublicKey(seed));
}

/**
 * Writes a backup of the log at the source's current checkpoint (module comment).
 * @throws LogError CONFLICT when `out` exists or the signer key is not the log's; any
 *   error of fetchVerifiedCheckpoint / verifiedBundles when the source is wrong, with
 *   nothing left at `out`.
 */
export async function writeBackup(options: BackupOptions): Promise<BackupResult> {
  const { out, source, verifierKey, signerKey } = options;
  const say = options.say ?? (() => {});
  if (existsSync(out)) throw new LogError('CONFLICT', `${out} exists: a backup is written to a new path`);
  if (signerKey !== undefined && verifierKeyOf(signerKey) !== verifierKey) {
    throw new LogError('CONFLICT', `the signer key is not the key of the log ${verifierKey}`);
  }
  const cp = await fetchVerifiedCheckpoint(source, verifierKey);
  say(`backing up "${cp.origin}" at size ${cp.size} (root ${toBase64(cp.rootHash)})`);
  const tmp = `${out}.partial-${process.pid}`;
  const dirs = new DirMaker(signerKey === undefined ? 0o755 : 0o700);
  // SHA256SUMS is written as the backup goes, so memory does not grow with the log.
  let sums: FileHandle | undefined;
  const sumsHash = createHash('sha256');
  let pendingSums = '';
  const flushSums = async (): Promise<void> => {
    sumsHash.update(pendingSums);
    await sums!.write(pendingSums);
    pendingSums = '';
  };
  let files = 0;
  let bytes = 0;
  // Files are written and fsynced a few at a time: one fsync after another would make the
  // backup wait for the disk once per file, concurrent ones share the journal's commits.
  const writing = new Set<Promise<void>>();
  let writeError: { err: unknown } | undefined;
  const settle = async (all: boolean): Promise<void> => {
    while (writing.size > (all ? 0 : MAX_WRITES_IN_FLIGHT - 1)) await Promise.race(writing);
    if (writeError !== undefined) throw writeError.err;
  };
  const put = async (path: string, data: Uint8Array | string, mode?: number): Promise<void> => {
    const full = join(tmp, path);
    await dirs.forFile(full);
    const raw = typeof data === 'string' ? new TextEncoder().encode(data) : data;
    await settle(false);
    const w: Promise<void> = writeFileSynced(full, raw, mode).then(
      () => void writing.delete(w),
      (err: unknown) => {
        writing.delete(w);
        writeError ??= { err };
      }
    );
    writing.add(w);
    pendingSums += sumsLine(toHex(nodeSha256(raw)), path);
    if (pendingSums.length > 64 * 1024) await flushSums();
    files++;
    bytes += raw.length;
  };
  try {
    await dirs.forFile(join(tmp, 'x'));
    sums = await open(join(tmp, SUMS_FILE), 'wx', 0o644);
    await put('checkpoint', cp.note);
    const builder = new TileBuilder();
    for await (const { index, entries } of verifiedBundles(source, cp)) {
      const width = entries.length;
      const bundle = encodeChunk(entries, 0, width);
      await put(formatTilePath({ kind: 'entries', index, ...(width < TILE_WIDTH ? { width } : {}) }), bundle);
      // Full tiles are final the moment they fill; partial ones are written at the end.
      for (const t of builder.append(entries.map((e) => leafHash(e)))) {
        if (t.data.length === TILE_WIDTH * 32) await put(formatTilePath({ kind: 'hash', level: t.level, index: t.index }), t.data);
      }
      if ((index + 1) % 4096 === 0) say(`  ${builder.size} of ${cp.size} entries`);
    }
    for (const t of builder.partialTiles()) {
      const width = t.data.length / 32;
      await put(formatTilePath({ kind: 'hash', level: t.level, index: t.index, width }), t.data);
    }
    if (builder.size !== cp.size || !equalBytes(builder.root(), cp.rootHash)) {
      throw new LogError('PROOF_FAILED', `the entries read do not hash to the checkpoint's root (size ${cp.size})`);
    }
    if (signerKey !== undefined) await put(KEY_FILE, signerKey + '\n', 0o600);
    await settle(true); // every file listed is written and fsynced
    await flushSums();
    await sums.sync();
    const sumsSize = (await sums.stat()).size;
    await sums.close();
    sums = undefined;
    const manifest: BackupManifest = {
      format: BACKUP_FORMAT,
      origin: cp.origin,
      verifierKey,
      size: cp.size,
      rootHash: toBase64(cp.rootHash),
      checkpoint: cp.note,
      created: new Date((options.now ?? Date.now)()).toISOString(),
      signerKey: signerKey === undefined ? null : KEY_FILE,
      files,
      sha256sums: sumsHash.digest('hex'),
    };
    const manifestText = JSON.stringify(manifest, null, 2) + '\n';
    // The commit point: with the manifest, the backup is complete. Everything it lists is
    // already fsynced; the directories holding them are fsynced before the rename.
    await writeFileSynced(join(tmp, MANIFEST_FILE), manifestText, signerKey === undefined ? 0o644 : 0o600);
    for (const dir of dirs.list()) await syncDir(dir);
    await renameSynced(tmp, out);
    return { manifest, bytes: bytes + sumsSize + manifestText.length };
  } catch (err) {
    await Promise.all(writing);
    await sums?.close();
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
}
