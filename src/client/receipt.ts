/**
 * Receipts: the JSON candor answers to `POST /v1/entries`,
 * `{index, leafHash, duplicate, checkpoint, inclusionProof}` with hashes in standard base64,
 * and their conversion to an offline tlog-proof (c2sp.org/tlog-proof), which carries the
 * leaf hash as `extra` (see proof-file.ts).
 *
 * The receipt's checkpoint is the one the log answered with: only the log's signature
 * unless the entry was submitted with `?wait=witnessed`. A policy that requires witnesses
 * rejects a proof made from an unwitnessed receipt (QUORUM_NOT_MET); fetch a witnessed
 * proof later from `GET /v1/proof/bundle?index=I` instead.
 */
import { verifyInclusion } from '../merkle/verify.js';
import { parseCheckpoint } from '../checkpoint/checkpoint.js';
import { parseNote } from '../note/note.js';
import { fromBase64 } from '../util/bytes.js';
import { LogError, isLogError } from '../util/errors.js';
import { formatProofFile } from './proof-file.js';

/** A receipt as candor sends it (JSON). */
export interface ReceiptJson {
  index: number;
  /** Standard base64 of the entry's 32-byte leaf hash. */
  leafHash: string;
  duplicate: boolean;
  /** The signed checkpoint note that includes the entry. */
  checkpoint: string;
  /** Standard base64 hashes of the inclusion proof against that checkpoint. */
  inclusionProof: string[];
}

/** A receipt with its hashes decoded. */
export interface Receipt {
  index: number;
  leafHash: Uint8Array;
  duplicate: boolean;
  checkpoint: string;
  inclusionProof: Uint8Array[];
}

function malformed(why: string): LogError {
  return new LogError('MALFORMED', `malformed receipt: ${why}`);
}

/**
 * Parses and checks a receipt (JSON text, or the object JSON.parse made of it): every field
 * present with its type, canonical base64, a well-formed checkpoint note, and an inclusion
 * proof that leads from the leaf hash to the checkpoint's root. This does NOT authenticate
 * anything: the checkpoint's signatures are checked only against a policy, by
 * verifyProofFile.
 * @throws LogError MALFORMED on a bad shape; PROOF_FAILED when the proof does not match.
 * @example
 * const receipt = parseReceipt(await res.text());
 */
export function parseReceipt(json: unknown): Receipt {
  let r: unknown = json;
  if (typeof json === 'string') {
    try {
      r = JSON.parse(json);
    } catch {
      throw malformed('not JSON');
    }
  }
  if (typeof r !== 'object' || r === null) throw malformed('not an object');
  const o = r as Record<string, unknown>;
  const { index, leafHash, duplicate, checkpoint, inclusionProof } = o;
  if (typeof index !== 'number' || !Number.isSafeInteger(index) || index < 0) {
    throw malformed('index must be a non-negative integer');
  }
  if (typeof leafHash !== 'string') throw malformed('leafHash must be a string');
  if (typeof duplicate !== 'boolean') throw malformed('duplicate must be a boolean');
  if (typeof checkpoint !== 'string') throw malformed('checkpoint must be a string');
  if (!Array.isArray(inclusionProof) || !inclusionProof.every((h) => typeof h === 'string')) {
    throw malformed('inclusionProof must be an array of strings');
  }
  const decoded: Receipt = {
    index,
    leafHash: fromBase64(leafHash, 32, 'receipt leafHash'),
    duplicate,
    checkpoint,
    inclusionProof: (inclusionProof as string[]).map((h, i) =>
      fromBase64(h, 32, `receipt inclusionProof[${i}]`)
    ),
  };
  const cp = parseCheckpoint(parseNote(checkpoint).text);
  try {
    verifyInclusion(decoded.leafHash, index, cp.size, decoded.inclusionProof, cp.rootHash);
  } catch (err) {
    if (isLogError(err, 'PROOF_FAILED')) {
      const why = `receipt proof does not match its checkpoint: ${err.message}`;
      throw new LogError('PROOF_FAILED', why);
    }
    throw err;
  }
  return decoded;
}

/**
 * Converts a receipt (JSON text or parsed) to a tlog-proof (text) with the leaf hash as
 * `extra`.
 * @throws LogError MALFORMED or PROOF_FAILED, see parseReceipt.
 * @example
 * const res = await fetch('https://log.example/v1/entries', { method: 'POST', body: entry });
 * const proofText = receiptToProofFile(await res.text());
 * // later, anywhere: verifyProofFile(proofText, entry, policy)
 */
export function receiptToProofFile(json: unknown): string {
  const r = parseReceipt(json);
  return formatProofFile({
    extra: r.leafHash,
    index: r.index,
    proof: r.inclusionProof,
    checkpoint: r.checkpoint,
  });
}
