/**
 * Telling a client abort from a server failure, for the log's and the witness's error
 * handlers and metrics (a request whose client hung up is not a 500).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * True when the client went away before its answer was complete: the connection closed
 * or the request broke off mid-body. Such a request is no server error: answer nothing,
 * log nothing, count it as aborted (the guard does), not as a response.
 */
export function requestAborted(req: IncomingMessage | undefined, res: ServerResponse | undefined): boolean {
  if (res !== undefined && res.destroyed && !res.writableFinished) return true;
  if (req === undefined) return false;
  return (req.errored !== null && req.errored !== undefined) || (req.destroyed && !req.complete);
}
