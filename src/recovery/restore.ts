/**
 * Rebuilding a data directory from a tlog-tiles source (a log server, a mirror, a CDN, a
 * static directory, or a backup: sources.ts), checked against a signed checkpoint:
 * 1. the source's checkpoint must verify under the log's verifier key (nothing is written
 *    before it does);
 * 2. every entry bundle is authenticated against it as it arrives (verified-read.ts);
 * 3. leaf hashes and hash tiles are rebuilt from the entries as the integrator builds them
 *    (tile-builder.ts) and committed through the store's commit path in batches
 *    (restore-store.ts): bounded memory, one fsync per batch, never per entry;
 * 4. before the final commit, the rebuilt root must equal the checkpoint's; the final
 *    commit writes the source's own checkpoint note, so the restored log serves the very
 *    same /checkpoint bytes (no new signature, no new timestamp).
 *
 * Crash and failure safety. The directory gets a marker file (RESTORE_MARKER) before the
 * store is created and loses it only after everything is durable, the key included. On any
 * failure the restore removes what it wrote; after a crash, `candor serve` refuses the
 * directory (guard.ts) and running the same restore again starts it over.
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { leafHash } from '../merkle/hash.js';
import { LevelStore } from '../storage/level-store.js';
import { LogError } from '../util/errors.js';
import { equalBytes, toBase64 } from '../util/bytes.js';
import { verifierKeyOf } from './backup.js';
import { syncDir, writeFileSynced } from './files.js';
import { RestoreStore } from './restore-store.js';
import { TileBuilder } from './tile-builder.js';
import {
  fetchVerifiedCheckpoint,
  verifiedBundles,
  type TileSource,
  type VerifiedSourceCheckpoint,
} from './verified-read.js';

/** Present in a data directory while a restore into it is under way (or crashed). */
export const RESTORE_MARKER = 'restore-in-progress';
/** Written by a finished restore: where the log came from (JSON, see RestoreRecord). */
export const RESTORE_RECORD = 'restore.json';
/** Names a restore creates in the data directory (all it removes when it starts over). */
const RESTORE_NAMES = ['db', 'log.key', RESTORE_RECORD, RESTORE_MARKER];

/** What restore.json says. */
export interface RestoreRecord {
  from: string;
  origin: string;
  verifierKey: string;
  size: number;
  rootHash: string;
  restored: string;
  /** Whether the signer key was restored into DIR/log.key. */
  signerKey: boolean;
}

/** Options for restoreLog. */
export interface RestoreOptions {
  source: TileSource;
  /** What to record as the source (a URL or a backup path). */
  from: string;
  /** The log's verifier key. */
  verifierKey: string;
  /** The data directory to build; must be empty or missing (or hold a crashed restore). */
  dataDir: string;
  /** The log's signer key, written to DIR/log.key (0600); without it the log cannot append. */
  signerKey?: string | undefined;
  /** Called with the verified checkpoint before anything is written; may throw to refuse. */
  expect?: (cp: VerifiedSourceCheckpoint) => void;
  /** Most entries per commit; default 16384. */
  batchEntries?: number;
  /** Most entry bytes per commit; default 8 MiB. */
  batchBytes?: number;
  say?: (line: string) => void;
  now?: () => number;
}

/**
 * Restores the log into `dataDir` (module comment) and returns its record.
 * @throws LogError CONFLICT when the directory holds anything but a crashed restore, or
 *   the signer key is not the log's; BAD_SIGNATURE / PROOF_FAILED / ENTRY_MISMATCH /
 *   MALFORMED / CORRUPT when the source is wrong; NOT_FOUND / PUSHBACK / TIMEOUT when it
 *   cannot be read. Nothing of a failed restore is left in the directory.
 */
export async function restoreLog(options: RestoreOptions): Promise<RestoreRecord> {
  const { dataDir, source, verifierKey, signerKey } = options;
  const say = options.say ?? (() => {});
  const now = options.now ?? Date.now;
  if (signerKey !== undefined && verifierKeyOf(signerKey) !== verifierKey) {
    throw new LogError('CONFLICT', `the signer key is not the key of the log ${verifierKey}`);
  }
  const created = await prepareDir(dataDir, say);
  try {
    const cp = await fetchVerifiedCheckpoint(source, verifierKey);
    options.expect?.(cp);
    say(`restoring "${cp.origin}" at size ${cp.size} (root ${toBase64(cp.rootHash)}) from ${options.from}`);
    await writeFileSynced(join(dataDir, RESTORE_MARKER), `restore from ${options.from}\n`);
    await syncDir(dataDir);
    await rebuild(options, cp, say);
    // The key, then the record, then the marker goes: the directory is a log only now.
    if (signerKey !== undefined) await writeFileSynced(join(dataDir, 'log.key'), signerKey + '\n', 0o600);
    const record: RestoreRecord = {
      from: options.from,
      origin: cp.origin,
      verifierKey,
      size: cp.size,
      rootHash: toBase64(cp.rootHash),
      restored: new Date(now()).toISOString(),
      signerKey: signerKey !== undefined,
    };
    await writeFileSynced(join(dataDir, RESTORE_RECORD), JSON.stringify(record, null, 2) + '\n');
    await syncDir(dataDir);
    await rm(join(dataDir, RESTORE_MARKER));
    await syncDir(dataDir);
    return record;
  } catch (err) {
    await clearRestore(dataDir, created);
    throw err;
  }
}

/** Streams, checks and commits the log; then reopens the store to check what landed. */
async function rebuild(options: RestoreOptions, cp: VerifiedSourceCheckpoint, say: (l: string) => void): Promise<void> {
  const batchEntries = options.batchEntries ?? 16384;
  const batchBytes = options.batchBytes ?? 8 * 1024 * 1024;
  const storeDir = join(options.dataDir, 'db');
  const store = new RestoreStore(storeDir);
  await store.open();
  try {
    await store.writeMeta({ origin: cp.origin, verifierKey: options.verifierKey });
    const builder = new TileBuilder();
    let entries: Uint8Array[] = [];
    let hashes: Uint8Array[] = [];
    let bytes = 0;
    // Tiles a batch changed, by level/index: a later append in the same batch replaces one.
    let tiles = new Map<string, { level: number; index: number; data: Uint8Array }>();
    let committed = 0;
    const commit = async (final: boolean): Promise<void> => {
      const batch = { oldSize: committed, entries, leafHashes: hashes, tiles: [...tiles.values()] };
      const root = builder.root();
      if (final) {
        if (builder.size !== cp.size || !equalBytes(root, cp.rootHash)) {
          const why = `the entries of ${options.from} do not hash to its checkpoint's root (size ${cp.size})`;
          throw new LogError('PROOF_FAILED', why);
        }
        // The commit point of the restore: the source's own signed checkpoint, as served.
        const checkpoint = { size: cp.size, rootHash: cp.rootHash, note: cp.note, timestamp: (options.now ?? Date.now)() };
        await store.commit({ ...batch, checkpoint });
      } else {
        await store.commitIntermediate(batch, root);
      }
      committed = builder.size;
      entries = [];
      hashes = [];
      bytes = 0;
      tiles = new Map();
    };
    for await (const bundle of verifiedBundles(options.source, cp)) {
      const leaves = bundle.entries.map((e) => leafHash(e));
      for (const t of builder.append(leaves)) tiles.set(`${t.level}/${t.index}`, t);
      entries.push(...bundle.entries);
      hashes.push(...leaves);
      for (const e of bundle.entries) bytes += e.length;
      if (builder.size < cp.size && (entries.length >= batchEntries || bytes >= batchBytes)) {
        await commit(false);
        if (committed % (batchEntries * 16) < batchEntries) say(`  ${committed} of ${cp.size} entries`);
      }
    }
    await commit(true);
  } finally {
    await store.close();
  }
  // What a server will read at start: the latest checkpoint must be the source's note.
  const check = new LevelStore(storeDir);
  await check.open();
  try {
    const latest = await check.latestCheckpoint();
    if (latest?.note !== cp.note || latest.size !== cp.size) {
      throw new LogError('CORRUPT', `the restored store does not hold the checkpoint of size ${cp.size}`);
    }
  } finally {
    await check.close();
  }
  say(`restored ${cp.size} entries`);
}

/**
 * Checks, without changing anything, that `dir` may be restored into (see prepareDir), so
 * that a restore can refuse before it reads a large source.
 * @throws LogError CONFLICT when it holds anything but an unfinished restore.
 */
export async function assertRestorable(dir: string): Promise<void> {
  if (!existsSync(dir)) return;
  const names = await readdir(dir);
  if (names.length === 0 || (names.includes(RESTORE_MARKER) && names.every((n) => RESTORE_NAMES.includes(n)))) return;
  throw notEmpty(dir, names);
}

function notEmpty(dir: string, names: string[]): LogError {
  const found = names.slice(0, 5).join(', ');
  return new LogError('CONFLICT', `${dir} is not empty: restore builds a new data directory (found ${found})`);
}

/**
 * Makes sure `dir` may be restored into: missing (created, mode 0700), empty, or holding
 * only what a crashed restore left (cleared). Returns whether it created the directory.
 */
async function prepareDir(dir: string, say: (l: string) => void): Promise<boolean> {
  if (!existsSync(dir)) {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    return true;
  }
  const names = await readdir(dir);
  if (names.length === 0) return false;
  if (names.includes(RESTORE_MARKER) && names.every((n) => RESTORE_NAMES.includes(n))) {
    say(`${dir} holds an unfinished restore: starting it over`);
    await clearRestore(dir, false);
    return false;
  }
  throw notEmpty(dir, names);
}

/** Removes what a restore writes in `dir` (and `dir` itself when the restore created it). */
async function clearRestore(dir: string, created: boolean): Promise<void> {
  if (created) {
    await rm(dir, { recursive: true, force: true });
    return;
  }
  // The marker goes last, so an interrupted clean-up is still recognised as a restore's.
  for (const name of RESTORE_NAMES.filter((n) => n !== RESTORE_MARKER)) {
    await rm(join(dir, name), { recursive: true, force: true });
  }
  await rm(join(dir, RESTORE_MARKER), { force: true });
  await syncDir(dir);
}

