/**
 * Witnessing: what the log does with its witnesses (c2sp.org/tlog-witness v1.0.0, specs
 * §6.1 "What the log (client) does"). After new checkpoints, the latest log-signed
 * checkpoint goes to every witness in parallel with `POST <url>/add-checkpoint` (wire format
 * in witness-protocol.ts); valid cosignatures (specs §4.1) are kept per checkpoint, and the
 * newest checkpoint with at least `quorum` of them is published with their lines after the
 * log's own (Go `note.Sign` order, specs §2.5).
 *
 * Per witness it remembers the size the witness holds (0 at first). On a 409 carrying the
 * witness's size it proves again from that size and retries once in the same round. A
 * witness holding a size this log cannot prove from (larger than the log, or a different
 * tree at the same size) is reported loudly: the log was rolled back or forked.
 *
 * Scheduling. Rounds start at most once per `minIntervalMs` (500 ms: about twice a second)
 * and always take the latest checkpoint, so bursts coalesce. Each witness has at most one
 * request in flight and every request has a timeout, so a dead witness only delays itself:
 * a round skips witnesses still busy, and they get the latest checkpoint in a later round.
 * A failing witness is retried with backoff (1 s doubling to 30 s). A cosignature is counted
 * only under the clients' clock rule (not too far in the future). Cosignatures are kept in
 * memory only: after a restart the log serves log-signed checkpoints until the first quorum.
 */
import {
  cosignatureTimeProblem,
  cosignatureTimestamp,
  cosignatureV1Verifier,
  DEFAULT_MAX_FUTURE_SKEW_SECONDS,
} from '../checkpoint/cosignature.js';
import type { Verifier } from '../note/keys.js';
import type { StoredCheckpoint } from '../storage/store.js';
import { LogError } from '../util/errors.js';
import {
  checkWitnessSet,
  checkWitnessSize,
  formatAddCheckpointBody,
  openCosignature,
  postAddCheckpoint,
  refusalFor,
  sizeFromConflict,
  systemClock,
  WitnessRefusal,
  type Clock,
  type FetchFn,
  type WitnessConfig,
} from './witness-protocol.js';

/**
 * What witnessing needs from the log (the Log satisfies it). `checkpoint` is the latest
 * durably committed checkpoint, its note carrying only the log's signature line(s);
 * `consistencyProof(from, to)` serves 1 ≤ from ≤ to ≤ checkpoint.size and may run
 * concurrently with integration. A rejection means a storage failure.
 */
export interface WitnessedLog {
  readonly checkpoint: StoredCheckpoint;
  consistencyProof(from: number, to: number): Promise<Uint8Array[]>;
}

/** A checkpoint carrying at least `quorum` valid cosignatures. */
export interface WitnessedCheckpoint {
  size: number;
  rootHash: Uint8Array;
  /** The log-signed note followed by the cosignature lines. */
  note: string;
  /** The cosignature lines (`— name base64\n`), in configured witness order. */
  cosignatures: string[];
}

/** One witness's state, as shown in /v1/info. */
export interface WitnessStatus {
  name: string;
  verifierKey: string;
  url: string;
  /** The size the witness is known to hold (0 until known). */
  size: number;
  /** When (this log's clock, ISO 8601) it last gave a valid cosignature; null if never. */
  lastCosigned: string | null;
  /** Why its latest attempt failed; null when that attempt succeeded or none was made. */
  lastError: string | null;
}

/** Options for Witnessing. */
export interface WitnessingOptions {
  log: WitnessedLog;
  witnesses: readonly WitnessConfig[];
  /** Valid cosignatures a checkpoint needs to be published (1 ≤ quorum ≤ witnesses). */
  quorum: number;
  fetch: FetchFn;
  clock?: Clock;
  /** How long waitFor waits; default 10000 ms. */
  waitTimeoutMs?: number;
  /** Timeout of each request to a witness, answer included; default 5000 ms. */
  requestTimeoutMs?: number;
  /** Least time between the starts of two rounds; default 500 ms. */
  minIntervalMs?: number;
  /** Called with operational warnings; signs of a fork or rollback start with `ALERT:`. */
  warn?: (line: string) => void;
}

const RETRY_BASE_MS = 1000;
const RETRY_MAX_MS = 30_000;
/** Checkpoints whose cosignatures are kept while they gather a quorum. */
const MAX_COLLECTIONS = 64;

interface WitnessState {
  readonly config: WitnessConfig;
  readonly verifier: Verifier;
  /** The size the witness holds, as far as we know. */
  size: number;
  /** The size of the latest checkpoint it cosigned validly (-1: none). */
  cosignedSize: number;
  busy: boolean;
  failures: number;
  retryAt: number;
  lastCosigned: number | undefined;
  lastError: string | undefined;
  abort: AbortController | undefined;
}

interface Waiter {
  size: number;
  resolve: (w: WitnessedCheckpoint) => void;
  reject: (err: unknown) => void;
  timer: unknown;
}

interface Collection {
  cp: StoredCheckpoint;
  /** Witness position → its cosignature line. */
  lines: Map<number, string>;
}

/** Gets the log's checkpoints cosigned by its witnesses and publishes those with a quorum. */
export class Witnessing {
  readonly quorum: number;
  readonly waitTimeoutMs: number;
  private readonly opts: WitnessingOptions;
  private readonly clock: Clock;
  private readonly states: WitnessState[];
  private readonly collected = new Map<number, Collection>();
  private readonly waiters = new Set<Waiter>();
  private readonly idle: Array<() => void> = [];
  private published: WitnessedCheckpoint | undefined;
  private started = false;
  private stopped = false;
  private timer: unknown;
  private timerAt = Infinity;
  private lastRoundAt = -Infinity;
  private roundCount = 0;
  private inFlight = 0;

  /** @throws LogError MALFORMED on a bad witness list or quorum (see checkWitnessSet). */
  constructor(opts: WitnessingOptions) {
    checkWitnessSet(opts.witnesses, opts.quorum);
    this.opts = opts;
    this.quorum = opts.quorum;
    this.waitTimeoutMs = opts.waitTimeoutMs ?? 10_000;
    this.clock = opts.clock ?? systemClock;
    this.states = opts.witnesses.map((config) => ({
      config,
      verifier: cosignatureV1Verifier(config.verifierKey),
      size: 0,
      cosignedSize: -1,
      busy: false,
      failures: 0,
      retryAt: 0,
      lastCosigned: undefined,
      lastError: undefined,
      abort: undefined,
    }));
  }

  /** The newest checkpoint with a quorum of valid cosignatures, if there is one yet. */
  get witnessed(): WitnessedCheckpoint | undefined {
    return this.published;
  }

  /** Rounds started so far. */
  get rounds(): number {
    return this.roundCount;
  }

  /** Starts witnessing, beginning with the current checkpoint. */
  start(): void {
    this.started = true;
    this.notify();
  }

  /** Tells witnessing the log may have a new checkpoint. Cheap: call it after every add. */
  notify(): void {
    if (!this.started || this.stopped) return;
    const cp = this.opts.log.checkpoint;
    if (cp.size === 0) return; // an empty tree has nothing worth witnessing
    let due = Infinity;
    for (const w of this.states) if (this.wants(w, cp)) due = Math.min(due, w.retryAt);
    if (due === Infinity) return;
    due = Math.max(due, this.lastRoundAt + (this.opts.minIntervalMs ?? 500));
    if (this.timer !== undefined && this.timerAt <= due) return;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timerAt = due;
    this.timer = this.clock.setTimeout(() => this.round(), Math.max(0, due - this.clock.now()));
  }

  /**
   * Resolves with the newest witnessed checkpoint once it has at least `size` entries.
   * @throws LogError TIMEOUT after waitTimeoutMs; CLOSED when witnessing stops first.
   */
  waitFor(size: number): Promise<WitnessedCheckpoint> {
    if (this.published !== undefined && this.published.size >= size) {
      return Promise.resolve(this.published);
    }
    if (this.stopped) return Promise.reject(new LogError('CLOSED', 'witnessing has stopped'));
    return new Promise((resolve, reject) => {
      const waiter: Waiter = { size, resolve, reject, timer: undefined };
      waiter.timer = this.clock.setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new LogError('TIMEOUT', `not witnessed within ${this.waitTimeoutMs} ms`));
      }, this.waitTimeoutMs);
      this.waiters.add(waiter);
    });
  }

  /** Each witness's state, in configured order. */
  status(): WitnessStatus[] {
    return this.states.map((w) => ({
      name: w.config.name,
      verifierKey: w.config.verifierKey,
      url: w.config.url,
      size: w.size,
      lastCosigned: w.lastCosigned === undefined ? null : new Date(w.lastCosigned).toISOString(),
      lastError: w.lastError ?? null,
    }));
  }

  /** Resolves when no request to a witness is in flight. */
  whenIdle(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  /** Stops rounds, aborts requests and fails waiters with CLOSED; resolves when all ended. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    for (const w of this.states) w.abort?.abort(new WitnessRefusal('witnessing stopped'));
    for (const waiter of this.waiters) {
      this.clock.clearTimeout(waiter.timer);
      waiter.reject(new LogError('CLOSED', 'witnessing stopped'));
    }
    this.waiters.clear();
    await this.whenIdle();
  }

  /** True when `w` is idle and has not cosigned `cp` (sizes identify this log's checkpoints). */
  private wants(w: WitnessState, cp: StoredCheckpoint): boolean {
    return !w.busy && w.cosignedSize !== cp.size;
  }

  private round(): void {
    this.timer = undefined;
    this.timerAt = Infinity;
    if (this.stopped) return;
    const cp = this.opts.log.checkpoint;
    const now = this.clock.now();
    const chosen = this.states.filter((w) => this.wants(w, cp) && w.retryAt <= now);
    if (chosen.length > 0) {
      this.lastRoundAt = now;
      this.roundCount++;
      for (const w of chosen) {
        w.busy = true;
        this.inFlight++;
        void this.submit(w, cp);
      }
    }
    this.notify();
  }

  /** One witness, one checkpoint. Never rejects: failures are recorded on the witness. */
  private async submit(w: WitnessState, cp: StoredCheckpoint): Promise<void> {
    try {
      // A witness ahead of this checkpoint is asked with `old 0`, which learns its size again.
      let old = w.size <= cp.size ? w.size : 0;
      for (let attempt = 0; ; attempt++) {
        const proof =
          old === 0 || old === cp.size ? [] : await this.opts.log.consistencyProof(old, cp.size);
        w.abort = new AbortController();
        const answer = await postAddCheckpoint({
          fetch: this.opts.fetch,
          clock: this.clock,
          url: w.config.url,
          body: formatAddCheckpointBody(old, proof, cp.note),
          timeoutMs: this.opts.requestTimeoutMs ?? 5000,
          controller: w.abort,
        });
        w.abort = undefined;
        if (answer.status === 200) return this.accept(w, cp, answer.text);
        const size = sizeFromConflict(answer);
        if (size === undefined) throw refusalFor(answer);
        w.size = size;
        checkWitnessSize(size, old, this.opts.log.checkpoint.size);
        if (size > cp.size) return; // it has a newer checkpoint already; a later round follows
        if (attempt > 0) throw new WitnessRefusal(`409 again after proving from size ${old}`);
        old = size;
      }
    } catch (err) {
      this.fail(w, err);
    } finally {
      w.busy = false;
      w.abort = undefined;
      if (--this.inFlight === 0) for (const done of this.idle.splice(0)) done();
      this.notify();
    }
  }

  /**
   * A 200: the witness now holds cp.size; its answer must carry a valid cosignature, and
   * one clients count: a timestamp too far ahead of this log's clock is refused under the
   * clients' own rule (cosignatureTimeProblem), so the log never publishes a quorum that
   * `candor verify` rejects. The refusal is kept as the witness's lastError (/v1/info) and
   * retried with backoff, as the witness's clock may be put right.
   */
  private accept(w: WitnessState, cp: StoredCheckpoint, answer: string): void {
    w.size = cp.size;
    const { line, signature } = openCosignature(cp.note, answer, w.verifier);
    const problem = cosignatureTimeProblem(cosignatureTimestamp(signature), this.clock.now());
    if (problem !== undefined) {
      const ahead = `more than ${DEFAULT_MAX_FUTURE_SKEW_SECONDS} s ahead of this log's clock`;
      const why = `cosignature not counted: its ${problem} (${ahead}); check the witness's clock`;
      throw new WitnessRefusal(why);
    }
    w.cosignedSize = cp.size;
    w.failures = 0;
    w.retryAt = 0;
    w.lastCosigned = this.clock.now();
    w.lastError = undefined;
    let c = this.collected.get(cp.size);
    if (c === undefined) this.collected.set(cp.size, (c = { cp, lines: new Map() }));
    c.lines.set(this.states.indexOf(w), line);
    if (this.collected.size > MAX_COLLECTIONS) {
      this.collected.delete(Math.min(...this.collected.keys()));
    }
    if (c.lines.size >= this.quorum && cp.size >= (this.published?.size ?? 0)) this.publish(c);
  }

  private publish(c: Collection): void {
    const lines = this.states.flatMap((_, i) => c.lines.get(i) ?? []);
    const { size, rootHash } = c.cp;
    const published = { size, rootHash, note: c.cp.note + lines.join(''), cosignatures: lines };
    this.published = published;
    for (const s of this.collected.keys()) if (s < size) this.collected.delete(s);
    for (const waiter of this.waiters) {
      if (waiter.size > size) continue;
      this.waiters.delete(waiter);
      this.clock.clearTimeout(waiter.timer);
      waiter.resolve(published);
    }
  }

  private fail(w: WitnessState, err: unknown): void {
    if (this.stopped) return;
    const why = err instanceof Error ? err.message : String(err);
    const loud = err instanceof WitnessRefusal && err.loud;
    if (loud || why !== w.lastError) {
      const line = `witness ${w.config.name} (${w.config.url}): ${why}`;
      this.opts.warn?.(loud ? `ALERT: ${line}` : line);
    }
    w.lastError = why;
    w.failures++;
    w.retryAt = this.clock.now() + Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** (w.failures - 1));
  }
}
