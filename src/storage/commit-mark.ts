/**
 * The commit mark: a small file beside LevelDB's own (`<store>/candor-committed`) that
 * records the size and root hash of the latest commit, so that commits lost from the very
 * end of the write-ahead log are noticed at open instead of silently forgotten.
 *
 * Why a file of its own. When LevelDB skips a corrupt block at the end of its write-ahead
 * log, the store is left exactly as it was some commits earlier: consistent, contiguous,
 * and short of entries that were acknowledged. Nothing inside the store can tell; only a
 * record kept outside that write-ahead log can. One 96-byte write in place per commit (not
 * per entry), after the commit is durable and off the append path (not awaited, coalesced:
 * a burst of commits writes the latest once). It is not fsynced: after a power loss it may
 * lag the store, which only makes the check weaker for the commits just before; it is never
 * ahead of what was committed, so a mark ahead of the store means lost commits.
 *
 * Format: ASCII `<size> <root hash hex>`, space-padded to 95 bytes, then a newline. A mark
 * that does not parse (a torn write) is treated as absent.
 */
import { open, readFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { fromHex, toHex } from '../util/bytes.js';

/** The mark's file name inside the LevelDB directory (LevelDB ignores names it does not own). */
export const COMMIT_MARK_FILE = 'candor-committed';

const MARK_BYTES = 96;

/** What a mark says: the latest committed size and its root hash. */
export interface Mark {
  readonly size: number;
  readonly rootHash: Uint8Array;
}

/** Reads the mark of the store in `dir`, or undefined when there is none (or it is torn). */
export async function readCommitMark(dir: string): Promise<Mark | undefined> {
  let text: string;
  try {
    text = await readFile(join(dir, COMMIT_MARK_FILE), 'latin1');
  } catch (err) {
    if ((err as { code?: string }).code === 'ENOENT') return undefined;
    throw err;
  }
  const m = /^(0|[1-9][0-9]{0,15}) ([0-9a-f]{64}) *\n$/.exec(text);
  if (m === null || text.length !== MARK_BYTES) return undefined;
  const size = Number(m[1]);
  if (!Number.isSafeInteger(size)) return undefined;
  return { size, rootHash: fromHex(m[2]!) };
}

/** Keeps the mark of one open store up to date (see the module comment). */
export class CommitMark {
  private handle: FileHandle | undefined;
  private latest: Mark | undefined;
  private writing: Promise<void> | undefined;

  private constructor(handle: FileHandle) {
    this.handle = handle;
  }

  /** Opens (creating) the mark file of the store in `dir`. */
  static async open(dir: string): Promise<CommitMark> {
    const path = join(dir, COMMIT_MARK_FILE);
    await (await open(path, 'a')).close(); // creates it, keeps what it holds
    return new CommitMark(await open(path, 'r+'));
  }

  /** Records a durable commit, written in the background; a failure only leaves it behind. */
  set(size: number, rootHash: Uint8Array): void {
    this.latest = { size, rootHash };
    this.writing ??= this.drain();
  }

  /** Writes what is pending, then closes the file. */
  async close(): Promise<void> {
    await this.writing;
    const handle = this.handle;
    this.handle = undefined;
    await handle?.close();
  }

  private async drain(): Promise<void> {
    try {
      while (this.latest !== undefined && this.handle !== undefined) {
        const { size, rootHash } = this.latest;
        this.latest = undefined;
        const text = `${size} ${toHex(rootHash)}`.padEnd(MARK_BYTES - 1, ' ') + '\n';
        // One write of the whole mark in place, at offset 0: the file is always one mark.
        await this.handle.write(text, 0, 'latin1');
      }
    } catch {
      // A mark that lags is a weaker check, never a wrong one (see the module comment).
    } finally {
      this.writing = undefined;
    }
  }
}
