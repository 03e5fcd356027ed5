/**
 * What a LevelDB directory needs free to open, and how to make that little.
 *
 * LevelDB keeps recent writes in an in-memory table (the memtable, up to the write buffer
 * size) and in its write-ahead log (`NNNNNN.log`), which holds the same writes. Closing
 * does not write the memtable out. Opening replays the write-ahead log into a memtable and
 * writes it as a new level-0 table before the old log is deleted, so an open needs about
 * the size of the write-ahead logs free (up to the write buffer size per database, plus a
 * manifest of a few hundred bytes): this is why a restart on a nearly full disk failed
 * with 6 MB free. Flushing the memtable before a clean close (flushMemtable) leaves an
 * empty log, and the next open needs only kilobytes.
 */
import { readdir, stat, statfs } from 'node:fs/promises';
import { join } from 'node:path';

/** Bytes an open needs beyond the write-ahead logs: manifest, new log, LOG file, slack. */
export const OPEN_MARGIN_BYTES = 1024 * 1024;

/** Bytes of the write-ahead logs (`*.log`) in a LevelDB directory; 0 when it is missing. */
export async function walBytes(dir: string): Promise<number> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return 0;
  }
  let total = 0;
  for (const name of names) {
    if (!/^\d+\.log$/.test(name)) continue;
    try {
      total += (await stat(join(dir, name))).size;
    } catch {
      // Deleted meanwhile (LevelDB rotated its log): it needs no space any more.
    }
  }
  return total;
}

/** Bytes free to an unprivileged writer on the filesystem holding `path`. */
export async function freeBytes(path: string): Promise<number> {
  const s = await statfs(path);
  return s.bavail * s.bsize;
}

/**
 * About what opening these LevelDB directories needs free: their write-ahead logs, which
 * the open rewrites as tables, and OPEN_MARGIN_BYTES.
 */
export async function bytesToOpen(dirs: readonly string[]): Promise<number> {
  let total = OPEN_MARGIN_BYTES;
  for (const dir of dirs) total += await walBytes(dir);
  return total;
}

/**
 * The least a LevelDB database can be asked to compact: one key past every key candor
 * stores (sublevel keys start with `!`, leaf hashes are 32 bytes; this is 40 bytes of 0xff).
 */
const PAST_EVERY_KEY = new Uint8Array(40).fill(0xff);

/**
 * Writes the memtable out as a table and starts an empty write-ahead log, so the next open
 * replays nothing (and needs only kilobytes free). Costs one write of the memtable (at most
 * the write buffer size); compacts nothing else. LevelDB's CompactRange always flushes the
 * memtable first, then compacts the files overlapping the range, and none overlaps a range
 * past every key. Best effort: a failure (a full disk) leaves the log as it was, which the
 * next open replays. Returns whether it flushed.
 */
export async function flushMemtable(db: object): Promise<boolean> {
  // `level` types the browser-compatible API; on Node the database is a ClassicLevel, which
  // has compactRange.
  const compactible = db as { compactRange?: (start: Uint8Array, end: Uint8Array) => Promise<void> };
  if (typeof compactible.compactRange !== 'function') return false;
  try {
    await compactible.compactRange(PAST_EVERY_KEY, PAST_EVERY_KEY);
    return true;
  } catch {
    return false;
  }
}
