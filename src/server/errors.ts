/**
 * The one place where errors become HTTP responses. Handlers throw; this maps each
 * LogError code to a status and answers `{"error": {"code", "message"}}`. Anything that
 * is not a LogError is a bug or an I/O failure: it is logged and answered with a 500
 * that reveals nothing internal.
 */
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type ErrorCode, isLogError, LogError } from '../util/errors.js';
import { requestAborted } from './aborted.js';

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
  STORAGE: 503,
  CORRUPT: 500,
  QUORUM_NOT_MET: 422,
  ENTRY_MISMATCH: 422,
  UNSIGNED: 400,
  UNKNOWN_KEY: 403,
  FORBIDDEN: 403,
  UNAUTHENTICATED: 401,
  RATE_LIMITED: 429,
  QUOTA_EXCEEDED: 429,
};

/** Seconds a client should wait after a 503 before trying again. */
export const RETRY_AFTER_SECONDS = 1;

/**
 * Whether an answer with this code carries `Retry-After`: only when retrying the same
 * request at this server can succeed. PUSHBACK (a full queue) drains in moments, and
 * STORAGE (a failed write) heals when the store reopens. CLOSED does not: the process is
 * shutting down, and no retry of it succeeds.
 */
export function isRetryable(code: ErrorCode): boolean {
  return code === 'PUSHBACK' || code === 'STORAGE';
}

/** A JSON error body. */
export function errorBody(code: string, message: string): { error: { code: string; message: string } } {
  return { error: { code, message } };
}

/**
 * A LogError whose answer carries HTTP headers of its own: `WWW-Authenticate` on a 401,
 * `Retry-After` with the seconds a rate or quota needs on a 429 (src/server/tokens.ts).
 */
export class LogErrorWithHeaders extends LogError {
  readonly headers: Readonly<Record<string, string>>;

  constructor(code: ErrorCode, message: string, headers: Readonly<Record<string, string>>) {
    super(code, message);
    this.headers = headers;
  }
}

/**
 * What an error answers: its status, its JSON body, whether to add Retry-After (isRetryable), and
 * the headers the error carries itself (LogErrorWithHeaders; else none).
 */
export interface ErrorAnswer {
  status: ContentfulStatusCode;
  body: ReturnType<typeof errorBody>;
  retryAfter: boolean;
  headers: Readonly<Record<string, string>>;
}

/**
 * Maps a thrown error to its answer, logging server-side failures (not pushback, storage
 * recovery or shutdown). The one mapping for the Hono app and the fast lane (fast-lane.ts).
 */
export function errorAnswer(err: unknown): ErrorAnswer {
  if (isLogError(err)) {
    const status = STATUS[err.code];
    // Retryable answers and shutdown are expected; a failed write is reported once by the
    // log's recovery (recovery.ts), not once per refused request.
    if (status >= 500 && !isRetryable(err.code) && err.code !== 'CLOSED') {
      console.error(`candor: ${err.code}: ${err.message}`);
    }
    const headers = err instanceof LogErrorWithHeaders ? err.headers : {};
    return { status, body: errorBody(err.code, err.message), retryAfter: isRetryable(err.code), headers };
  }
  console.error('candor: unexpected error:', err);
  return { status: 500, body: errorBody('INTERNAL', 'internal error'), retryAfter: false, headers: {} };
}

/**
 * True when the client of a Hono request on @hono/node-server went away before its answer
 * was complete (see aborted.ts); false without a Node request.
 */
export function clientAborted(c: Context): boolean {
  const env = c.env as { incoming?: IncomingMessage; outgoing?: ServerResponse } | undefined;
  return requestAborted(env?.incoming, env?.outgoing);
}

/**
 * Hono onError handler: maps thrown errors to JSON error responses. The failure of a
 * request whose client went away (its body read breaking off) is no server error: it is
 * not logged, and its answer, which nobody receives, is not counted.
 */
export function handleError(err: unknown, c: Context): Response {
  if (clientAborted(c)) return c.json(errorBody('ABORTED', 'the client closed the connection'), 400);
  const { status, body, retryAfter, headers } = errorAnswer(err);
  if (retryAfter) c.header('Retry-After', String(RETRY_AFTER_SECONDS));
  for (const [name, value] of Object.entries(headers)) c.header(name, value);
  return c.json(body, status);
}
