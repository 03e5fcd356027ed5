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
 *
 * With alert rules (options.rules, rules/), every entry emitted is also evaluated by the
 * rule engine right after its line was written, and the engine's state is saved in the
 * same state file as `next`. Entries the rules have not seen yet (rules enabled on an
 * existing state) are read back from the tiles first. Approval windows close only at the
 * end of a poll that read every entry of a checkpoint it fetched (larger or the same as
 * the trusted one). Rule alerts never change what is trusted or emitted; after each poll
 * they are delivered by their actions (rules/actions.ts), and their retries are scheduled
 * between polls.
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
import { MONITOR_EXIT } from './alerts.js';
import {
  defaultSleep,
  exitCodeOf,
  type MonitorOptions,
  type PollResult,
  type PollStatus,
} from './options.js';
import { STATE_FORMAT, type MonitorState, type StateStore } from './state.js';
import { Deliverer } from './rules/actions.js';
import { RuleEngine } from './rules/engine.js';

export type { MonitorOptions, MonitorRules, PollResult, PollStatus, ProgressSink } from './options.js';
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
  /** Whether dateWindows said once that the log could not date a window. */
  private undatedWarned = false;
  private readonly now: () => number;
  private engine: RuleEngine | undefined;
  private deliverer: Deliverer | undefined;

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
      await this.setUpRules();
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
    await this.setUpRules();
  }

  private async setUpRules(): Promise<void> {
    const rules = this.o.rules;
    if (rules === undefined) return;
    const { origin, url } = this.client;
    this.engine = new RuleEngine(rules.config, this.state.rules, { origin, url });
    this.state.rules = this.engine.state;
    this.deliverer = new Deliverer(rules.config.actions, {
      out: this.o.out,
      warn: (m) => this.warn(m),
      now: this.now,
      ...(rules.fetch === undefined ? {} : { fetch: rules.fetch }),
    });
    for (const w of this.engine.pruneWindows()) await this.warn(w);
    const failed = this.engine.state.outbox.filter((o) => o.deliveries.some((d) => d.status === 'failed')).length;
    if (failed > 0) {
      await this.warn(
        `rules: ${failed} alert(s) whose delivery failed are kept in the state (its "rules.outbox"); ` +
          `"candor monitor reset --keep-checkpoint" acknowledges them`
      );
    }
  }

  /**
   * One poll (see the module comment). Resolves with its outcome; network errors give
   * status `retry`, never a rejection. Rejects only when the state cannot be saved, the
   * output sink fails, or on a bug.
   */
  async poll(signal?: AbortSignal): Promise<PollResult> {
    return this.withRuleAlerts(await this.pollLog(signal));
  }

  private async pollLog(signal?: AbortSignal): Promise<PollResult> {
    const halt = this.state.halt;
    if (halt !== null) {
      this.state.halt = recordAlert(this.state.alerts, { ...halt, lastSeen: this.iso() });
      await this.save();
      await this.announce(this.state.halt);
      return { status: 'halted', alert: this.state.halt, emitted: 0 };
    }
    const reload = this.o.rules?.submitters.reload;
    if (reload !== undefined) {
      try {
        await reload.call(this.o.rules!.submitters);
      } catch (err) {
        await this.warn(`rules: reloading the submitter allowlist: ${(err as Error).message}; the list in force stays`);
      }
    }
    // The poll's time: every entry first seen in this poll was logged before it, and an
    // approval window closes when a poll at or after its deadline has read the whole log.
    const pollTime = this.now();
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
        return this.catchUp('ok', true, pollTime, signal);
      case 'same':
        return this.catchUp('ok', false, pollTime, signal);
      case 'stale':
        await this.warn(
          `the log served a checkpoint of size ${received.size}, older than the trusted size ` +
            `${this.trusted!.size}; it is a prefix of it (a stale copy): ignored`
        );
        return this.catchUp('stale', false, pollTime, signal);
      default:
        return this.fail(verdict);
    }
  }

  /**
   * Polls once, retrying network errors `retries` times with doubling delays (each a
   * warning); resolves with the exit code (MONITOR_EXIT, EXIT_FOR_KIND).
   */
  async once(signal?: AbortSignal): Promise<number> {
    let fired = 0;
    const code = await this.pollOnce((r) => (fired += r.ruleAlerts ?? 0), signal);
    const undelivered = await this.deliverForOnce(signal);
    if (code !== MONITOR_EXIT.OK) return code;
    if (undelivered) return MONITOR_EXIT.UNDELIVERED;
    return fired > 0 ? MONITOR_EXIT.RULE_ALERTS : MONITOR_EXIT.OK;
  }

  private async pollOnce(seen: (r: PollResult) => void, signal?: AbortSignal): Promise<number> {
    const retries = this.o.retries ?? 4;
    for (let attempt = 1; ; attempt++) {
      const r = await this.poll(signal);
      seen(r);
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
   * Delivers the rule alerts due, then waits for retries that fall due within
   * rules.onceWaitMs. Resolves true when a delivery was given up, or is still pending.
   */
  private async deliverForOnce(signal?: AbortSignal): Promise<boolean> {
    if (this.engine === undefined || this.deliverer === undefined) return false;
    const outbox = this.engine.state.outbox;
    const budget = this.o.rules?.onceWaitMs ?? 60_000;
    let gaveUp = 0;
    let waited = 0;
    let cutoff = this.now();
    const aborted = (): boolean => signal?.aborted === true;
    while (!aborted()) {
      gaveUp += (await this.deliverRound(cutoff)).gaveUp;
      const due = this.deliverer.nextDue(outbox);
      if (due === undefined || aborted()) break;
      const gap = Math.max(0, due - this.now());
      if (waited + gap > budget) break;
      await (this.o.sleep ?? defaultSleep)(gap, signal);
      waited += gap;
      if (aborted()) break;
      cutoff = Math.max(this.now(), due);
    }
    const pending = outbox.reduce((n, o) => n + o.deliveries.filter((d) => d.status === 'pending').length, 0);
    if (pending > 0) {
      await this.warn(`rules: ${pending} alert deliveries still pending; the next run retries them`);
    }
    return gaveUp > 0 || pending > 0;
  }

  // One delivery round for what is due at `cutoffMs`; saves the state when it changed.
  private async deliverRound(cutoffMs: number): Promise<{ gaveUp: number }> {
    if (this.engine === undefined || this.deliverer === undefined) return { gaveUp: 0 };
    const r = await this.deliverer.round(this.engine.state.outbox, cutoffMs);
    if (r.changed) await this.save();
    return r;
  }

  // Saves what the rules changed in the poll and announces the alerts it raised.
  private async withRuleAlerts(r: PollResult): Promise<PollResult> {
    const engine = this.engine;
    if (engine === undefined) return r;
    if (engine.dirty) await this.save();
    const fresh = engine.takeFresh();
    for (const a of fresh) {
      await this.o.err(`candor monitor: rule alert (${a.severity}) ${a.rule}: ${a.summary}\n`);
    }
    return { ...r, ruleAlerts: fresh.length };
  }

  /**
   * Polls every `intervalMs` until `signal` aborts (finishing or saving the current catch-up
   * first); after network errors, sooner, with doubling delays up to the interval.
   */
  async run(signal: AbortSignal): Promise<void> {
    const interval = this.o.intervalMs ?? 60_000;
    let failures = 0;
    const sleep = this.o.sleep ?? defaultSleep;
    while (!signal.aborted) {
      const r = await this.poll(signal);
      failures = r.status === 'retry' ? failures + 1 : 0;
      let wait = failures === 0 ? interval : this.backoff(failures, interval);
      if (failures > 0) await this.warn(`${r.message ?? 'network error'}; retrying in ${wait / 1000} s`);
      if (this.engine !== undefined && this.deliverer !== undefined) {
        // Rule alerts: deliver what is due, and the retries that fall due before the next poll.
        if (!signal.aborted) await this.deliverRound(this.now());
        for (;;) {
          const due = this.deliverer.nextDue(this.engine.state.outbox);
          const now = this.now();
          if (signal.aborted || due === undefined || due - now >= wait) break;
          const gap = Math.max(0, due - now);
          await sleep(gap, signal);
          wait -= gap;
          if (!signal.aborted) await this.deliverRound(Math.max(this.now(), due));
        }
      }
      await sleep(wait, signal);
    }
  }

  /** Releases the state store. */
  async close(): Promise<void> {
    await this.o.store.close();
  }

  private backoff(attempt: number, max: number): number {
    return Math.min(max, (this.o.backoffMs ?? 1000) * 2 ** (attempt - 1));
  }

  // Emits entries [next, trusted size), saving progress; then the checkpoint line. The
  // rules evaluate each entry after its line (and first, any entry they have not seen).
  private async catchUp(
    status: PollStatus,
    adopted: boolean,
    pollTime: number,
    signal?: AbortSignal
  ): Promise<PollResult> {
    const t = this.trusted!;
    const start = this.state.next;
    const engine = this.engine;
    if (engine !== undefined && engine.processed < start) {
      const failed = await this.backfill(engine, t, start, pollTime, signal);
      if (failed !== undefined) return failed;
    }
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
        if (engine !== undefined) this.evaluate(engine, i, entries, t.size, pollTime);
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
    // Approval windows close only on what this poll proved to be the log's current tree.
    if (engine !== undefined && result === undefined && status === 'ok' && engine.processed >= t.size) {
      await this.dateWindows(engine);
      engine.closeWindows(pollTime, this.now());
    }
    if (adopted || this.state.next !== saved || engine?.dirty === true) await this.save();
    return { ...(result ?? { status }), emitted };
  }

  /**
   * Asks the log's record index when each change with an undated approval window was
   * logged (`GET /v1/records/N`, its `time`), so the window runs from then (engine.ts,
   * "Time"). A 404, or an answer about another envelope, dates it "unknown" (the window
   * keeps `observed`); a failure to ask leaves it for the next poll.
   */
  private async dateWindows(engine: RuleEngine): Promise<void> {
    for (const w of engine.undated()) {
      const url = `${this.client.url}/v1/records/${w.index}`;
      let body: Uint8Array | undefined;
      try {
        body = await httpGet(this.fetchFn, url, {
          maxBytes: 1024 * 1024,
          timeoutMs: this.o.timeoutMs ?? 10_000,
          allow404: true,
        });
      } catch (err) {
        if (!isLogError(err)) throw err;
        continue;
      }
      let logged: number | null = null;
      if (body !== undefined) {
        try {
          const r = JSON.parse(new TextDecoder().decode(body)) as { envelopeDigest?: unknown; time?: unknown };
          const ms = typeof r.time === 'string' ? Date.parse(r.time) : NaN;
          if (r.envelopeDigest === w.envelopeDigest && Number.isFinite(ms)) logged = ms;
        } catch {
          // not JSON: the log cannot say
        }
      }
      if (logged === null && !this.undatedWarned) {
        this.undatedWarned = true;
        await this.warn(
          `rules: ${url} does not date entry ${w.index}: approval windows the log's record index ` +
            'cannot date run from when this monitor first saw the change'
        );
      }
      engine.dateWindow(w.rule, w.index, logged);
    }
  }

  private evaluate(engine: RuleEngine, first: number, entries: Uint8Array[], size: number, pollTime: number): void {
    const list = this.o.rules!.submitters.current;
    entries.forEach((e, k) => engine.process(first + k, e, size, pollTime, list, this.now()));
  }

  // Entries [processed, end) of the trusted tree, read for the rules only (no lines).
  private async backfill(
    engine: RuleEngine,
    t: CheckedTree,
    end: number,
    pollTime: number,
    signal?: AbortSignal
  ): Promise<PollResult | undefined> {
    const from = engine.processed;
    await this.warn(`rules: evaluating entries ${from} to ${end - 1}, emitted before the rules were in force`);
    const bundles = new BundleQueue(this.client.tiles, t, from, end);
    for (let read = bundles.take(); read !== undefined; read = bundles.take()) {
      if (signal?.aborted === true) return { status: 'interrupted', emitted: 0 };
      let entries: Uint8Array[];
      try {
        entries = await read.entries;
      } catch (err) {
        return this.fail(readFailure(err, `reading entries from ${read.index} of tree size ${t.size}`, t.note));
      }
      this.evaluate(engine, read.index, entries, t.size, pollTime);
    }
    await this.save();
    return undefined;
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
    if (this.engine !== undefined) this.engine.dirty = false;
  }
}
