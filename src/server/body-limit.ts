/**
 * Request body limits for the HTTP apps of the log and the witness.
 */
import type { MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { IncomingHttpHeaders } from 'node:http';

/**
 * Hono's bodyLimit, with its Content-Length rule decided from the Node request's headers
 * when the app runs on @hono/node-server. bodyLimit's first step, `c.req.raw.body`, makes
 * node-server build a WHATWG Request and stream for every request, and the handler's
 * arrayBuffer() then reads through them; that was about 15% of the CPU of a single-entry
 * POST. With a Content-Length and no Transfer-Encoding, bodyLimit only compares the length
 * (Node's parser then reads exactly that many bytes) and node-server reads the body straight
 * from the socket. Anything else (chunked bodies, or no Node request as in app.request()
 * tests) goes through bodyLimit itself, which counts the bytes as they stream.
 */
export function sizedBodyLimit(maxSize: number, onError: () => never): MiddlewareHandler {
  const slow = bodyLimit({ maxSize, onError });
  return async (c, next) => {
    const headers = (c.env as { incoming?: { headers?: IncomingHttpHeaders } } | undefined)?.incoming
      ?.headers;
    const length = headers?.['content-length'];
    if (headers === undefined || length === undefined || headers['transfer-encoding'] !== undefined) {
      return slow(c, next);
    }
    if (parseInt(length, 10) > maxSize) onError();
    await next();
  };
}
