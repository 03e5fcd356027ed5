/**
 * Why an evidence pack does not verify: one code per kind of failure, and where it was
 * found (the file of the pack, and the log index of the record when it concerns one).
 *
 * Codes and the exit codes `candor verify-export` gives them (EVIDENCE_EXIT):
 *
 *   3  MALFORMED        the pack's structure: a missing or unexpected file, a file that is
 *                       not in its format (manifest, tlog-proof, checkpoint, JSON), or not in
 *                       the exact canonical form candor writes
 *   4  BAD_SIGNATURE    a checkpoint is not validly signed by the log your policy trusts
 *                       for its origin (or a cosignature by one of your witnesses is bad)
 *   5  QUORUM_NOT_MET   the pack's checkpoint lacks the cosignatures your policy requires
 *   6  BAD_PROOF        an inclusion proof, or the consistency proof, does not verify
 *   7  ENTRY_MISMATCH   a record's file is not the entry the log holds at its index
 *   8  CLAIM_MISMATCH   the manifest says something the bytes do not: a digest, the model,
 *                       environment, change type or signer, a time, the query, a file's
 *                       SHA-256, the checkpoint a proof is against
 *   9  REPORT_MISMATCH  report.md or report.html is not exactly what the records produce
 */

/** The kinds of verification failure (see the module comment). */
export type EvidenceErrorCode =
  | 'MALFORMED'
  | 'BAD_SIGNATURE'
  | 'QUORUM_NOT_MET'
  | 'BAD_PROOF'
  | 'ENTRY_MISMATCH'
  | 'CLAIM_MISMATCH'
  | 'REPORT_MISMATCH';

/** Exit codes of `candor verify-export` (see the module comment). */
export const EVIDENCE_EXIT = {
  OK: 0,
  ERROR: 1,
  USAGE: 2,
  MALFORMED: 3,
  BAD_SIGNATURE: 4,
  QUORUM_NOT_MET: 5,
  BAD_PROOF: 6,
  ENTRY_MISMATCH: 7,
  CLAIM_MISMATCH: 8,
  REPORT_MISMATCH: 9,
} as const;

/** A failure to verify a pack: what, in which file, and for which record. */
export class EvidenceError extends Error {
  override readonly name = 'EvidenceError';

  constructor(
    readonly code: EvidenceErrorCode,
    message: string,
    /** The pack file that failed (a path relative to the pack, `/`-separated). */
    readonly file?: string,
    /** The log index of the record concerned. */
    readonly entry?: number
  ) {
    super(message);
  }

  /** The exit code of `candor verify-export` for this failure. */
  get exitCode(): number {
    return EVIDENCE_EXIT[this.code];
  }
}

/** True when `err` is an EvidenceError (with `code`, when given). */
export function isEvidenceError(err: unknown, code?: EvidenceErrorCode): err is EvidenceError {
  return err instanceof EvidenceError && (code === undefined || err.code === code);
}
