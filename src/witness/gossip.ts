/**
 * Gossip between witnesses, to catch a log that shows different views to different
 * witnesses (a split view). Every round, for each peer, this witness
 *
 * - fetches the peer's latest cosigned checkpoint of every configured origin
 *   (`GET <peer>/<hex SHA-256(origin)>/checkpoint`, the tlog-witness monitoring path), and
 * - pushes its own latest cosigned checkpoints to the peer (`POST <peer>/v1/gossip`, body:
 *   one signed note; the receiver requires a valid log signature and a valid cosignature
 *   by one of ITS configured peers, else 403).
 *
 * Every checkpoint received is `examine`d against this witness's own view: the same size
 * needs the same root; other sizes must be proven consistent from the log's tiles (the
 * smaller into the larger). When the peer is ahead, the log's latest checkpoint is pulled
 * (and cosigned) first, so that the log's tiles can cover the larger size. A check that
 * cannot complete (the log does not serve tiles for that size yet, a timeout) is
 * inconclusive: no alert, retried next round. Two log-signed checkpoints that cannot both
 * be true raise an alert holding both notes, which halts the origin (witness.ts).
 */
import { fetchBytes, type FetchFn } from '../client/tile-reader.js';
import { verifyNote } from '../note/note.js';
import { toBase64 } from '../util/bytes.js';
import { LogError } from '../util/errors.js';
import type { KnownPeer } from './config.js';
import { MAX_REQUEST_BODY } from './request.js';
import type { Puller } from './pull.js';
import type { SignedCheckpoint, Witness } from './witness.js';
import { originHash } from './witness-store.js';

/** What examining a checkpoint concluded. */
export type ExamineOutcome = 'consistent' | 'alert' | 'inconclusive';

/** Options for Gossip. */
export interface GossipOptions {
  witness: Witness;
  puller: Puller;
  peers: readonly KnownPeer[];
  fetch: FetchFn;
  /** Bound on each fetch from a peer, in ms (a push waits three times as long); default 10000. */
  timeoutMs?: number;
  /** Where problems with peers are reported (once per change of message, per peer). */
  warn?: (line: string) => void;
}

/** Most (origin, size, root, our size) results remembered as proven consistent. */
const PROVEN_MAX = 4096;

/** Exchanges cosigned checkpoints with peer witnesses and checks them. */
export class Gossip {
  private readonly witness: Witness;
  private readonly puller: Puller;
  /** The configured peer witnesses. */
  readonly peers: readonly KnownPeer[];
  private readonly fetchFn: FetchFn;
  private readonly timeoutMs: number;
  private readonly warnFn: (line: string) => void;
  private readonly proven = new Set<string>();
  private readonly lastWarning = new Map<string, string>();
  private round: Promise<void> | undefined;

  constructor(opts: GossipOptions) {
    this.witness = opts.witness;
    this.puller = opts.puller;
    this.peers = opts.peers;
    this.fetchFn = opts.fetch;
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    this.warnFn = opts.warn ?? ((line) => console.error(line));
  }

  /**
   * Compares a log-signed checkpoint with this witness's view (module comment). Raises an
   * alert on evidence. Rejects only on storage failures.
   */
  async examine(cp: SignedCheckpoint, source: string): Promise<ExamineOutcome> {
    const { origin, size, rootHash } = cp.checkpoint;
    const key = (ours: number): string => `${origin}\n${size}\n${toBase64(rootHash)}\n${ours}`;
    let stored = this.witness.state(origin);
    if (stored !== undefined && this.proven.has(key(stored.size))) return 'consistent';
    let verdict = await this.witness.compare(cp, source);
    if (verdict === 'unknown' && (stored === undefined || size > stored.size) && !this.witness.isHalted(origin)) {
      await this.puller.pullOnce(origin);
      stored = this.witness.state(origin);
      verdict = await this.witness.compare(cp, source);
    }
    if (verdict === 'conflict') return 'alert';
    if (verdict === 'match') return 'consistent';
    if (stored === undefined) return 'inconclusive';
    const [small, large] = size < stored.size ? [cp.checkpoint, stored] : [stored, cp.checkpoint];
    const result = await this.puller.proveFromTiles(origin, small, large);
    if (result.kind === 'inconclusive') return 'inconclusive';
    if (result.kind === 'consistent') {
      if (this.proven.size >= PROVEN_MAX) this.proven.clear();
      this.proven.add(key(stored.size));
      return 'consistent';
    }
    const evidence: [string, string] = [stored.note, cp.note];
    await this.witness.raiseAlert({ origin, kind: 'inconsistent', source, detail: result.detail, evidence });
    return 'alert';
  }

  /**
   * Handles a POST /v1/gossip body: a checkpoint note that must carry a valid log signature
   * and a valid cosignature by a configured peer; then examines it.
   * @throws LogError MALFORMED (400), UNKNOWN_LOG (404), BAD_SIGNATURE (403: no valid log
   *   signature, or no valid cosignature by a configured peer).
   */
  async receive(body: Uint8Array): Promise<{ result: ExamineOutcome; peer: string }> {
    const cp = this.witness.openSigned(body);
    let peer: string;
    try {
      peer = verifyNote(cp.parsed, this.peers.map((p) => p.verifier)).verified[0]!.name;
    } catch {
      throw new LogError('BAD_SIGNATURE', 'the checkpoint has no valid cosignature by a peer of this witness');
    }
    return { result: await this.examine(cp, `gossip from ${peer}`), peer };
  }

  /** One gossip round with every peer; a round still running is joined. Never rejects. */
  gossipOnce(): Promise<void> {
    this.round ??= Promise.allSettled(this.peers.map((p) => this.withPeer(p))).then(() => {
      this.round = undefined;
    });
    return this.round;
  }

  private async withPeer(peer: KnownPeer): Promise<void> {
    const problems: string[] = [];
    for (const origin of this.witness.origins()) {
      try {
        await this.fetchFromPeer(peer, origin);
      } catch (err) {
        problems.push(`fetching ${origin}: ${describe(err)}`);
      }
      try {
        await this.pushToPeer(peer, origin);
      } catch (err) {
        problems.push(`pushing ${origin}: ${describe(err)}`);
      }
    }
    const line = problems.length === 0 ? '' : `candor witness: gossip with ${peer.name} (${peer.url}): ${problems.join('; ')}`;
    if (this.lastWarning.get(peer.url) !== line && line !== '') this.warnFn(line);
    this.lastWarning.set(peer.url, line);
  }

  /**
   * Fetches a peer's latest cosigned checkpoint of `origin` and examines it; 'none' when
   * the peer has none.
   * @throws LogError on fetch failures, a bad note, or a missing or bad peer cosignature.
   */
  async fetchFromPeer(peer: KnownPeer, origin: string): Promise<ExamineOutcome | 'none'> {
    const url = `${peer.url}/${originHash(origin)}/checkpoint`;
    const res = await fetchBytes(this.fetchFn, url, { timeoutMs: this.timeoutMs, maxBytes: MAX_REQUEST_BODY });
    if (res.status === 404) return 'none';
    if (res.status !== 200) throw new LogError('NOT_FOUND', `GET ${url}: HTTP ${res.status}`);
    const cp = this.witness.openSigned(res.body);
    if (cp.checkpoint.origin !== origin) {
      throw new LogError('MALFORMED', `GET ${url} served a checkpoint of another origin`);
    }
    verifyNote(cp.parsed, [peer.verifier]); // BAD_SIGNATURE unless the peer cosigned it
    return this.examine(cp, `gossip from ${peer.name}`);
  }

  /** Pushes this witness's latest cosigned checkpoint of `origin` to a peer, if any. */
  async pushToPeer(peer: KnownPeer, origin: string): Promise<void> {
    const state = this.witness.state(origin);
    if (state === undefined) return;
    const url = `${peer.url}/v1/gossip`;
    const res = await fetchBytes(this.fetchFn, url, {
      method: 'POST',
      body: state.note,
      headers: { 'Content-Type': 'text/plain; charset=utf-8' },
      timeoutMs: 3 * this.timeoutMs,
      maxBytes: 64 * 1024,
    });
    // 404: the peer does not witness this log, which is its choice.
    if (res.status !== 200 && res.status !== 404) {
      throw new LogError('NOT_FOUND', `POST ${url}: HTTP ${res.status}: ${new TextDecoder().decode(res.body).slice(0, 200)}`);
    }
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
