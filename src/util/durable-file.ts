/**
 * Durable files on Node: the one way candor replaces a small file (a tokens file, an
 * allowlist, the monitor's state) or writes a file that must exist after a power cut (a
 * backup). A file counts once it is fsynced; a name created, removed or renamed counts once
 * its directory is fsynced.
 */
import { open, rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { LogError } from './errors.js';

/** Fsyncs a directory, so that names created or removed in it are durable. */
export async function syncDir(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Creates `path` (failing if it exists) with `mode`, writes `data` and fsyncs it. */
export async function writeFileSynced(path: string, data: Uint8Array | string, mode = 0o644): Promise<void> {
  const fh = await open(path, 'wx', mode);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Renames `from` to `to` and fsyncs the directory holding `to`. */
export async function renameSynced(from: string, to: string): Promise<void> {
  await rename(from, to);
  await syncDir(dirname(to));
}

/**
 * Replaces `path` with `data` atomically and durably: a temporary file beside it (mode
 * `mode`), fsync, rename over `path` (the commit point: before it a reader sees the old
 * file whole, after it the new one), fsync of the directory. A crash leaves at most the
 * temporary file behind, never a torn `path`. Callers serialise concurrent writers.
 */
export async function writeFileAtomic(path: string, data: Uint8Array | string, mode: number): Promise<void> {
  const temp = `${path}.tmp-${process.pid}`;
  const fh = await open(temp, 'w', mode);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await renameSynced(temp, path);
}

/**
 * Runs `fn` holding the lock file `path.lock` (created exclusively, removed afterwards),
 * so that two commands editing the same file never interleave. `who` names the command in
 * the refusal.
 * @throws LogError CONFLICT when the lock exists: another `who` is running, or one crashed
 *   and left it (the message says to remove it then); what `fn` throws.
 */
export async function withFileLock<T>(path: string, who: string, fn: () => Promise<T>): Promise<T> {
  const lock = `${path}.lock`;
  let handle;
  try {
    handle = await open(lock, 'wx', 0o600);
  } catch (err) {
    if ((err as { code?: string }).code !== 'EEXIST') throw err;
    throw new LogError('CONFLICT', `${lock} exists: another ${who} is running, or one crashed (then remove it)`);
  }
  try {
    return await fn();
  } finally {
    await handle.close();
    await unlink(lock);
  }
}
