/**
 * Healing after a failed write (a full disk, an I/O error), in process and without a
 * restart.
 *
 * When a commit's write fails, the store cannot tell whether the batch landed, so it
 * refuses every later commit (LogError STORAGE) while it keeps serving reads. The Log
 * then refuses submissions up front with the same error (HTTP 503 with Retry-After), and
 * this loop works in the background, with backoff (RETRY_BASE_MS doubling to
 * RETRY_MAX_MS):
 * 1. it waits until a reopen can succeed (reopenBlocker: enough free space for LevelDB to
 *    replay its write-ahead log), keeping the store open for reads meanwhile;
 * 2. it reopens the store (reopen): LevelDB replays its log, and the store's latest
 *    checkpoint says whether the failed batch landed;
 * 3. it re-syncs the integrator's right edge with what is durable (Integrator.resync,
 *    which checks that the stored tree extends every checkpoint already published).
 * Then writes are taken again. A batch that failed was answered with STORAGE: if it landed
 * after all, resubmitting it answers its indices (`duplicate: true`); if not, it is
 * logged then. A reopen that finds corruption stops the loop: that needs an operator.
 */
import { LogError, isLogError } from '../util/errors.js';

/** What recovery needs from a store (LevelStore has it; MemoryStore cannot fail a write). */
export interface RecoverableStore {
  /** Why the store refuses commits, or undefined when it takes them. */
  readonly failure: LogError | undefined;
  /** Why a reopen cannot succeed yet (too little free space), or undefined. */
  reopenBlocker(): Promise<string | undefined>;
  /** Closes and reopens the store. @throws LogError STORAGE, CORRUPT or CLOSED. */
  reopen(): Promise<void>;
}

/** True when `store` can heal itself after a failed write (a RecoverableStore). */
export function isRecoverable(store: object): store is RecoverableStore {
  const s = store as Partial<RecoverableStore>;
  return 'failure' in s && typeof s.reopen === 'function' && typeof s.reopenBlocker === 'function';
}

/** First wait before an attempt to reopen, in ms; it doubles after each failed attempt. */
export const RETRY_BASE_MS = 200;
/** Longest wait between attempts, in ms. */
export const RETRY_MAX_MS = 5000;

export interface StoreRecoveryOptions {
  store: RecoverableStore;
  /** Brings the in-memory state in line with the reopened store (Integrator.resync). */
  resync: () => Promise<unknown>;
  /** Called with what happens (failure, each reason to wait, recovery); default: none. */
  warn?: ((line: string) => void) | undefined;
  baseMs?: number;
  maxMs?: number;
}

/** The background loop that reopens a failed store (see the module comment). */
export class StoreRecovery {
  private readonly opts: StoreRecoveryOptions;
  private running: Promise<void> | undefined;
  private stopped = false;
  private wake: (() => void) | undefined;
  /** Set when a reopen found corruption: the loop has stopped, and this is the answer. */
  private fatal: LogError | undefined;
  /** Why the latest attempt did not heal the store. */
  private lastReason: string | undefined;
  private attemptCount = 0;

  constructor(opts: StoreRecoveryOptions) {
    this.opts = opts;
  }

  /**
   * Why writes are refused now, or undefined when they are taken: LogError STORAGE while
   * the store is failed or recovering, CORRUPT when recovery found corruption. Also
   * refused between the store's reopen and the integrator's re-sync.
   */
  get failure(): LogError | undefined {
    if (this.fatal !== undefined) return this.fatal;
    const failure = this.opts.store.failure;
    if (failure !== undefined) return failure;
    if (this.running !== undefined) {
      return new LogError('STORAGE', 'the log is recovering from a failed write; retry shortly');
    }
    return undefined;
  }

  /** For /healthz: why the log is unhealthy, with the latest reason to wait; undefined when healthy. */
  get reason(): string | undefined {
    const failure = this.failure;
    if (failure === undefined) return undefined;
    const last = this.lastReason;
    const waiting = last === undefined ? '' : ` (reopen attempt ${this.attemptCount}: ${last})`;
    return `${failure.code}: ${failure.message}${waiting}`;
  }

  /** Reopen attempts made so far. */
  get attempts(): number {
    return this.attemptCount;
  }

  /** Starts the loop when the store has failed and it is not running yet. Cheap. */
  notice(): void {
    if (this.stopped || this.running !== undefined || this.fatal !== undefined) return;
    const failure = this.opts.store.failure;
    if (failure === undefined || !isLogError(failure, 'STORAGE')) return;
    this.opts.warn?.(`${failure.message}; reopening the store when it can succeed`);
    this.running = this.loop().finally(() => (this.running = undefined));
  }

  /** Stops the loop; resolves when an attempt under way has ended. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.running;
  }

  private async loop(): Promise<void> {
    const base = this.opts.baseMs ?? RETRY_BASE_MS;
    const max = this.opts.maxMs ?? RETRY_MAX_MS;
    let delay = base;
    this.lastReason = undefined;
    for (;;) {
      await this.sleep(delay);
      if (this.stopped) return;
      delay = Math.min(max, delay * 2);
      this.attemptCount++;
      const blocker = await this.opts.store.reopenBlocker();
      if (this.stopped) return;
      if (blocker !== undefined) {
        this.note(blocker);
        continue;
      }
      try {
        await this.opts.store.reopen();
        // The store takes commits again; the integrator must first stand on what it holds.
        await this.opts.resync();
      } catch (err) {
        if (isLogError(err, 'CORRUPT')) {
          this.fatal = err;
          this.opts.warn?.(`ALERT: recovery stopped: ${err.message}`);
          return;
        }
        if (isLogError(err, 'CLOSED')) return; // closed by its owner meanwhile
        this.note(err instanceof Error ? err.message : String(err));
        continue;
      }
      this.lastReason = undefined;
      this.opts.warn?.('the store reopened after a failed write; writes are taken again');
      return;
    }
  }

  /** Remembers why an attempt did not heal the store; warns when the reason changes. */
  private note(reason: string): void {
    if (reason !== this.lastReason) this.opts.warn?.(`store not reopened yet: ${reason}`);
    this.lastReason = reason;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }
}
