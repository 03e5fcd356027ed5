/**
 * The monitor: follows one log, verifies everything it serves, emits every entry once (at
 * least once across crashes, never skipping one), and raises alerts with evidence when the
 * log misbehaves (alerts.ts). Each poll:
 *
 * 1. fetches `/checkpoint` and opens it against the policy (log signature, origin, witness
 *    quorum): failures are `bad-signature` or `quorum-not-met` alerts;
 * 2. compares it with the trusted checkpoint (the largest verified so far):
 *    - larger: the consistency proof is computed from the new tree's hash tiles, each
 *      authenticated against the new signed root, and checked against the trusted root;
 *      a proof that fails is `inconsistent` (a fork or rewrite), a tile that fails is
 *      `bad-tiles`. Then it becomes the trusted checkpoint;
 *    - same size: the roots must be equal, else `inconsistent`;
 *    - smaller: it must be proven a prefix of the trusted tree, from the trusted tree's
 *      tiles: then it is a stale copy (a warning); a log that cannot prove it (it no longer
 *      serves the tree it signed, or the proof fails) is a `rollback`;
 * 3. reads every entry not yet emitted from the entry bundles, each checked against the
 *    authenticated level-0 tile of the trusted tree (`bad-tiles` when one does not), and
 *    writes one JSON line per entry (lines.ts), then a checkpoint line.
 *
 * The state (state.ts) holds the trusted checkpoint and `next`, the first entry not yet
 * emitted. `next` is saved only after the entries below it were written (the output sink
 * resolved), every `saveEvery` entries and at the end, so a crash repeats at most the
 * entries since the last save and never skips one. Network errors (time-outs, HTTP 429
 * and 5xx, tiles not served yet) are no alerts: the poll ends with status `retry`.
 */
import { httpGet } from '../client/http.js';
import { LogClient } from '../client/log-client.js';
import { openCheckpointWithPolicy } from '../client/open.js';
import type { FetchFn } from '../client/tile-reader.js';
import { DEFAULT_MAX_NOTE_SIZE } from '../note/note.js';
import { LogError, isLogError } from '../util/errors.js';
import { makeAlert, recordAlert, type AlertEvidence, type AlertKind, type MonitorAlert } from './alerts.js';
import { compareCheckpoints, readFailure, type CheckedTree, type Verdict } from './compare.js';
import { BundleQueue } from './bundles.js';
import { checkpointLine, entryLine } from './lines.js';
import {
  defaultSleep,
  exitCodeOf,
  type MonitorOptions,
  type PollResult,
  type PollStatus,
} from './options.js';
import { STATE_FORMAT, type MonitorState, type StateStore } from './state.js';

export type { MonitorOptions, PollResult, PollStatus, ProgressSink } from './options.js';
export type { StateStore };

/**
 * Follows one log (see the module comment).
 * @example
 * const store = await FileStateStore.open('state');
 * const monitor = await Monitor.open({ policy, store, out: (t) => void process.stdout.write(t),
 *   err: (t) => void process.stderr.write(t) });
 * process.exitCode = await monitor.once();
 * await monitor.close();
 */
export class Monitor {
  /** The verifying client (its `tiles` reader caches authenticated tiles across polls). */
  readonly client: LogClient;
  private state!: MonitorState;
  private trusted: CheckedTree | undefined;
  private readonly fetchFn: FetchFn;
  private readonly now: () => number;

  private constructor(private readonly o: MonitorOptions) {
    this.fetchFn = o.fetch ?? ((u, init) => globalThis.fetch(u, init));
    this.now = o.now ?? Date.now;
    this.client = new LogClient({
      policy: o.policy,
      fetch: this.fetchFn,
      now: this.now,
      ...(o.url === undefined ? {} : { url: o.url }),
      ...(o.origin === undefined ? {} : { origin: o.origin }),
      ...(o.timeoutMs === undefined ? {} : { timeoutMs: o.timeoutMs }),
    });
  }

  /**
   * Loads the saved state (or starts a new one) and re-checks the saved checkpoint's log
   * signature. Does no network I/O.
   * @throws TypeError when the log's URL is unknown; LogError CONFLICT when the state is
   *   another log's, MALFORMED when it is damaged or its checkpoint no longer verifies.
   */
  static async open(options: MonitorOptions): Promise<Monitor> {
    const m = new Monitor(options);
    await m.load();
    return m;
  }

  /** A copy of the current state. */
  get snapshot(): MonitorState {
    return structuredClone(this.state);
  }

  private async load(): Promise<void> {
    const { origin, url, policy } = this.client;
    const saved = await this.o.store.load();
    if (saved === undefined) {
      const [checkpoint, halt, updated] = [null, null, ''];
      this.state = { format: STATE_FORMAT, origin, url, checkpoint, next: 0, updated, halt, alerts: [] };
      return;
    }
    if (saved.origin !== origin) {
      const why = `the monitor state is for the log "${saved.origin}", not "${origin}"`;
      throw new LogError('CONFLICT', why);
    }
    if (saved.checkpoint !== null) {
      let cp;
      try {
        const logOnly = { ...policy, quorum: 'none' };
        cp = openCheckpointWithPolicy(saved.checkpoint, logOnly, { origin, now: this.now });
      } catch (err) {
        const why = `the saved checkpoint does not verify with the policy's log key`;
        const reset = 'see "Resetting" in docs/monitor.md';
        throw new LogError('MALFORMED', `${why}: ${(err as Error).message} (${reset})`);
      }
      if (saved.next > cp.size) {
        throw new LogError('MALFORMED', `monitor state: next ${saved.next} is beyond size ${cp.size}`);
      }
      const witnesses = cp.witnesses.map((w) => w.name);
      this.trusted = { note: saved.checkpoint, size: cp.size, rootHash: cp.rootHash, witnesses };
    }
    this.state = { ...saved, url };
    const unacknowledged = saved.alerts.filter((a) => !a.halted);
    if (unacknowledged.length > 0) {
      const last = unacknowledged[unacknowledged.length - 1]!;
      await this.warn(
        `${unacknowledged.length} unacknowledged alert(s) in the state, the last ${last.kind} at ` +
          `${last.lastSeen}; "candor monitor reset --keep-checkpoint" acknowledges them`
      );
    }
  }

  /**
   * One poll (see the module comment). Resolves with its outcome; network errors give
   * status `retry`, never a rejection. Rejects only when the state cannot be saved, the
   * output sink fails, or on a bug.
   */
  async poll(signal?: AbortSignal): Promise<PollResult> {
    const halt = this.state.halt;
    if (halt !== null) {
      this.state.halt = recordAlert(this.state.alerts, { ...halt, lastSeen: this.iso() });
      await this.save();
      await this.announce(this.state.halt);
      return { status: 'halted', alert: this.state.halt, emitted: 0 };
    }
    const url = `${this.client.url}/checkpoint`;
    let body: Uint8Array;
    try {
      const options = { maxBytes: DEFAULT_MAX_NOTE_SIZE, timeoutMs: this.o.timeoutMs ?? 10_000 };
      body = (await httpGet(this.fetchFn, url, options))!;
    } catch (err) {
      return { status: 'retry', message: `fetching ${url}: ${(err as Error).message}`, emitted: 0 };
    }
    const note = new TextDecoder().decode(body);
    let received: CheckedTree;
    try {
      const cp = this.client.verifyCheckpoint(body);
      const witnesses = cp.witnesses.map((w) => w.name);
      received = { note, size: cp.size, rootHash: cp.rootHash, witnesses };
    } catch (err) {
      if (!isLogError(err)) throw err;
      const kind = err.code === 'QUORUM_NOT_MET' ? 'quorum-not-met' : 'bad-signature';
      const detail = `the log's checkpoint does not verify: ${err.message}`;
      return this.raise(kind, detail, { received: note });
    }
    const verdict = await compareCheckpoints(this.client.tiles, this.trusted, received);
    switch (verdict.kind) {
      case 'larger':
        this.trusted = received;
        this.state.checkpoint = received.note;
        return this.catchUp('ok', true, signal);
      case 'same':
        return this.catchUp('ok', false, signal);
      case 'stale':
        await this.warn(
          `the log served a checkpoint of size ${received.size}, older than the trusted size ` +
            `${this.trusted!.size}; it is a prefix of it (a stale copy): ignored`
        );
        return this.catchUp('stale', false, signal);
      default:
        return this.fail(verdict);
    }
  }

  /**
   * Polls once, retrying network errors `retries` times with doubling delays (each a
   * warning); resolves with the exit code (MONITOR_EXIT, EXIT_FOR_KIND).
   */
  async once(signal?: AbortSignal): Promise<number> {
    const retries = this.o.retries ?? 4;
    for (let attempt = 1; ; attempt++) {
      const r = await this.poll(signal);
      if (r.status !== 'retry') return exitCodeOf(r);
      if (signal?.aborted === true) return exitCodeOf({ status: 'interrupted', emitted: 0 });
      if (attempt > retries) {
        await this.warn(`${r.message ?? 'network error'}; giving up after ${attempt} attempts`);
        return exitCodeOf(r);
      }
      const wait = this.backoff(attempt, 30_000);
      await this.warn(`${r.message ?? 'network error'}; retrying in ${wait / 1000} s`);
      await (this.o.sleep ?? defaultSleep)(wait, signal);
    }
  }

  /**
   * Polls every `intervalMs` until `signal` aborts (finishing or saving the current catch-up
   * first); after network errors, sooner, with doubling delays up to the interval.
   */
  async run(signal: AbortSignal): Promise<void> {
    const interval = this.o.intervalMs ?? 60_000;
    let failures = 0;
    while (!signal.aborted) {
      const r = await this.poll(signal);
      failures = r.status === 'retry' ? failures + 1 : 0;
      const wait = failures === 0 ? interval : this.backoff(failures, interval);
      if (failures > 0) await this.warn(`${r.message ?? 'network error'}; retrying in ${wait / 1000} s`);
      await (this.o.sleep ?? defaultSleep)(wait, signal);
    }
  }

  /** Releases the state store. */
  async close(): Promise<void> {
    await this.o.store.close();
  }

  private backoff(attempt: number, max: number): number {
    return Math.min(max, (this.o.backoffMs ?? 1000) * 2 ** (attempt - 1));
  }

  // Emits entries [next, trusted size), saving progress; then the checkpoint line.
  private async catchUp(status: PollStatus, adopted: boolean, signal?: AbortSignal): Promise<PollResult> {
    const t = this.trusted!;
    const start = this.state.next;
    let saved = start;
    let result: PollResult | undefined;
    const bundles = new BundleQueue(this.client.tiles, t, start);
    try {
      for (let read = bundles.take(); read !== undefined; read = bundles.take()) {
        if (signal?.aborted === true) {
          result = { status: 'interrupted', emitted: 0 };
          break;
        }
        const i = read.index;
        let entries: Uint8Array[];
        try {
          entries = await read.entries;
        } catch (err) {
          const what = `reading entries from ${i} of tree size ${t.size}`;
          result = await this.fail(readFailure(err, what, t.note));
          break;
        }
        await this.o.out(entries.map((e, k) => entryLine(this.client.origin, i + k, e, t.size)).join(''));
        this.state.next = i + entries.length;
        this.o.progress?.update(this.state.next - start, t.size - start);
        if (this.state.next < t.size && this.state.next - saved >= (this.o.saveEvery ?? 4096)) {
          await this.save();
          saved = this.state.next;
        }
      }
    } finally {
      if (t.size > start) this.o.progress?.end();
    }
    const emitted = this.state.next - start;
    if (this.state.next === t.size && (adopted || emitted > 0)) {
      await this.o.out(checkpointLine({ ...t, origin: this.client.origin }));
    }
    if (adopted || this.state.next !== saved) await this.save();
    return { ...(result ?? { status }), emitted };
  }

  // A verdict that is not success: an alert raised, or a retry.
  private async fail(v: Verdict): Promise<PollResult> {
    if (v.kind === 'retry') return { status: 'retry', message: v.message, emitted: 0 };
    if (v.kind !== 'alert') throw new Error(`candor internal error: fail(${v.kind})`);
    return this.raise(v.alert, v.detail, v.evidence);
  }

  private async raise(kind: AlertKind, detail: string, evidence: AlertEvidence): Promise<PollResult> {
    const { origin, url } = this.client;
    const alert = recordAlert(this.state.alerts, makeAlert({ kind, origin, url, detail, evidence }, this.now()));
    if (alert.halted) this.state.halt = alert;
    await this.save();
    await this.announce(alert);
    return { status: 'alert', alert, emitted: 0 };
  }

  private async announce(alert: MonitorAlert): Promise<void> {
    const line = JSON.stringify(alert) + '\n';
    await this.o.err(line);
    if (this.o.jsonAlerts === true) await this.o.out(line);
  }

  private async warn(message: string): Promise<void> {
    await this.o.err(`candor monitor: warning: ${message}\n`);
  }

  private iso(): string {
    return new Date(this.now()).toISOString();
  }

  private async save(): Promise<void> {
    this.state.updated = this.iso();
    await this.o.store.save(this.state);
  }
}
