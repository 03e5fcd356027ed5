/**
 * Witness errors and the one place they become HTTP responses (style P7). Statuses follow
 * c2sp.org/tlog-witness v1.0.0 (specs §6.1):
 *
 *   MALFORMED, EMPTY → 400       UNKNOWN_LOG → 404 (unknown origin)
 *   BAD_SIGNATURE → 403          OldSizeMismatch → 409, text/x.tlog.size, `<size>\n`
 *   CONFLICT → 409 (JSON)        PROOF_FAILED → 422       TOO_LARGE → 413
 *   WitnessError HALTED → 403    WitnessError UNAUTHORIZED → 401
 *
 * Every other answer is JSON `{"error": {"code", "message"}}`; a non-LogError is a bug or
 * an I/O failure: logged, answered 500 without detail.
 */
import type { Context } from 'hono';
import { LogError, isLogError } from '../util/errors.js';
import { STATUS, RETRY_AFTER_SECONDS, clientAborted, errorBody, isRetryable } from '../server/errors.js';

export { errorBody };

/**
 * The `old` size of an add-checkpoint request is not the size this witness last cosigned
 * for the origin: answered 409 with that size as `text/x.tlog.size`, so the client can
 * retry with a proof from it.
 */
export class OldSizeMismatch extends LogError {
  /** The size this witness last cosigned (0 if none). */
  readonly size: number;

  constructor(size: number, old: number) {
    super('CONFLICT', `old size ${old} is not the latest cosigned size ${size}`);
    this.name = 'OldSizeMismatch';
    this.size = size;
  }
}

/** Witness-only conditions without a LogError code (src/util/errors.ts is shared). */
export type WitnessErrorCode =
  /** The origin has an uncleared alert: this witness cosigns nothing for it. */
  | 'HALTED'
  /** The admin token is missing or wrong. */
  | 'UNAUTHORIZED';

/** An error with a witness-only code. */
export class WitnessError extends Error {
  readonly code: WitnessErrorCode;

  constructor(code: WitnessErrorCode, message: string) {
    super(message);
    this.name = 'WitnessError';
    this.code = code;
  }
}

/** Hono onError handler for the witness app. */
export function handleWitnessError(err: unknown, c: Context): Response {
  // A client that went away mid-request is no witness failure: nothing to log or answer.
  if (clientAborted(c)) return c.json(errorBody('ABORTED', 'the client closed the connection'), 400);
  if (err instanceof OldSizeMismatch) {
    c.header('Content-Type', 'text/x.tlog.size');
    return c.body(`${err.size}\n`, 409);
  }
  if (err instanceof WitnessError) {
    if (err.code === 'UNAUTHORIZED') c.header('WWW-Authenticate', 'Bearer');
    return c.json(errorBody(err.code, err.message), err.code === 'HALTED' ? 403 : 401);
  }
  if (isLogError(err)) {
    const status = STATUS[err.code];
    if (isRetryable(err.code)) c.header('Retry-After', String(RETRY_AFTER_SECONDS));
    if (status === 500) console.error(`candor witness: ${err.code}: ${err.message}`);
    return c.json(errorBody(err.code, err.message), status);
  }
  console.error('candor witness: unexpected error:', err);
  return c.json(errorBody('INTERNAL', 'internal error'), 500);
}
