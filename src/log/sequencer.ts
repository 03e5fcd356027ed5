/**
 * A bounded batching queue with one consumer. `add()` returns a promise per item that
 * settles when the batch holding it has been flushed; a batch is flushed when it reaches
 * `maxBatch` items, or `maxAgeMs` after its first item arrived, or at once when the
 * previous flush finishes and items are waiting (group commit: while one batch is being
 * made durable, the next one fills up). At most one flush runs at a time, so the flush
 * function is the log's single writer.
 *
 * The queue is bounded in items and in bytes: past either bound `add()` throws PUSHBACK
 * and the caller tells its client to retry later (HTTP 503 with Retry-After). It never
 * grows without limit.
 */
import { LogError, invariant } from '../util/errors.js';

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
   * rejects every item of the batch with that error.
   */
  flush: (items: T[]) => Promise<R[]>;
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
  private flushing: Promise<void> | undefined;
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
    while (this.flushing !== undefined || this.pending.length > 0) {
      if (this.flushing === undefined) this.startFlush();
      await this.flushing;
    }
  }

  /** Refuses new items, flushes what is waiting, then resolves. */
  async close(): Promise<void> {
    this.closed = true;
    await this.drain();
  }

  private schedule(): void {
    if (this.flushing !== undefined) return; // the running flush picks the items up
    if (this.pending.length >= this.opts.maxBatch) {
      this.startFlush();
    } else if (this.timer === undefined) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        if (this.flushing === undefined && this.pending.length > 0) this.startFlush();
      }, this.opts.maxAgeMs);
    }
  }

  private startFlush(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const batch = this.pending.splice(0, this.opts.maxBatch);
    for (const w of batch) this.pendingBytes -= w.bytes;
    this.flushing = this.runFlush(batch).finally(() => {
      this.flushing = undefined;
      // Group commit: whatever arrived during the flush goes out at once.
      if (this.pending.length > 0) this.startFlush();
    });
  }

  private async runFlush(batch: Waiter<T, R>[]): Promise<void> {
    let results: R[];
    try {
      results = await this.opts.flush(batch.map((w) => w.item));
      invariant(results.length === batch.length, 'flush returned the wrong number of results');
    } catch (err) {
      for (const w of batch) w.reject(err);
      return;
    }
    for (let i = 0; i < batch.length; i++) batch[i]!.resolve(results[i]!);
  }
}
