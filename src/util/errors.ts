/**
 * Errors that cross module boundaries carry a stable `code`. Callers branch on the code,
 * never on the message. The HTTP layer maps codes to statuses in one table
 * (src/server/errors.ts). A broken internal invariant is a bug, not bad input: it throws
 * through `invariant()` and is never mapped to a 4xx.
 */
export type ErrorCode =
  /** Input does not follow the format (bad path, bad number, bad base64, bad note). */
  | 'MALFORMED'
  /** A Merkle proof does not verify. */
  | 'PROOF_FAILED'
  /** A signature from a trusted key does not verify, or no trusted key signed. */
  | 'BAD_SIGNATURE'
  /** The origin or key is not one this party knows. */
  | 'UNKNOWN_LOG'
  /** The request conflicts with the current state (for example a stale tree size). */
  | 'CONFLICT'
  /** The log is busy: retry later. */
  | 'PUSHBACK'
  /** The thing asked for does not exist (yet). */
  | 'NOT_FOUND'
  /** The request body is larger than allowed. */
  | 'TOO_LARGE'
  /** The request body is empty where content is required. */
  | 'EMPTY'
  /** The operation did not complete in time. */
  | 'TIMEOUT'
  /** The log is shutting down or closed. */
  | 'CLOSED'
  /**
   * A write to storage failed (disk full, I/O error): the log refuses writes, keeps
   * serving reads, and reopens its store in the background once the cause is gone.
   */
  | 'STORAGE'
  /** Stored data disagrees with itself: the store is corrupt. */
  | 'CORRUPT'
  /** A checkpoint is validly signed, but its cosignatures do not meet the policy's quorum. */
  | 'QUORUM_NOT_MET'
  /**
   * An inclusion proof is valid for another entry at that index, not for the one given: the
   * entry is not the one the log holds there.
   */
  | 'ENTRY_MISMATCH'
  /** A signed record (DSSE envelope) carries no signature at all. */
  | 'UNSIGNED'
  /** No key on the submitter allowlist made the signature: an unknown or removed signer. */
  | 'UNKNOWN_KEY'
  /**
   * The signer is allowlisted but not for this: a missing role, or another environment; or
   * an API token without the scope the write needs.
   */
  | 'FORBIDDEN'
  /** A write needs an API token (`Authorization: Bearer`), and none or an unknown one came. */
  | 'UNAUTHENTICATED'
  /** An API token sent requests faster than its rate: retry after the time given. */
  | 'RATE_LIMITED'
  /** An API token's daily quota of entries is used up (or a batch is larger than it). */
  | 'QUOTA_EXCEEDED';

export class LogError extends Error {
  readonly code: ErrorCode;
  override readonly cause?: unknown;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message);
    this.name = 'LogError';
    this.code = code;
    if (options?.cause !== undefined) this.cause = options.cause;
  }
}

/** True when `err` is a LogError with the given code (or any code, when omitted). */
export function isLogError(err: unknown, code?: ErrorCode): err is LogError {
  return err instanceof LogError && (code === undefined || err.code === code);
}

/** Throws when an internal invariant does not hold: that is a bug in candor, not bad input. */
export function invariant(cond: unknown, message: string): asserts cond {
  if (!cond) throw new Error(`candor internal error: ${message}`);
}
