/**
 * The one place where errors become HTTP responses. Handlers throw; this maps each
 * LogError code to a status and answers `{"error": {"code", "message"}}`. Anything that
 * is not a LogError is a bug or an I/O failure: it is logged and answered with a 500
 * that reveals nothing internal.
 */
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type ErrorCode, isLogError } from '../util/errors.js';
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

/** What an error answers: its status, its JSON body, and whether to add Retry-After. */
export interface ErrorAnswer {
  status: ContentfulStatusCode;
  body: ReturnType<typeof errorBody>;
  retryAfter: boolean;
}

/**
 * Maps a thrown error to its answer, logging server-side failures (not pushback or
 * shutdown). The one mapping for the Hono app and the fast lane (fast-lane.ts).
 */
export function errorAnswer(err: unknown): ErrorAnswer {
  if (isLogError(err)) {
    const status = STATUS[err.code];
    if (status >= 500 && err.code !== 'PUSHBACK' && err.code !== 'CLOSED') {
      console.error(`candor: ${err.code}: ${err.message}`);
    }
    return { status, body: errorBody(err.code, err.message), retryAfter: status === 503 };
  }
  console.error('candor: unexpected error:', err);
  return { status: 500, body: errorBody('INTERNAL', 'internal error'), retryAfter: false };
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
  const { status, body, retryAfter } = errorAnswer(err);
  if (retryAfter) c.header('Retry-After', String(RETRY_AFTER_SECONDS));
  return c.json(body, status);
}
