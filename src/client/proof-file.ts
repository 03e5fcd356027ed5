/**
 * Offline proofs of logging (c2sp.org/tlog-proof, `.tlog-proof` files): a checkpoint with
 * its cosignatures, the index of an entry and its RFC 6962 inclusion proof, so anyone with
 * the entry and a trust policy can check the entry was logged, with no network access.
 *
 *     c2sp.org/tlog-proof@v1
 *     extra <base64 opaque data>          optional
 *     index <decimal, no leading zeros>
 *     <base64 proof hash>                 zero or more, from the leaf's sibling up
 *
 *     <checkpoint note, verbatim, with its signature and cosignature lines>
 *
 * Parsing is strict: exact header, canonical decimal and base64, 32-byte hashes (at most
 * 63), a non-empty `extra`, no control characters but newline, and a note and checkpoint
 * that pass the strict note and checkpoint parsers.
 *
 * The `extra` line candor writes. The spec leaves `extra` to the application and says it is
 * not authenticated. candor puts the entry's 32-byte leaf hash there, and uses it for one
 * thing only: when the given entry does not verify, a 32-byte `extra` that DOES verify at
 * that index proves the log holds another entry there, so the failure is ENTRY_MISMATCH
 * (wrong entry) rather than PROOF_FAILED (bad proof). `extra` never makes anything pass,
 * and a proof without it reports any failure as PROOF_FAILED, as the two cannot be told
 * apart then.
 */
import { leafHash } from '../merkle/hash.js';
import { MAX_PROOF_HASHES, verifyInclusion } from '../merkle/verify.js';
import { parseCheckpoint } from '../checkpoint/checkpoint.js';
import { DEFAULT_MAX_NOTE_SIZE, parseNote } from '../note/note.js';
import { fromBase64, fromUtf8, toBase64, toHex } from '../util/bytes.js';
import { LogError, isLogError } from '../util/errors.js';
import { parseDecimal } from '../util/integers.js';
import {
  openCheckpointWithPolicy,
  type OpenWithPolicyOptions,
  type VerifiedCheckpoint,
} from './open.js';
import type { Policy } from './policy.js';

/** The first line of every proof. */
export const PROOF_HEADER = 'c2sp.org/tlog-proof@v1';

/** The parts of a tlog-proof. */
export interface ProofFile {
  /** Opaque, unauthenticated data (candor: the entry's leaf hash); absent when none. */
  extra?: Uint8Array;
  index: number;
  /** The inclusion proof, from the leaf's sibling up to the root's child. */
  proof: Uint8Array[];
  /** The checkpoint note, verbatim (ends in a newline). */
  checkpoint: string;
}

/** The result of verifyProofFile: what was proven. */
export interface VerifiedProof {
  index: number;
  leafHash: Uint8Array;
  checkpoint: VerifiedCheckpoint;
  /** The policy witnesses that cosigned (same as checkpoint.witnesses). */
  witnesses: VerifiedCheckpoint['witnesses'];
}

// eslint-disable-next-line no-control-regex
const CONTROL_RE = /[\x00-\x1f\x7f]/;

function malformed(why: string): LogError {
  return new LogError('MALFORMED', `malformed tlog-proof: ${why}`);
}

/**
 * Formats a tlog-proof.
 * @throws TypeError on a bad index, a hash that is not 32 bytes, more than 63 hashes or an
 *   empty `extra`; LogError MALFORMED when `checkpoint` is not a well-formed checkpoint note.
 * @example
 * const text = formatProofFile({ index: 5, proof, checkpoint: note, extra: leafHash(entry) });
 */
export function formatProofFile(p: ProofFile): string {
  if (!Number.isSafeInteger(p.index) || p.index < 0) {
    throw new TypeError(`proof index must be a safe non-negative integer, got ${String(p.index)}`);
  }
  if (p.proof.length > MAX_PROOF_HASHES) throw new TypeError('more than 63 proof hashes');
  for (const h of p.proof) {
    if (h.length !== 32) throw new TypeError('proof hashes must be 32 bytes');
  }
  if (p.extra !== undefined && p.extra.length === 0) throw new TypeError('empty extra data');
  parseCheckpoint(parseNote(p.checkpoint).text);
  const extra = p.extra === undefined ? '' : `extra ${toBase64(p.extra)}\n`;
  const hashes = p.proof.map((h) => `${toBase64(h)}\n`).join('');
  return `${PROOF_HEADER}\n${extra}index ${p.index}\n${hashes}\n${p.checkpoint}`;
}

/**
 * Parses a tlog-proof strictly (see the module comment). Checks syntax only: use
 * verifyProofFile to check signatures, quorum and the proof.
 * @throws LogError MALFORMED on any deviation.
 */
export function parseProofFile(text: string | Uint8Array): ProofFile {
  const src = typeof text === 'string' ? text : fromUtf8(text, 'tlog-proof');
  if (src.length > DEFAULT_MAX_NOTE_SIZE + 8192) throw malformed('too large');
  const split = src.indexOf('\n\n');
  if (split < 0) throw malformed('no blank line before the checkpoint');
  const lines = src.slice(0, split).split('\n');
  const checkpoint = src.slice(split + 2);
  if (lines.some((l) => CONTROL_RE.test(l))) throw malformed('control character');
  if (lines[0] !== PROOF_HEADER) throw malformed(`first line must be ${PROOF_HEADER}`);
  let at = 1;
  let extra: Uint8Array | undefined;
  if (lines[at]?.startsWith('extra ')) {
    extra = fromBase64(lines[at]!.slice('extra '.length), undefined, 'tlog-proof extra');
    if (extra.length === 0) throw malformed('empty extra line');
    at++;
  }
  const indexLine = lines[at] ?? '';
  if (!indexLine.startsWith('index ')) throw malformed('missing index line');
  const index = parseDecimal(indexLine.slice('index '.length), 'tlog-proof index');
  const hashLines = lines.slice(at + 1);
  if (hashLines.length > MAX_PROOF_HASHES) throw malformed('more than 63 proof hashes');
  const proof = hashLines.map((l, i) => fromBase64(l, 32, `tlog-proof hash ${i}`));
  parseCheckpoint(parseNote(checkpoint).text);
  return { ...(extra === undefined ? {} : { extra }), index, proof, checkpoint };
}

/**
 * Verifies a tlog-proof for `entry` against `policy`, fully offline. Checks, in order: the
 * syntax (MALFORMED); the checkpoint's origin, log signature, cosignatures and quorum (see
 * openCheckpointWithPolicy: UNKNOWN_LOG, BAD_SIGNATURE, QUORUM_NOT_MET); the inclusion of
 * the entry's leaf hash at `index` (PROOF_FAILED, or ENTRY_MISMATCH when the proof is valid
 * for another entry, see the module comment).
 * @returns what was proven.
 * @throws LogError with the codes above.
 * @example
 * const policy = parsePolicy(await (await fetch('/policy.txt')).text());
 * const { index, checkpoint, witnesses } = verifyProofFile(proofText, entryBytes, policy);
 */
export function verifyProofFile(
  proofText: string | Uint8Array,
  entry: Uint8Array,
  policy: Policy,
  options: OpenWithPolicyOptions = {}
): VerifiedProof {
  const p = parseProofFile(proofText);
  const checkpoint = openCheckpointWithPolicy(p.checkpoint, policy, options);
  const hash = leafHash(entry);
  const where = `at index ${p.index} of ${checkpoint.origin} (size ${checkpoint.size})`;
  try {
    verifyInclusion(hash, p.index, checkpoint.size, p.proof, checkpoint.rootHash);
  } catch (err) {
    if (!isLogError(err, 'PROOF_FAILED')) throw err;
    if (p.extra?.length === 32 && provesLeaf(p, p.extra, checkpoint)) {
      throw new LogError(
        'ENTRY_MISMATCH',
        `the proof is valid for the entry with leaf hash ${toHex(p.extra)} ${where}, ` +
          `not for this entry (leaf hash ${toHex(hash)})`
      );
    }
    throw new LogError('PROOF_FAILED', `inclusion proof does not verify ${where}: ${err.message}`);
  }
  return { index: p.index, leafHash: hash, checkpoint, witnesses: checkpoint.witnesses };
}

function provesLeaf(p: ProofFile, hash: Uint8Array, cp: VerifiedCheckpoint): boolean {
  try {
    return verifyInclusion(hash, p.index, cp.size, p.proof, cp.rootHash);
  } catch {
    return false;
  }
}
