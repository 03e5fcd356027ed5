/**
 * A bounded batching queue with one consumer. `add()` returns a promise per item that
 * settles when the batch holding it has been flushed; a batch is flushed when it reaches
 * `maxBatch` items, or `maxAgeMs` after its first item arrived, or at once when the
 * previous flush finishes and items are waiting (group commit: while one batch is being
 * made durable, the next one fills up). One flush runs at a time, so the flush function is
 * the log's single writer, with one refinement: a flush may call its `handoff` once it has
 * prepared its batch and only waits for durability; the next flush may then start, so that
 * its preparation overlaps that wait (the flush function orders the writes themselves). At
 * most two flushes are ever under way.
 *
 * The queue is bounded in items and in bytes: past either bound `add()` throws PUSHBACK
 * and the caller tells its client to retry later (HTTP 503 with Retry-After). It never
 * grows without limit.
 */
import { LogError, invariant } from '../util/errors.js';

/** Flushes under way at most: one waiting for durability, one preparing. */
const MAX_FLUSHES = 2;

export interface SequencerOptions<T, R> {
  /** Largest batch handed to `flush`. */
  maxBatch: number;
  /** How long the first item of a batch may wait for company, in milliseconds. */
  maxAgeMs: number;
  /** Most items waiting (not yet being flushed) before add() pushes back. */
  maxPending: number;
  /** Most bytes waiting before add() pushes back. */
  maxPendingBytes: number;
  /**
   * Makes a batch durable. Must return one result per item, in order, or throw: a throw
   * rejects every item of the batch with that error. May call `handoff` (once) when the
   * next batch may start.
   */
  flush: (items: T[], handoff: () => void) => Promise<R[]>;
}

interface Waiter<T, R> {
  item: T;
  bytes: number;
  resolve: (r: R) => void;
  reject: (e: unknown) => void;
}

export class Sequencer<T, R> {
  private readonly opts: SequencerOptions<T, R>;
  private pending: Waiter<T, R>[] = [];
  private pendingBytes = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private immediate: ReturnType<typeof setImmediate> | undefined;
  /** Flushes under way. */
  private readonly running = new Set<Promise<void>>();
  /** A flush has started and not handed off yet. */
  private preparing = false;
  private closed = false;

  constructor(opts: SequencerOptions<T, R>) {
    invariant(opts.maxBatch >= 1, 'maxBatch must be at least 1');
    invariant(opts.maxAgeMs >= 0, 'maxAgeMs must be non-negative');
    this.opts = opts;
  }

  /** Items waiting for a flush (not counting the batch being flushed). */
  get depth(): number {
    return this.pending.length;
  }

  /**
   * Queues an item; resolves with its result once its batch is flushed.
   * @throws LogError PUSHBACK when the queue is full, CLOSED after close().
   */
  add(item: T, bytes: number): Promise<R> {
    if (this.closed) throw new LogError('CLOSED', 'the log is shutting down');
    if (
      this.pending.length >= this.opts.maxPending ||
      this.pendingBytes + bytes > this.opts.maxPendingBytes
    ) {
      throw new LogError('PUSHBACK', 'the log is busy: too many entries are waiting; retry shortly');
    }
    return new Promise<R>((resolve, reject) => {
      this.pending.push({ item, bytes, resolve, reject });
      this.pendingBytes += bytes;
      this.schedule();
    });
  }

  /**
   * Queues several items at once: either all are admitted or none is.
   * @throws LogError PUSHBACK when they do not all fit, CLOSED after close().
   */
  addMany(items: readonly T[], bytes: readonly number[]): Promise<R>[] {
    if (this.closed) throw new LogError('CLOSED', 'the log is shutting down');
    const total = bytes.reduce((a, b) => a + b, 0);
    if (
      this.pending.length + items.length > this.opts.maxPending ||
      this.pendingBytes + total > this.opts.maxPendingBytes
    ) {
      throw new LogError('PUSHBACK', 'the log is busy: too many entries are waiting; retry shortly');
    }
    return items.map((item, i) => this.add(item, bytes[i]!));
  }

  /** Flushes everything waiting now and resolves when all of it has been flushed. */
  async drain(): Promise<void> {
    while (this.running.size > 0 || this.pending.length > 0) {
      if (this.canStart() && this.pending.length > 0) this.startFlush();
      if (this.running.size > 0) await Promise.race(this.running);
    }
  }

  /** Refuses new items, flushes what is waiting, then resolves. */
  async close(): Promise<void> {
    this.closed = true;
    await this.drain();
  }

  /** A new flush may start: none is preparing, and fewer than MAX_FLUSHES are under way. */
  private canStart(): boolean {
    return !this.preparing && this.running.size < MAX_FLUSHES;
  }

  private schedule(): void {
    if (!this.canStart()) return; // the running flush picks the items up
    if (this.pending.length >= this.opts.maxBatch) {
      this.startFlush();
    } else if (this.opts.maxAgeMs === 0) {
      // No age: flush once the event loop has taken in everything already received (a
      // timer of 0 would wait a millisecond or more).
      this.immediate ??= setImmediate(() => {
        this.immediate = undefined;
        if (this.canStart() && this.pending.length > 0) this.startFlush();
      });
    } else if (this.timer === undefined) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        if (this.canStart() && this.pending.length > 0) this.startFlush();
      }, this.opts.maxAgeMs);
    }
  }

  private startFlush(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.immediate !== undefined) {
      clearImmediate(this.immediate);
      this.immediate = undefined;
    }
    const batch = this.pending.splice(0, this.opts.maxBatch);
    for (const w of batch) this.pendingBytes -= w.bytes;
    this.preparing = true;
    const run: Promise<void> = this.runFlush(batch).finally(() => this.running.delete(run));
    this.running.add(run);
  }

  private async runFlush(batch: Waiter<T, R>[]): Promise<void> {
    let handedOff = false;
    const handoff = (): void => {
      if (handedOff) return;
      handedOff = true;
      this.preparing = false;
      // The next batch may be prepared now: flush it by the usual rules (at once if full).
      queueMicrotask(() => {
        if (this.pending.length > 0) this.schedule();
      });
    };
    let results: R[] | undefined;
    let error: unknown;
    try {
      results = await this.opts.flush(
        batch.map((w) => w.item),
        handoff
      );
      invariant(results.length === batch.length, 'flush returned the wrong number of results');
    } catch (err) {
      results = undefined;
      error = err;
    }
    if (!handedOff) {
      handedOff = true;
      this.preparing = false;
    }
    // Group commit: whatever arrived during the flush goes out at once, and it starts
    // before this batch's submitters are answered, so that the next batch's integration
    // and fsync overlap the work of answering (receipts, responses) instead of waiting
    // behind it. This flush is still in `running` until it returns: it does not count.
    if (this.pending.length > 0 && !this.preparing && this.running.size - 1 < MAX_FLUSHES) {
      this.startFlush();
    }
    if (results === undefined) {
      for (const w of batch) w.reject(error);
      return;
    }
    for (let i = 0; i < batch.length; i++) batch[i]!.resolve(results[i]!);
  }
}
