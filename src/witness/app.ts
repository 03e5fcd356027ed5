/**
 * The witness's HTTP API. Handlers only parse requests, call the core and format answers;
 * errors are thrown and mapped in one place (errors.ts).
 *
 *   POST /add-checkpoint            c2sp.org/tlog-witness v1.0.0 (200: the cosignature line)
 *   GET  /<hex SHA-256(origin)>/checkpoint   the latest cosigned checkpoint (tlog-witness
 *                                   monitoring path): log signature(s) + our cosignature
 *   POST /v1/gossip                 a peer's cosigned checkpoint: {"result", "peer"}
 *   GET  /v1/status                 {name, verifierKey, logs: [...]}
 *   GET  /v1/alerts                 [alert, ...]
 *   POST /v1/alerts/clear           {"origin"} with `Authorization: Bearer <admin token>`
 *   GET  /healthz                   {"ok": true}
 */
import { Hono, type Context } from 'hono';
import { sha256 } from '@noble/hashes/sha2.js';
import { equalBytes, utf8 } from '../util/bytes.js';
import { LogError } from '../util/errors.js';
import { errorBody, handleWitnessError, WitnessError } from './errors.js';
import type { Gossip } from './gossip.js';
import { MAX_REQUEST_BODY } from './request.js';
import type { Witness } from './witness.js';
import { sizedBodyLimit } from '../server/body-limit.js';
import { requestGuard } from '../server/request-guard.js';

/** What the witness app needs. */
export interface WitnessAppDeps {
  witness: Witness;
  gossip: Gossip;
  /** The admin token that POST /v1/alerts/clear requires as a Bearer token. */
  adminToken: string;
}

const TEXT = 'text/plain; charset=utf-8';

/** Builds the Hono app of a witness. */
export function createWitnessApp(deps: WitnessAppDeps): Hono {
  const { witness, gossip } = deps;
  const app = new Hono();
  app.onError(handleWitnessError);
  // Raw paths only (no percent-encoded or dot-segment form) and no repeated query parameter.
  app.use('*', requestGuard());
  app.notFound((c) => c.json(errorBody('NOT_FOUND', `no such resource: ${c.req.path}`), 404));
  const limit = sizedBodyLimit(MAX_REQUEST_BODY, () => {
    throw new LogError('TOO_LARGE', `the body must be at most ${MAX_REQUEST_BODY} bytes`);
  });

  app.post('/add-checkpoint', limit, async (c) => {
    const line = await witness.addCheckpoint(await body(c));
    c.header('Content-Type', TEXT);
    return c.body(line);
  });

  app.get('/healthz', (c) => c.json({ ok: true }));
  app.get('/v1/status', (c) => c.json(witness.status()));
  app.get('/v1/alerts', (c) => c.json(witness.alerts()));

  app.post('/v1/alerts/clear', limit, async (c) => {
    checkToken(c.req.header('Authorization'), deps.adminToken);
    let parsed: unknown;
    try {
      parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(await body(c)));
    } catch {
      throw new LogError('MALFORMED', 'the body must be JSON {"origin": "..."}');
    }
    const origin = (parsed as { origin?: unknown } | null)?.origin;
    if (typeof origin !== 'string' || origin === '') {
      throw new LogError('MALFORMED', 'the body must be JSON {"origin": "..."}');
    }
    const cleared = await witness.clear(origin);
    return c.json({ origin, cleared, halted: witness.isHalted(origin) });
  });

  app.post('/v1/gossip', limit, async (c) => c.json(await gossip.receive(await body(c))));

  app.get('/:hash/checkpoint', (c) => {
    const hash = c.req.param('hash');
    const note = /^[0-9a-f]{64}$/.test(hash) ? witness.checkpointByHash(hash) : undefined;
    if (note === undefined) throw new LogError('NOT_FOUND', 'this witness has cosigned no checkpoint of that origin');
    c.header('Content-Type', TEXT);
    c.header('Cache-Control', 'no-store');
    return c.body(note);
  });

  // Known paths with the wrong method get 405, not 404.
  const methods: Array<[string, string]> = [
    ['/add-checkpoint', 'POST'],
    ['/healthz', 'GET'],
    ['/v1/status', 'GET'],
    ['/v1/alerts', 'GET'],
    ['/v1/alerts/clear', 'POST'],
    ['/v1/gossip', 'POST'],
    ['/:hash/checkpoint', 'GET'],
  ];
  for (const [path, allow] of methods) {
    app.all(path, (c) => {
      c.header('Allow', allow === 'GET' ? 'GET, HEAD' : allow);
      return c.json(errorBody('METHOD_NOT_ALLOWED', `${c.req.method} is not allowed here; use ${allow}`), 405);
    });
  }
  return app;
}

async function body(c: Context): Promise<Uint8Array> {
  const bytes = new Uint8Array(await c.req.arrayBuffer());
  if (bytes.length > MAX_REQUEST_BODY) {
    throw new LogError('TOO_LARGE', `the body must be at most ${MAX_REQUEST_BODY} bytes`);
  }
  return bytes;
}

// Compares hashes of the two tokens, so the time taken says nothing about the token.
function checkToken(header: string | undefined, token: string): void {
  const given = header?.startsWith('Bearer ') === true ? header.slice('Bearer '.length).trim() : '';
  if (given === '' || !equalBytes(sha256(utf8(given)), sha256(utf8(token)))) {
    throw new WitnessError('UNAUTHORIZED', 'POST /v1/alerts/clear needs Authorization: Bearer <admin token>');
  }
}
