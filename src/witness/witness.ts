/**
 * The witness core (c2sp.org/tlog-witness v1.0.0, specs §6): per origin it remembers the
 * latest checkpoint it cosigned and moves it forward only along verified consistency
 * proofs. Push (add-checkpoint), pull (polling the log) and gossip all go through the one
 * rule in `advance`:
 *
 * 1. under a per-origin lock, refuse a halted origin (an uncleared alert);
 * 2. compare the checkpoint with what was cosigned at its size (latest or history): a
 *    different root for the same size is evidence, recorded as an alert;
 * 3. require `old` to equal the stored size (0 if none), else 409 with that size;
 * 4. verify the consistency proof from the stored checkpoint (an empty proof from 0);
 * 5. cosign, and compare-and-swap the new state into the store, fsynced, BEFORE answering.
 *
 * A checkpoint that is already the latest cosigned one (same origin, size and root: a
 * replay, a retry, a log re-asking) changes no state. tlog-witness has it re-cosigned
 * with a fresh timestamp (specs §6.1: that proves freshness, and omniwitness does not
 * short-circuit it), so it is signed again, but nothing is written: a replay costs one
 * signature, not an fsync. The stored note (served at the monitoring path) is refreshed
 * durably at most once per `refreshMs`, within the hour of lag the spec allows that path.
 *
 * So the witness never moves backwards, never cosigns two roots for one size, and never
 * cosigns a tree not proven to extend the one it cosigned before.
 */
import { EMPTY_ROOT } from '../merkle/hash.js';
import { verifyConsistency } from '../merkle/verify.js';
import { parseCheckpoint, type Checkpoint } from '../checkpoint/checkpoint.js';
import { formatSignatureLine, parseNote, verifyNote, type NoteSignature, type ParsedNote } from '../note/note.js';
import type { Signer } from '../note/keys.js';
import { equalBytes, fromUtf8, toBase64, utf8 } from '../util/bytes.js';
import { LogError } from '../util/errors.js';
import { makeAlert, formatAlertLine, type AlertInput } from './alerts.js';
import type { Alert, CosignedState } from './codec.js';
import type { KnownLog } from './config.js';
import { OldSizeMismatch, WitnessError } from './errors.js';
import { MAX_REQUEST_BODY, parseAddCheckpointRequest } from './request.js';
import { originHash, type WitnessStore } from './witness-store.js';

/** A checkpoint note whose log signature verified. */
export interface SignedCheckpoint {
  checkpoint: Checkpoint;
  /** The checkpoint text (the signed body). */
  text: string;
  /** The note exactly as received. */
  note: string;
  /** The parsed note, for checking other signatures (peer cosignatures). */
  parsed: ParsedNote;
  /** The log's verified signatures. */
  logSignatures: NoteSignature[];
}

/** Result of comparing a checkpoint with what this witness cosigned at its size. */
export type Verdict = 'match' | 'conflict' | 'unknown';

/** Dependencies of the core (style P2/P12: everything with effects is injected). */
export interface WitnessOptions {
  store: WitnessStore;
  logs: ReadonlyMap<string, KnownLog>;
  /** The cosignature/v1 signer (its clock gives the cosignature timestamps). */
  signer: Signer;
  /** This witness's cosignature verifier key (type 0x04), for /v1/status. */
  verifierKey: string;
  /** Milliseconds since the epoch; default Date.now. */
  now?: () => number;
  /** Where ALERT lines go; default console.error. */
  warn?: (line: string) => void;
  /** Hears of each new alert once it is durable. Must not throw. */
  onAlert?: (alert: Alert) => void;
  /**
   * Least ms between durable refreshes of an unchanged latest checkpoint (see the module
   * comment); default 60000, the puller's refresh interval.
   */
  refreshMs?: number;
  /** Test-only: awaited inside the locked section, after the checks, before the commit. */
  testingOnlyStall?: (origin: string) => Promise<void>;
}

/** Serialises async sections per key. */
class KeyedLock {
  private readonly tails = new Map<string, Promise<void>>();

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const tail = prev.then(() => new Promise<void>((r) => (release = r)));
    this.tails.set(key, tail);
    await prev;
    try {
      return await fn();
    } finally {
      release();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}

/** The witness core. */
export class Witness {
  readonly name: string;
  readonly verifierKey: string;
  private readonly store: WitnessStore;
  private readonly logs: ReadonlyMap<string, KnownLog>;
  private readonly byHash: Map<string, string>;
  private readonly signer: Signer;
  private readonly now: () => number;
  private readonly warn: (line: string) => void;
  private readonly onAlert: ((alert: Alert) => void) | undefined;
  private readonly stall: ((origin: string) => Promise<void>) | undefined;
  private readonly refreshMs: number;
  private readonly lock = new KeyedLock();

  constructor(opts: WitnessOptions) {
    this.store = opts.store;
    this.logs = opts.logs;
    this.signer = opts.signer;
    this.name = opts.signer.name;
    this.verifierKey = opts.verifierKey;
    this.now = opts.now ?? Date.now;
    this.warn = opts.warn ?? ((line) => console.error(line));
    this.onAlert = opts.onAlert;
    this.stall = opts.testingOnlyStall;
    this.refreshMs = opts.refreshMs ?? 60_000;
    this.byHash = new Map([...this.logs.keys()].map((o) => [originHash(o), o]));
  }

  /** The configured log of `origin`, if any. */
  log(origin: string): KnownLog | undefined {
    return this.logs.get(origin);
  }

  /** Every configured origin. */
  origins(): string[] {
    return [...this.logs.keys()];
  }

  /** The latest cosigned state of `origin`, if any. */
  state(origin: string): CosignedState | undefined {
    return this.store.state(origin);
  }

  /** True while `origin` has an uncleared alert. */
  isHalted(origin: string): boolean {
    return this.store.isHalted(origin);
  }

  /**
   * Parses a checkpoint note and checks it carries a valid signature of its log.
   * @throws LogError MALFORMED (bad note or checkpoint), UNKNOWN_LOG (origin not
   *   configured) or BAD_SIGNATURE (no valid log signature, or a log key's signature fails).
   */
  openSigned(note: string | Uint8Array): SignedCheckpoint {
    const parsed = parseNote(note, { maxSize: MAX_REQUEST_BODY });
    const checkpoint = parseCheckpoint(parsed.text, { allowExtensions: true });
    const log = this.logs.get(checkpoint.origin);
    if (log === undefined) {
      const shown = JSON.stringify(checkpoint.origin.slice(0, 200));
      throw new LogError('UNKNOWN_LOG', `origin ${shown} is not a log this witness knows`);
    }
    const opened = verifyNote(parsed, log.verifiers);
    const text = typeof note === 'string' ? note : fromUtf8(note);
    return { checkpoint, text: parsed.text, note: text, parsed, logSignatures: opened.verified };
  }

  /**
   * Handles an add-checkpoint request body and returns the cosignature line (the 200 body).
   * @throws LogError MALFORMED/TOO_LARGE (400/413), UNKNOWN_LOG (404), BAD_SIGNATURE (403),
   *   OldSizeMismatch (409 + size), CONFLICT (409, same size other root), PROOF_FAILED
   *   (422); WitnessError HALTED (403).
   */
  async addCheckpoint(body: Uint8Array | string): Promise<string> {
    const req = parseAddCheckpointRequest(body);
    const cp = this.openSigned(req.note);
    if (req.old > cp.checkpoint.size) {
      // Still evidence if it conflicts with what was cosigned at its size.
      await this.lock.run(cp.checkpoint.origin, () => this.compare(cp, 'add-checkpoint'));
      throw new LogError('MALFORMED', `old size ${req.old} exceeds the checkpoint size ${cp.checkpoint.size}`);
    }
    return this.advance(cp, req.old, req.proof, 'add-checkpoint');
  }

  /**
   * The one state transition (module comment): cosigns `cp` if `oldSize` is the stored
   * size and `proof` proves `cp` extends the stored checkpoint; persists, then returns the
   * cosignature line. Throws as addCheckpoint.
   */
  async advance(cp: SignedCheckpoint, oldSize: number, proof: readonly Uint8Array[], source: string): Promise<string> {
    const { origin, size, rootHash } = cp.checkpoint;
    return this.lock.run(origin, async () => {
      if (this.store.isHalted(origin)) {
        throw new WitnessError('HALTED', `${origin} is halted by an alert; see /v1/alerts`);
      }
      const verdict = await this.compare(cp, source);
      const stored = this.store.state(origin);
      const storedSize = stored?.size ?? 0;
      if (oldSize !== storedSize) throw new OldSizeMismatch(storedSize, oldSize);
      if (verdict === 'conflict') {
        throw new LogError('CONFLICT', `size ${size} was already cosigned with another root hash`);
      }
      if (size === 0 && !equalBytes(rootHash, EMPTY_ROOT)) {
        throw new LogError('PROOF_FAILED', 'a checkpoint of size 0 must have the empty tree root');
      }
      if (oldSize === 0) {
        if (proof.length > 0) throw new LogError('PROOF_FAILED', 'the proof from old size 0 must be empty');
      } else {
        verifyConsistency(oldSize, size, proof, stored!.rootHash, rootHash);
      }
      if (this.stall !== undefined) await this.stall(origin);
      const line = formatSignatureLine(this.signer.name, this.signer.keyId, this.signer.sign(utf8(cp.text)));
      const note = `${cp.text}\n${cp.logSignatures.map((s) => s.line).join('')}${line}`;
      // The latest checkpoint again (its root matched, or the proof check above failed):
      // the fresh cosignature is answered without a write, unless the stored note is due
      // for its refresh.
      const now = this.now();
      if (stored !== undefined && size === stored.size && now - stored.updated < this.refreshMs) return line;
      await this.store.commit(origin, stored?.size, { size, rootHash, note, updated: now });
      return line;
    });
  }

  /**
   * Compares a log-signed checkpoint with what this witness cosigned at the same size (the
   * latest state or the bounded history). A different root is evidence: raises a
   * `conflicting-root` alert and answers 'conflict'.
   */
  async compare(cp: SignedCheckpoint, source: string): Promise<Verdict> {
    const { origin, size, rootHash } = cp.checkpoint;
    const stored = this.store.state(origin);
    if (stored === undefined || size > stored.size) return 'unknown';
    const ref = size === stored.size ? stored : await this.store.history(origin, size);
    if (ref === undefined) return 'unknown';
    if (equalBytes(ref.rootHash, rootHash)) return 'match';
    await this.raiseAlert({
      origin,
      kind: 'conflicting-root',
      source,
      detail:
        `the log signed two different root hashes for tree size ${size}: ` +
        `${toBase64(ref.rootHash)}, which this witness cosigned, and ${toBase64(rootHash)} (${source})`,
      evidence: [ref.note, cp.note],
    });
    return 'conflict';
  }

  /**
   * Records an alert (once per evidence), halts its origin, then logs the ALERT line and
   * tells onAlert. Resolves once the alert is durable.
   * @returns whether the alert is new.
   */
  async raiseAlert(input: AlertInput): Promise<boolean> {
    const alert = makeAlert(input, this.now());
    const fresh = await this.store.addAlert(alert);
    if (fresh) {
      this.warn(formatAlertLine(alert));
      this.onAlert?.(alert);
    }
    return fresh;
  }

  /** Every alert, oldest first. */
  alerts(): Alert[] {
    return this.store.alerts();
  }

  /**
   * Clears the alerts of `origin` and lets it be cosigned again.
   * @throws LogError UNKNOWN_LOG when the origin is neither configured nor alerted.
   */
  async clear(origin: string): Promise<number> {
    if (!this.logs.has(origin) && !this.store.alerts().some((a) => a.origin === origin)) {
      throw new LogError('UNKNOWN_LOG', `origin ${JSON.stringify(origin.slice(0, 200))} is not known`);
    }
    return this.store.clear(origin, new Date(this.now()).toISOString());
  }

  /** The latest cosigned note of the origin whose SHA-256 is `hexHash`, if any. */
  checkpointByHash(hexHash: string): string | undefined {
    const origin = this.byHash.get(hexHash);
    return origin === undefined ? undefined : this.store.state(origin)?.note;
  }

  /** The /v1/status document. */
  status(): WitnessStatus {
    const alerts = this.store.alerts();
    return {
      name: this.name,
      verifierKey: this.verifierKey,
      logs: this.origins().map((origin) => {
        const s = this.store.state(origin);
        return {
          origin,
          size: s?.size ?? null,
          rootHash: s === undefined ? null : toBase64(s.rootHash),
          lastUpdate: s === undefined ? null : new Date(s.updated).toISOString(),
          halted: this.store.isHalted(origin),
          alerts: alerts.filter((a) => a.origin === origin).length,
        };
      }),
    };
  }
}

/** GET /v1/status. Size, root and time are null until the origin was first cosigned. */
export interface WitnessStatus {
  name: string;
  verifierKey: string;
  logs: Array<{
    origin: string;
    size: number | null;
    rootHash: string | null;
    lastUpdate: string | null;
    halted: boolean;
    alerts: number;
  }>;
}
