/**
 * A client for one candor log (or any c2sp.org/tlog-tiles log, for checkpoints, tiles and
 * entries) that never hands back anything it has not verified:
 * - checkpoints are opened against the trust policy (log signature, origin, cosignature
 *   quorum), and every new one must be consistent with the largest this client has seen,
 *   so the log cannot show it a fork or a rollback;
 * - entries and tiles are authenticated against a verified checkpoint's root
 *   (VerifiedTileReader);
 * - proofs from `/v1/proof/*` are verified before they are returned.
 *
 * Methods taking a checkpoint use the size and root this client verified for that object
 * (or re-verify its `note` when it was verified elsewhere), never fields a caller may have
 * changed. Isomorphic: runs in browsers; `fetch` can be injected.
 *
 * @example
 * const client = new LogClient({ url: 'https://log.example', policy: policyText });
 * const cp = await client.checkpoint();
 * for await (const { index, entry } of client.entries(0, cp.size, cp)) console.log(index, entry);
 */
import { leafHash as hashLeaf } from '../merkle/hash.js';
import { verifyConsistency, verifyInclusion } from '../merkle/verify.js';
import { DEFAULT_MAX_NOTE_SIZE } from '../note/note.js';
import { equalBytes, fromUtf8, toBase64 } from '../util/bytes.js';
import { LogError } from '../util/errors.js';
import { assertIndex } from '../util/integers.js';
import { openCheckpointWithPolicy, type VerifiedCheckpoint } from './open.js';
import { formatProofFile } from './proof-file.js';
import { selectLog, type Policy } from './policy.js';
import { DEFAULT_FETCH_TIMEOUT_MS, type FetchFn } from './tile-reader.js';
import { TILE_WIDTH } from '../merkle/tiles.js';
import { httpGet, proofAnswer } from './http.js';
import { VerifiedTileReader, type TrustedTree } from './verified-tiles.js';

/** Options for LogClient: the log's URL and whom to trust (`policy` or `verifierKey`). */
export interface LogClientOptions {
  /** The log's URL prefix; default the policy log's URL. */
  url?: string;
  /** The trust policy (c2sp.org/tlog-policy), parsed or as text. */
  policy?: Policy | string;
  /**
   * The log's verifier key. Alone: trusted with no witness required (`quorum none`). With a
   * policy: the log to use, added to the policy's logs when it does not list it (tlog-policy
   * allows policies without logs when the log is known from elsewhere).
   */
  verifierKey?: string;
  /** The log's origin; needed only when the policy lists several logs. */
  origin?: string;
  /** The fetch to use; default the global fetch. */
  fetch?: FetchFn;
  /** Current time in milliseconds (for cosignature timestamps); default Date.now. */
  now?: () => number;
  /** Bound on each request in milliseconds; default 10 s. */
  timeoutMs?: number;
}

/** A verified inclusion proof. */
export interface InclusionProof {
  index: number;
  size: number;
  leafHash: Uint8Array;
  hashes: Uint8Array[];
}

interface Trusted extends TrustedTree {
  note: string;
}

const MAX_JSON = 64 * 1024;

/**
 * A verifying client for one log: see the module comment for what each method checks.
 * @example
 * const client = new LogClient({ url: 'https://log.example', verifierKey: 'log.example+…' });
 * const cp = await client.checkpoint();
 * const entry = await client.entry(0, cp);
 */
export class LogClient {
  /** The log's URL prefix, without a trailing slash. */
  readonly url: string;
  readonly policy: Policy;
  /** The origin this client accepts checkpoints for. */
  readonly origin: string;
  /** Authenticated access to the log's tiles and entry bundles. */
  readonly tiles: VerifiedTileReader;
  private readonly fetchFn: FetchFn;
  private readonly now: () => number;
  private readonly timeoutMs: number;
  private readonly trusted = new WeakMap<object, Trusted>();
  private latest: VerifiedCheckpoint | undefined;

  /**
   * Does no I/O.
   * @throws TypeError when neither policy nor verifierKey is given, or the log or its URL
   *   cannot be determined; LogError MALFORMED for a bad policy or key.
   */
  constructor(options: LogClientOptions) {
    const { policy, log } = selectLog(options);
    const url = options.url ?? log.url;
    if (url === undefined) throw new TypeError('LogClient needs a url (none in the policy)');
    this.url = url.replace(/\/+$/, '');
    this.policy = policy;
    this.origin = log.name;
    this.fetchFn = options.fetch ?? ((u, init) => globalThis.fetch(u, init));
    this.now = options.now ?? Date.now;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_FETCH_TIMEOUT_MS;
    this.tiles = new VerifiedTileReader(this.url, {
      fetch: this.fetchFn,
      timeoutMs: this.timeoutMs,
    });
  }

  /**
   * Fetches the log's latest checkpoint, opens it against the policy, and checks it is
   * consistent with the largest checkpoint this client verified before.
   * @throws LogError MALFORMED, UNKNOWN_LOG, BAD_SIGNATURE, QUORUM_NOT_MET; PROOF_FAILED
   *   when it is not consistent with an earlier one; HTTP failures (NOT_FOUND, PUSHBACK,
   *   TIMEOUT, TOO_LARGE).
   * @example
   * const cp = await client.checkpoint();
   * console.log(cp.size, cp.witnesses.map((w) => w.name));
   */
  async checkpoint(): Promise<VerifiedCheckpoint> {
    const cp = this.verifyCheckpoint(await this.get('checkpoint', DEFAULT_MAX_NOTE_SIZE));
    const prev = this.latest;
    if (prev === undefined || cp.size >= prev.size) {
      if (prev !== undefined) await this.consistencyProof(prev, cp);
      this.latest = cp;
    } else {
      await this.consistencyProof(cp, prev); // an older (cached) checkpoint: still a prefix
    }
    return cp;
  }

  /**
   * Opens a checkpoint note obtained elsewhere (e.g. stored by a monitor) against the
   * client's policy and origin. Does no I/O.
   * @throws LogError MALFORMED, UNKNOWN_LOG, BAD_SIGNATURE or QUORUM_NOT_MET.
   */
  verifyCheckpoint(note: string | Uint8Array): VerifiedCheckpoint {
    const text = typeof note === 'string' ? note : fromUtf8(note, 'checkpoint');
    const cp = openCheckpointWithPolicy(text, this.policy, { now: this.now, origin: this.origin });
    this.trusted.set(cp, { size: cp.size, rootHash: new Uint8Array(cp.rootHash), note: text });
    return Object.freeze(cp);
  }

  /**
   * Entry `index` of `checkpoint`'s tree, from its entry bundle, checked against the
   * authenticated level-0 tile.
   * @throws LogError NOT_FOUND when index ≥ checkpoint size; ENTRY_MISMATCH or PROOF_FAILED
   *   when the log lies; MALFORMED and HTTP failures.
   * @example
   * const bytes = await client.entry(42, cp);
   */
  async entry(index: number, checkpoint: VerifiedCheckpoint): Promise<Uint8Array> {
    const t = this.tree(checkpoint);
    checkRange(index, index + 1, t);
    const n = Math.floor(index / TILE_WIDTH);
    const at = index - n * TILE_WIDTH;
    return (await this.tiles.entryBundle(n, t, at, at + 1))[0]!;
  }

  /**
   * Yields entries [start, end) of `checkpoint`'s tree in order, each authenticated (one
   * bundle and one tile check per 256 entries). A monitor uses this to read every new entry.
   * @throws LogError as entry().
   * @example
   * for await (const { index, entry } of client.entries(old.size, cp.size, cp)) check(entry);
   */
  async *entries(
    start: number,
    end: number,
    checkpoint: VerifiedCheckpoint
  ): AsyncGenerator<{ index: number; entry: Uint8Array }> {
    const t = this.tree(checkpoint);
    checkRange(start, end, t);
    let index = start;
    while (index < end) {
      const n = Math.floor(index / TILE_WIDTH);
      const from = index - n * TILE_WIDTH;
      const to = Math.min(TILE_WIDTH, end - n * TILE_WIDTH);
      for (const entry of await this.tiles.entryBundle(n, t, from, to)) {
        yield { index: index++, entry };
      }
    }
  }

  /**
   * The inclusion proof of entry `index` in `checkpoint`'s tree, from `/v1/proof/inclusion`,
   * verified for `leafHash` (default: the leaf hash from the authenticated tile).
   * @throws LogError NOT_FOUND when index ≥ size; PROOF_FAILED when the proof is wrong;
   *   MALFORMED for a bad answer; HTTP failures.
   * @example
   * const { hashes } = await client.inclusionProof(42, cp);
   */
  async inclusionProof(
    index: number,
    checkpoint: VerifiedCheckpoint,
    leafHash?: Uint8Array
  ): Promise<InclusionProof> {
    const t = this.tree(checkpoint);
    checkRange(index, index + 1, t);
    const [hash, answer] = await Promise.all([
      leafHash ?? this.tiles.leafHash(index, t),
      this.getJson(`v1/proof/inclusion?index=${index}&size=${t.size}`),
    ]);
    const hashes = proofAnswer(answer, { index, size: t.size });
    verifyInclusion(hash, index, t.size, hashes, t.rootHash);
    return { index, size: t.size, leafHash: new Uint8Array(hash), hashes };
  }

  /**
   * Finds `entry` in `checkpoint`'s tree (by its leaf hash) and returns its verified
   * inclusion proof.
   * @throws LogError NOT_FOUND when the log does not have it at that size; PROOF_FAILED when
   *   the log's answer does not verify; HTTP failures.
   * @example
   * const { index } = await client.proveEntry(new TextEncoder().encode('{"model":"m"}'), cp);
   */
  async proveEntry(entry: Uint8Array, checkpoint: VerifiedCheckpoint): Promise<InclusionProof> {
    const t = this.tree(checkpoint);
    const hash = hashLeaf(entry);
    const q = `leafHash=${encodeURIComponent(toBase64(hash))}&size=${t.size}`;
    const answer = await this.getJson(`v1/proof/inclusion?${q}`);
    const index = (answer as { index?: unknown }).index;
    if (typeof index !== 'number' || !Number.isSafeInteger(index) || index < 0) {
      throw new LogError('MALFORMED', `${this.url}: inclusion proof answer has no index`);
    }
    const hashes = proofAnswer(answer, { index, size: t.size });
    verifyInclusion(hash, index, t.size, hashes, t.rootHash);
    return { index, size: t.size, leafHash: hash, hashes };
  }

  /**
   * The consistency proof from `older` to `newer` (two checkpoints of this log), from
   * `/v1/proof/consistency`, verified. Empty when older is empty or both are the same size.
   * @throws TypeError when older is larger than newer; LogError PROOF_FAILED when the two
   *   trees are not consistent (a fork); MALFORMED and HTTP failures.
   * @example
   * await client.consistencyProof(savedCheckpoint, await client.checkpoint());
   */
  async consistencyProof(
    older: VerifiedCheckpoint,
    newer: VerifiedCheckpoint
  ): Promise<Uint8Array[]> {
    const a = this.tree(older);
    const b = this.tree(newer);
    if (a.size > b.size) throw new TypeError(`older size ${a.size} exceeds newer size ${b.size}`);
    if (a.size === b.size && !equalBytes(a.rootHash, b.rootHash)) {
      const why = `${this.url}: two different trees of size ${a.size}: the log forked`;
      throw new LogError('PROOF_FAILED', why);
    }
    if (a.size === 0 || a.size === b.size) return [];
    const answer = await this.getJson(`v1/proof/consistency?from=${a.size}&to=${b.size}`);
    const hashes = proofAnswer(answer, { from: a.size, to: b.size });
    verifyConsistency(a.size, b.size, hashes, a.rootHash, b.rootHash);
    return hashes;
  }

  /**
   * A tlog-proof (c2sp.org/tlog-proof) for entry `index` against `checkpoint`, built from
   * verified parts, with the leaf hash as `extra`; check it anywhere with verifyProofFile.
   * @throws LogError as inclusionProof.
   * @example
   * const proofText = await client.proofFile(42, cp);
   */
  async proofFile(index: number, checkpoint: VerifiedCheckpoint): Promise<string> {
    const p = await this.inclusionProof(index, checkpoint);
    const note = this.trusted.get(checkpoint)?.note ?? checkpoint.note;
    return formatProofFile({ extra: p.leafHash, index, proof: p.hashes, checkpoint: note });
  }

  // The size and root this client verified for `cp`, re-verifying its note if needed.
  private tree(cp: VerifiedCheckpoint): Trusted {
    const known = this.trusted.get(cp);
    if (known !== undefined) return known;
    return this.trusted.get(this.verifyCheckpoint(cp.note))!;
  }

  private async get(path: string, maxBytes: number): Promise<string> {
    const url = `${this.url}/${path}`;
    const body = await httpGet(this.fetchFn, url, { maxBytes, timeoutMs: this.timeoutMs });
    return fromUtf8(body!, url);
  }

  private async getJson(path: string): Promise<unknown> {
    const text = await this.get(path, MAX_JSON);
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new LogError('MALFORMED', `${this.url}/${path}: answer is not JSON`);
    }
  }
}

function checkRange(start: number, end: number, t: TrustedTree): void {
  assertIndex(start, 'start');
  assertIndex(end, 'end');
  if (start > end) throw new TypeError(`start ${start} is after end ${end}`);
  if (end > t.size) {
    throw new LogError('NOT_FOUND', `entries up to ${end} are not in the tree of size ${t.size}`);
  }
}
