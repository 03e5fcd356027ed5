/**
 * A configuration file held in memory and reloaded without a restart: the mechanism behind
 * the submitter allowlist (src/governance/submitters.ts) and the API tokens file
 * (src/server/tokens.ts).
 *
 * - `reload()` reads the file again (call it on SIGHUP); concurrent calls share one read.
 * - `watch()` polls the file's status (fs.watchFile), so editors and tools that replace
 *   the file by rename (as `candor token` does) are seen, and reloads on any change.
 * - A file that fails to read or parse never replaces a good value: the previous one stays
 *   in force and the caller hears of the error.
 * - Identical bytes are not parsed again and report `changed: false`.
 */
import { readFile } from 'node:fs/promises';
import { unwatchFile, watchFile, type Stats } from 'node:fs';

/** What a (re)load did. */
export interface ReloadResult {
  /** False when the file's content was identical to the loaded one. */
  changed: boolean;
  /** How many items the value in force holds (submitter keys, tokens). */
  count: number;
}

/** Options of ReloadableFile.watch. */
export interface WatchOptions {
  /** Polling interval in milliseconds (default 1000). */
  intervalMs?: number;
  /** Called after each reload the watch triggers. */
  onReload?: (result: ReloadResult) => void;
  /** Called when a triggered reload fails; the previous value stays in force. */
  onError?: (err: unknown) => void;
}

/**
 * The parsed content of a file, reloadable at run time (see the module comment).
 * @example
 * const file = await ReloadableFile.load('tokens.json', parseTokens, (t) => t.tokens.length);
 * process.on('SIGHUP', () => file.reload().catch((e) => console.error(e.message)));
 * file.current; // the value in force
 */
export class ReloadableFile<T> {
  private value: T;
  private bytes: Buffer;
  private pending: Promise<ReloadResult> | undefined;
  private watching: ((curr: Stats, prev: Stats) => void) | undefined;

  protected constructor(
    readonly path: string,
    private readonly parse: (bytes: Uint8Array) => T,
    private readonly count: (value: T) => number,
    value: T,
    bytes: Buffer
  ) {
    this.value = value;
    this.bytes = bytes;
  }

  /**
   * Reads and parses the file.
   * @throws whatever `parse` throws for a bad file; the file system's errors.
   */
  static async load<T>(
    path: string,
    parse: (bytes: Uint8Array) => T,
    count: (value: T) => number
  ): Promise<ReloadableFile<T>> {
    const bytes = await readFile(path);
    return new ReloadableFile(path, parse, count, parse(bytes), bytes);
  }

  /** The value in force. Take it once per request, so one request sees one value. */
  get current(): T {
    return this.value;
  }

  /**
   * Reads the file again and, when it parses, puts it in force. Concurrent calls share
   * one read. On error the previous value stays in force.
   * @throws whatever `parse` throws for a bad file; the file system's errors.
   */
  reload(): Promise<ReloadResult> {
    this.pending ??= (async () => {
      try {
        const bytes = await readFile(this.path);
        if (bytes.equals(this.bytes)) return { changed: false, count: this.count(this.value) };
        const value = this.parse(bytes);
        this.value = value;
        this.bytes = bytes;
        return { changed: true, count: this.count(value) };
      } finally {
        this.pending = undefined;
      }
    })();
    return this.pending;
  }

  /** Reloads whenever the file's status changes (polling, see WatchOptions). Idempotent. */
  watch(options: WatchOptions = {}): void {
    if (this.watching !== undefined) return;
    this.watching = (curr, prev) => {
      if (curr.mtimeMs === prev.mtimeMs && curr.size === prev.size && curr.ino === prev.ino) return;
      this.reload().then(
        (r) => options.onReload?.(r),
        (err: unknown) => options.onError?.(err)
      );
    };
    watchFile(this.path, { interval: options.intervalMs ?? 1000, persistent: false }, this.watching);
  }

  /** Stops watching. */
  close(): void {
    if (this.watching !== undefined) unwatchFile(this.path, this.watching);
    this.watching = undefined;
  }
}
