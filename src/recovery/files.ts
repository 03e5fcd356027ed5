/**
 * Small durable-file helpers for backups and restores: every file is written with an
 * exclusive create, fsynced before it counts, and directories are fsynced after the names
 * in them change, so that what a finished backup or restore says exists does exist after a
 * power cut.
 */
import { mkdir, open, rename } from 'node:fs/promises';
import { dirname } from 'node:path';

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

/** Fsyncs a directory, so that names created or removed in it are durable. */
export async function syncDir(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
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

/** Creates directories as needed, remembering those made so each is made once. */
export class DirMaker {
  private readonly made = new Set<string>();

  constructor(private readonly mode = 0o755) {}

  /** Makes the directory holding `file` (and its parents). */
  async forFile(file: string): Promise<void> {
    const dir = dirname(file);
    if (this.made.has(dir)) return;
    await mkdir(dir, { recursive: true, mode: this.mode });
    this.made.add(dir);
  }

  /** Every directory made, deepest first (for fsyncing them). */
  list(): string[] {
    return [...this.made].sort((a, b) => b.length - a.length);
  }
}
