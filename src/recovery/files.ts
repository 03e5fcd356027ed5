/**
 * Small durable-file helpers for backups and restores: every file is written with an
 * exclusive create, fsynced before it counts, and directories are fsynced after the names
 * in them change, so that what a finished backup or restore says exists does exist after a
 * power cut.
 */
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';

export { renameSynced, syncDir, writeFileSynced } from '../util/durable-file.js';

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
