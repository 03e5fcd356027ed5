/**
 * A one-line progress bar for catching up on a backlog, drawn on a terminal only: on
 * anything else (a pipe, a file, a service's journal) it writes nothing.
 *
 *   candor monitor: [##########--------------] 42% 43008/102400 entries, 8120/s
 */
import type { ProgressSink } from './options.js';

/** The part of a stream the bar needs (process.stderr fits). */
export interface TtyLike {
  isTTY?: boolean;
  columns?: number;
  write(text: string): unknown;
}

/** Options for ProgressBar. */
export interface ProgressBarOptions {
  /** Smallest backlog (entries) worth a bar; default 1024. */
  minTotal?: number;
  /** Milliseconds; default Date.now. */
  now?: () => number;
}

/** Draws catch-up progress on `stream` when it is a TTY (see the module comment). */
export class ProgressBar implements ProgressSink {
  private shown = false;
  private drawn = 0;
  private started: number | undefined;

  constructor(
    private readonly stream: TtyLike,
    private readonly options: ProgressBarOptions = {}
  ) {}

  /** Redraws the bar, at most ten times a second (and always at 100%). */
  update(done: number, total: number): void {
    if (this.stream.isTTY !== true || total < (this.options.minTotal ?? 1024)) return;
    const now = (this.options.now ?? Date.now)();
    this.started ??= now;
    if (this.shown && done < total && now - this.drawn < 100) return;
    this.drawn = now;
    this.shown = true;
    const width = Math.max(10, Math.min(40, (this.stream.columns ?? 80) - 60));
    const filled = Math.floor((width * done) / total);
    const seconds = (now - this.started) / 1000;
    const rate = seconds > 0 ? `, ${Math.round(done / seconds)}/s` : '';
    const bar = `${'#'.repeat(filled)}${'-'.repeat(width - filled)}`;
    const pct = Math.floor((100 * done) / total);
    this.stream.write(`\r\x1b[2Kcandor monitor: [${bar}] ${pct}% ${done}/${total} entries${rate}`);
  }

  /** Erases the bar, e.g. before another line goes to the same stream. */
  clear(): void {
    if (!this.shown) return;
    this.stream.write('\r\x1b[2K');
    this.shown = false;
  }

  /** The catch-up ended: erases the bar. */
  end(): void {
    this.clear();
    this.started = undefined;
  }
}
