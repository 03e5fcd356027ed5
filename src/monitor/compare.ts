/**
 * How a checkpoint the log serves relates to the one the monitor trusts, decided from hash
 * tiles authenticated against signed roots (never from the log's word):
 *
 * - larger: the consistency proof is computed from the received tree's tiles (each tile
 *   authenticated against the received root) and must verify against the trusted root;
 *   when it does not, the received tree provably does not contain the trusted one:
 *   `inconsistent`. A tile that does not authenticate is `bad-tiles`;
 * - same size: the root hashes must be equal, else `inconsistent`;
 * - smaller: it must be proven a prefix of the trusted tree from the trusted tree's tiles
 *   (a stale copy); a log that cannot (it no longer serves the tree it signed, or the proof
 *   fails) has rolled back: `rollback`.
 *
 * Time-outs, HTTP 429/5xx and tiles not served (404, except for a rollback) are `retry`.
 */
import type { TrustedTree, VerifiedTileReader } from '../client/verified-tiles.js';
import { proveConsistencyAsync } from '../merkle/tree.js';
import { verifyConsistency } from '../merkle/verify.js';
import { equalBytes } from '../util/bytes.js';
import { isLogError } from '../util/errors.js';
import type { AlertEvidence, AlertKind } from './alerts.js';

/** A verified checkpoint: its tree, its note and the policy witnesses that cosigned it. */
export interface CheckedTree extends TrustedTree {
  note: string;
  witnesses: string[];
}

/** The outcome of compareCheckpoints (or of a failed read). */
export type Verdict =
  | { kind: 'larger' | 'same' | 'stale' }
  | { kind: 'alert'; alert: AlertKind; detail: string; evidence: AlertEvidence }
  | { kind: 'retry'; message: string };

// Errors that say nothing about the log's honesty: retried, never alerts.
const TRANSIENT = new Set(['TIMEOUT', 'PUSHBACK', 'NOT_FOUND']);

/**
 * Classifies a failed read of the log: network-like errors are `retry`; anything else
 * (a tile that does not authenticate, an entry that does not hash to its leaf, a badly
 * framed bundle, an oversized answer) is a `bad-tiles` alert against `received`, the
 * checkpoint the data should match. Rethrows what is not a LogError (a bug).
 */
export function readFailure(err: unknown, what: string, received: string): Verdict {
  if (!isLogError(err)) throw err;
  if (TRANSIENT.has(err.code)) return { kind: 'retry', message: `${what}: ${err.message}` };
  return { kind: 'alert', alert: 'bad-tiles', detail: `${what}: ${err.message}`, evidence: { received } };
}

/**
 * Compares `received` with `trusted` (see the module comment), reading tiles through
 * `tiles` (which caches what it authenticated).
 */
export async function compareCheckpoints(
  tiles: VerifiedTileReader,
  trusted: CheckedTree | undefined,
  received: CheckedTree
): Promise<Verdict> {
  if (trusted === undefined) return { kind: 'larger' };
  const evidence = { trusted: trusted.note, received: received.note };
  if (received.size === trusted.size) {
    if (equalBytes(received.rootHash, trusted.rootHash)) return { kind: 'same' };
    const detail = `two checkpoints of size ${trusted.size} with different root hashes: the log forked`;
    return { kind: 'alert', alert: 'inconsistent', detail, evidence };
  }
  if (received.size > trusted.size) {
    if (trusted.size === 0) return { kind: 'larger' };
    let proof: Uint8Array[];
    try {
      proof = await proveConsistencyAsync(trusted.size, received.size, tiles.nodeReader(received));
    } catch (err) {
      return readFailure(err, `reading the tiles of tree size ${received.size}`, received.note);
    }
    try {
      verifyConsistency(trusted.size, received.size, proof, trusted.rootHash, received.rootHash);
      return { kind: 'larger' };
    } catch (err) {
      if (!isLogError(err, 'PROOF_FAILED')) throw err;
      const detail =
        `the log's checkpoint of size ${received.size} does not extend the trusted checkpoint ` +
        `of size ${trusted.size}: its tiles match its own signed root but not the trusted ` +
        `tree (a fork or a rewritten history)`;
      return { kind: 'alert', alert: 'inconsistent', detail, evidence };
    }
  }
  if (received.size === 0) return { kind: 'stale' };
  try {
    const reader = tiles.nodeReader(trusted);
    const proof = await proveConsistencyAsync(received.size, trusted.size, reader);
    verifyConsistency(received.size, trusted.size, proof, received.rootHash, trusted.rootHash);
    return { kind: 'stale' };
  } catch (err) {
    if (!isLogError(err)) throw err;
    if (err.code === 'TIMEOUT' || err.code === 'PUSHBACK') {
      return { kind: 'retry', message: `proving a smaller checkpoint: ${err.message}` };
    }
    const detail =
      `the log served a checkpoint of size ${received.size}, smaller than the trusted size ` +
      `${trusted.size}, and cannot prove it is a prefix of the trusted tree: ${err.message}`;
    return { kind: 'alert', alert: 'rollback', detail, evidence };
  }
}
