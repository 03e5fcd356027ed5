/**
 * Request-target rules shared by the log's and the witness's Hono apps, checked before any
 * route runs:
 *
 * - **The raw path is the path.** Hono routes on a percent-decoded path and @hono/node-server
 *   resolves `.` and `..` segments, so `/tile/0/%30%30%30` or `/tile/0/x/../000` would reach
 *   the handler of `/tile/0/000`. No candor resource has a percent-encoded or dot-segment
 *   path (tlog-tiles and tlog-witness paths are plain ASCII, each in one canonical form), so
 *   such a target is answered 404 NOT_FOUND before routing: a cache or mirror keyed on the
 *   raw path never stores a tile under a second name, and what the log serves is exactly
 *   what its paths say.
 * - **A query parameter is given once.** URLSearchParams and Hono's `c.req.query` take the
 *   first of `?index=1&index=2` silently; a proxy or client that reads the last would see
 *   another request than the log answered. A repeated name is 400 MALFORMED.
 *
 * The fast lane (fast-lane.ts) matches only exact raw targets and hands everything else to
 * the app, so these rules hold for it too.
 */
import type { Context, MiddlewareHandler } from 'hono';
import type { IncomingMessage } from 'node:http';
import { LogError } from '../util/errors.js';

/** Most characters of a path or parameter name quoted back in an error message. */
const QUOTE_MAX = 60;

const quote = (s: string): string => JSON.stringify(s.length > QUOTE_MAX ? `${s.slice(0, QUOTE_MAX)}…` : s);

/**
 * The request target as the client sent it: the node:http request's `url` when the app
 * runs under @hono/node-server, else (app.request() in process) the path and query of
 * the Request's URL, which the WHATWG URL parser leaves percent-encoded.
 */
export function rawTarget(c: Context): string {
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
  if (incoming !== undefined && typeof incoming.url === 'string') return incoming.url;
  const url = c.req.url;
  const start = url.indexOf('/', url.indexOf('://') + 3);
  return start < 0 ? '/' : url.slice(start);
}

/**
 * Checks a raw request target (path and query) against the rules of the module comment.
 * @throws LogError NOT_FOUND for a percent-encoded or dot-segment path, MALFORMED for a
 * repeated query parameter or a query that does not decode.
 */
export function checkRequestTarget(target: string): void {
  const hash = target.indexOf('#');
  const noFragment = hash < 0 ? target : target.slice(0, hash);
  const q = noFragment.indexOf('?');
  const path = q < 0 ? noFragment : noFragment.slice(0, q);
  if (path.includes('%') || path.split('/').some((s) => s === '.' || s === '..')) {
    throw new LogError('NOT_FOUND', `no such resource: ${quote(path)} (paths are matched as sent, undecoded)`);
  }
  if (q < 0) return;
  const seen = new Set<string>();
  for (const part of noFragment.slice(q + 1).split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    let name: string;
    try {
      name = decodeURIComponent((eq < 0 ? part : part.slice(0, eq)).replace(/\+/g, ' '));
    } catch {
      throw new LogError('MALFORMED', `query parameter name ${quote(part)} is not valid percent-encoding`);
    }
    if (seen.has(name)) throw new LogError('MALFORMED', `query parameter ${quote(name)} is given twice or more`);
    seen.add(name);
  }
}

/** Hono middleware applying checkRequestTarget to every request. */
export function requestGuard(): MiddlewareHandler {
  return async (c, next) => {
    checkRequestTarget(rawTarget(c));
    await next();
  };
}
