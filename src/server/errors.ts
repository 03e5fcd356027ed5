/**
 * The one place where errors become HTTP responses. Handlers throw; this maps each
 * LogError code to a status and answers `{"error": {"code", "message"}}`. Anything that
 * is not a LogError is a bug or an I/O failure: it is logged and answered with a 500
 * that reveals nothing internal.
 */
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { type ErrorCode, isLogError } from '../util/errors.js';

/** The HTTP status of each error code: one table for the log and the witness. */
export const STATUS: Record<ErrorCode, ContentfulStatusCode> = {
  MALFORMED: 400,
  EMPTY: 400,
  PROOF_FAILED: 422,
  BAD_SIGNATURE: 403,
  UNKNOWN_LOG: 404,
  CONFLICT: 409,
  PUSHBACK: 503,
  NOT_FOUND: 404,
  TOO_LARGE: 413,
  TIMEOUT: 504,
  CLOSED: 503,
  CORRUPT: 500,
  QUORUM_NOT_MET: 422,
  ENTRY_MISMATCH: 422,
  UNSIGNED: 400,
  UNKNOWN_KEY: 403,
  FORBIDDEN: 403,
};

/** Seconds a client should wait after a 503 before trying again. */
export const RETRY_AFTER_SECONDS = 1;

/** A JSON error body. */
export function errorBody(code: string, message: string): { error: { code: string; message: string } } {
  return { error: { code, message } };
}

/** Hono onError handler: maps thrown errors to JSON error responses. */
export function handleError(err: unknown, c: Context): Response {
  if (isLogError(err)) {
    const status = STATUS[err.code];
    if (status === 503) c.header('Retry-After', String(RETRY_AFTER_SECONDS));
    if (status >= 500 && err.code !== 'PUSHBACK' && err.code !== 'CLOSED') {
      console.error(`candor: ${err.code}: ${err.message}`);
    }
    return c.json(errorBody(err.code, err.message), status);
  }
  console.error('candor: unexpected error:', err);
  return c.json(errorBody('INTERNAL', 'internal error'), 500);
}
