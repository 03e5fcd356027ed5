/**
 * Pull mode: the witness fetches `<log URL>/checkpoint` itself, proves consistency from
 * the checkpoint it last cosigned using the log's own hash tiles (HttpTileReader, never a
 * proof API), and advances through the same compare-and-swap as add-checkpoint.
 *
 * - Larger than the stored checkpoint: proof from tiles, then Witness.advance. A proof
 *   that does not verify is evidence (`inconsistent` alert) and nothing is cosigned.
 * - Same size: same root required (else `conflicting-root`); re-cosigned for freshness at
 *   most every `refreshMs`.
 * - Smaller: never cosigned. Matching the history: a stale copy, ignored. Conflicting
 *   with it: alert. Not in the history: proven against the stored checkpoint from tiles.
 * - Anything that cannot be fetched (log down, tiles not served yet, timeouts) is
 *   inconclusive: no alert, retried on the next poll.
 */
import { EMPTY_ROOT } from '../merkle/hash.js';
import { proveConsistencyAsync, treeRootAsync } from '../merkle/tree.js';
import { verifyConsistency } from '../merkle/verify.js';
import { FullTileCache, HttpTileReader, fetchBytes, type FetchFn } from '../client/tile-reader.js';
import { equalBytes } from '../util/bytes.js';
import { LogError, isLogError } from '../util/errors.js';
import type { KnownLog } from './config.js';
import { WitnessError } from './errors.js';
import { MAX_REQUEST_BODY } from './request.js';
import type { SignedCheckpoint, Witness } from './witness.js';

/** What one pull did. */
export type PullOutcome =
  | 'first' // nothing was stored: the log's checkpoint was cosigned (trust on first use)
  | 'advanced' // a larger checkpoint was proven consistent and cosigned
  | 'refreshed' // the same checkpoint was re-cosigned with a fresh timestamp
  | 'unchanged' // the same checkpoint, cosigned recently enough
  | 'stale' // a smaller checkpoint consistent with what was cosigned: ignored
  | 'alert' // evidence of misbehaviour was recorded
  | 'inconclusive' // something could not be fetched or raced: try again later
  | 'halted' // the origin has an uncleared alert: not pulled
  | 'push-only'; // no URL configured for this log

/** A tree head: what consistency is proven between. */
export interface TreeHead {
  size: number;
  rootHash: Uint8Array;
}

/** The result of checking two tree heads against the log's tiles. */
export type TileVerdict =
  | { kind: 'consistent'; proof: Uint8Array[] }
  | { kind: 'inconsistent'; detail: string }
  | { kind: 'inconclusive'; reason: string };

/** Options for Puller. */
export interface PullerOptions {
  witness: Witness;
  fetch: FetchFn;
  /** Bound on each HTTP exchange, in ms; default 10000. */
  timeoutMs?: number;
  /** Least time between re-cosignings of an unchanged checkpoint, in ms; default 60000. */
  refreshMs?: number;
  now?: () => number;
  /** Where problems are reported (once per change of message, per log). */
  warn?: (line: string) => void;
}

/** Pulls checkpoints from logs and checks tree heads against their tiles. */
export class Puller {
  private readonly witness: Witness;
  private readonly fetchFn: FetchFn;
  private readonly timeoutMs: number;
  private readonly refreshMs: number;
  private readonly now: () => number;
  private readonly warnFn: (line: string) => void;
  private readonly caches = new Map<string, FullTileCache>();
  private readonly pulling = new Map<string, Promise<PullOutcome>>();
  private readonly lastWarning = new Map<string, string>();

  constructor(opts: PullerOptions) {
    this.witness = opts.witness;
    this.fetchFn = opts.fetch;
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    this.refreshMs = opts.refreshMs ?? 60_000;
    this.now = opts.now ?? Date.now;
    this.warnFn = opts.warn ?? ((line) => console.error(line));
  }

  /** Pulls `origin` once; concurrent calls for one origin share one pull. Never rejects. */
  pullOnce(origin: string): Promise<PullOutcome> {
    const running = this.pulling.get(origin);
    if (running !== undefined) return running;
    const p = this.pull(origin)
      .then((outcome) => {
        if (outcome !== 'inconclusive') this.lastWarning.delete(origin);
        return outcome;
      })
      .catch((err: unknown): PullOutcome => {
        this.warn(origin, `candor witness: pull ${origin}: ${describe(err)}`);
        return 'inconclusive';
      })
      .finally(() => this.pulling.delete(origin));
    this.pulling.set(origin, p);
    return p;
  }

  /**
   * Fetches and authenticates the log's latest checkpoint.
   * @throws LogError TIMEOUT / TOO_LARGE / NOT_FOUND on fetch problems; MALFORMED,
   *   UNKNOWN_LOG (another origin) or BAD_SIGNATURE for a bad checkpoint.
   */
  async fetchCheckpoint(log: KnownLog & { url: string }): Promise<SignedCheckpoint> {
    const url = `${log.url}/checkpoint`;
    const res = await fetchBytes(this.fetchFn, url, { timeoutMs: this.timeoutMs, maxBytes: MAX_REQUEST_BODY });
    if (res.status !== 200) throw new LogError('NOT_FOUND', `GET ${url}: HTTP ${res.status}`);
    const cp = this.witness.openSigned(res.body);
    if (cp.checkpoint.origin !== log.origin) {
      throw new LogError('UNKNOWN_LOG', `GET ${url} served a checkpoint of ${cp.checkpoint.origin}`);
    }
    return cp;
  }

  /**
   * Checks that `large` extends `small` (small.size ≤ large.size, both log-signed) with a
   * consistency proof built from the log's tiles for large.size.
   */
  async proveFromTiles(origin: string, small: TreeHead, large: TreeHead): Promise<TileVerdict> {
    const url = this.witness.log(origin)?.url;
    if (url === undefined) return { kind: 'inconclusive', reason: 'no URL for this log' };
    if (small.size === large.size) {
      return equalBytes(small.rootHash, large.rootHash)
        ? { kind: 'consistent', proof: [] }
        : { kind: 'inconsistent', detail: `two roots for tree size ${small.size}` };
    }
    if (small.size === 0) {
      return equalBytes(small.rootHash, EMPTY_ROOT)
        ? { kind: 'consistent', proof: [] }
        : { kind: 'inconclusive', reason: 'a size-0 checkpoint with a non-empty root' };
    }
    const reader = this.reader(origin, url, large.size);
    let proof: Uint8Array[];
    try {
      proof = await proveConsistencyAsync(small.size, large.size, reader);
    } catch (err) {
      return { kind: 'inconclusive', reason: `tiles for size ${large.size}: ${describe(err)}` };
    }
    try {
      verifyConsistency(small.size, large.size, proof, small.rootHash, large.rootHash);
      return { kind: 'consistent', proof };
    } catch (err) {
      if (!isLogError(err, 'PROOF_FAILED')) throw err;
    }
    // Say which: is the larger tree what the tiles hold (so the smaller was rewritten)?
    let tilesMatch: boolean | undefined;
    try {
      tilesMatch = equalBytes(await treeRootAsync(large.size, reader), large.rootHash);
    } catch {
      tilesMatch = undefined;
    }
    let detail =
      `the log's tiles do not prove that its checkpoint of size ${large.size} ` +
      `extends its checkpoint of size ${small.size}`;
    if (tilesMatch === true) detail += `; they match the root of size ${large.size}, so the first ${small.size} entries differ`;
    if (tilesMatch === false) detail += `; they do not even match the log's signed root of size ${large.size}`;
    return { kind: 'inconsistent', detail };
  }

  private async pull(origin: string): Promise<PullOutcome> {
    const log = this.witness.log(origin);
    if (log?.url === undefined) return 'push-only';
    if (this.witness.isHalted(origin)) return 'halted';
    const cp = await this.fetchCheckpoint({ ...log, url: log.url });
    const stored = this.witness.state(origin);
    if (stored !== undefined && cp.checkpoint.size <= stored.size) return this.notLarger(cp);
    if (cp.checkpoint.size === 0 && !equalBytes(cp.checkpoint.rootHash, EMPTY_ROOT)) {
      this.warn(origin, `candor witness: pull ${origin}: a size-0 checkpoint with a non-empty root`);
      return 'inconclusive';
    }
    let proof: Uint8Array[] = [];
    if (stored !== undefined) {
      const verdict = await this.proveFromTiles(origin, stored, cp.checkpoint);
      if (verdict.kind === 'inconclusive') {
        this.warn(origin, `candor witness: pull ${origin}: ${verdict.reason}`);
        return 'inconclusive';
      }
      if (verdict.kind === 'inconsistent') {
        const evidence: [string, string] = [stored.note, cp.note];
        await this.witness.raiseAlert({ origin, kind: 'inconsistent', source: 'pull', detail: verdict.detail, evidence });
        return 'alert';
      }
      proof = verdict.proof;
    }
    try {
      await this.witness.advance(cp, stored?.size ?? 0, proof, 'pull');
      return stored === undefined ? 'first' : 'advanced';
    } catch (err) {
      return this.raced(err);
    }
  }

  // The log's checkpoint is not larger than the stored one.
  private async notLarger(cp: SignedCheckpoint): Promise<PullOutcome> {
    const { origin, size } = cp.checkpoint;
    const stored = this.witness.state(origin)!;
    const verdict = await this.witness.compare(cp, 'pull');
    if (verdict === 'conflict') return 'alert';
    if (verdict === 'match' && size < stored.size) return 'stale';
    if (verdict === 'match') {
      if (this.now() - stored.updated < this.refreshMs) return 'unchanged';
      try {
        await this.witness.advance(cp, stored.size, [], 'pull');
        return 'refreshed';
      } catch (err) {
        return this.raced(err);
      }
    }
    const result = await this.proveFromTiles(origin, cp.checkpoint, stored);
    if (result.kind === 'consistent') return 'stale';
    if (result.kind === 'inconclusive') {
      this.warn(origin, `candor witness: pull ${origin}: the log went back to size ${size}: ${result.reason}`);
      return 'inconclusive';
    }
    await this.witness.raiseAlert({
      origin,
      kind: 'inconsistent',
      source: 'pull',
      detail: result.detail,
      evidence: [stored.note, cp.note],
    });
    return 'alert';
  }

  // advance() refused for a reason that is not evidence: another request moved the state
  // (409; the proof was then from an older size: 422), or an alert halted the origin.
  private raced(err: unknown): PullOutcome {
    if (err instanceof WitnessError && err.code === 'HALTED') return 'halted';
    if (isLogError(err, 'CONFLICT') || isLogError(err, 'PROOF_FAILED')) return 'inconclusive';
    throw err;
  }

  private reader(origin: string, url: string, size: number): HttpTileReader {
    let cache = this.caches.get(origin);
    if (cache === undefined) {
      cache = new FullTileCache(256);
      this.caches.set(origin, cache);
    }
    return new HttpTileReader(url, size, { fetch: this.fetchFn, cache, timeoutMs: this.timeoutMs });
  }

  // Reports a problem once, until the message changes or a pull succeeds.
  private warn(origin: string, line: string): void {
    if (this.lastWarning.get(origin) === line) return;
    this.lastWarning.set(origin, line);
    this.warnFn(line);
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
