/**
 * The fast lane: the log's busiest requests answered straight on node:http, in front of
 * the Hono app (app.ts), which still answers everything else and every request the fast
 * lane does not take.
 *
 * Why. Hono on @hono/node-server builds a WHATWG Request and Response for every request and
 * routes through middleware: measured on the 2-core reference machine, about 25 µs of CPU
 * per request over the roughly 18 µs that node:http itself needs, which is more than the
 * work of an inclusion proof or a tile read. The requests that arrive by the thousand (tile
 * and bundle reads by monitors and witnesses, inclusion proofs, checkpoints, single-entry
 * submissions) skip it.
 *
 * What the fast lane takes, exactly (anything else goes to the app untouched):
 *   GET  /checkpoint
 *   GET  /tile/<L>/<N>[.p/<W>] and /tile/entries/<N>[.p/<W>]
 *   GET  /v1/proof/inclusion?index=I&size=N  (the two parameters in either order, plain
 *        decimal digits, nothing else in the query)
 *   POST /v1/entries  (no query string, a Content-Length, no Transfer-Encoding)
 * A GET that fails in any way is handed to the app, which answers it (its error included)
 * exactly as it answers any request. A POST cannot be handed over once its body is read,
 * so its errors are answered here, through the same status table and error body as the
 * app (errors.ts). test/server/fast-lane.test.ts checks that both give the same bytes.
 * With API tokens, the POST is authorized before its body is read by the same function
 * as the app's (tokens.ts authorizeWrite; test/e2e/tokens.test.ts compares the answers).
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { parseTilePath, TILE_WIDTH } from '../merkle/tiles.js';
import { MAX_ENTRY_SIZE, type AddResult, type Log } from '../log/log.js';
import type { Witnessing } from '../log/witnessing.js';
import { LogError } from '../util/errors.js';
import { parseDecimal } from '../util/integers.js';
import { errorAnswer, RETRY_AFTER_SECONDS } from './errors.js';
import { IMMUTABLE, receipt } from './app.js';
import { authorizeWrite, type WriteAuthorizer, type WriteGrant } from './tokens.js';

export interface FastLaneDeps {
  log: Log;
  witnessing?: Witnessing | undefined;
  /** API tokens, as the app's (tokens.ts): a POST is authorized before its body is read. */
  writes?: WriteAuthorizer | undefined;
}

const INCLUSION_QUERY = /^(?:index=(\d{1,16})&size=(\d{1,16})|size=(\d{1,16})&index=(\d{1,16}))$/;

/** Wraps the app's request listener with the fast lane (see the module comment). */
export function fastLane(deps: FastLaneDeps, app: RequestListener): RequestListener {
  const { log, witnessing } = deps;
  // The JSON text of the latest checkpoint note, made once per checkpoint: every receipt of
  // a batch carries the same note.
  let noteJson: { note: string; json: string } | undefined;

  const send = (res: ServerResponse, status: number, type: string, body: string | Uint8Array, cache?: string): void => {
    const headers: Record<string, string | number> = { 'Content-Type': type };
    if (cache !== undefined) headers['Cache-Control'] = cache;
    headers['Content-Length'] = typeof body === 'string' ? Buffer.byteLength(body) : body.length;
    res.writeHead(status, headers);
    res.end(body);
    log.metrics.countResponse(status);
  };

  const sendError = (res: ServerResponse, err: unknown): void => {
    const { status, body, retryAfter, headers } = errorAnswer(err);
    if (retryAfter) res.setHeader('Retry-After', String(RETRY_AFTER_SECONDS));
    for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
    send(res, status, 'application/json', JSON.stringify(body));
  };

  /** Runs a GET handler; on any failure the app answers the request instead. */
  const get = (req: IncomingMessage, res: ServerResponse, handler: () => Promise<void> | void): void => {
    let result: Promise<void> | void;
    try {
      result = handler();
    } catch {
      app(req, res);
      return;
    }
    if (result !== undefined) result.catch(() => app(req, res));
  };

  return (req, res) => {
    const url = req.url ?? '';
    if (req.method === 'GET') {
      if (url === '/checkpoint') {
        const note = witnessing?.witnessed?.note ?? log.checkpoint.note;
        return get(req, res, () => send(res, 200, 'text/plain; charset=utf-8', note, 'no-store'));
      }
      if (url.startsWith('/tile/')) {
        return get(req, res, async () => {
          const tile = parseTilePath(url.slice(1));
          const width = tile.width ?? TILE_WIDTH;
          const data =
            tile.kind === 'entries'
              ? await log.entryBundle(tile.index, width)
              : await log.hashTile(tile.level, tile.index, width);
          send(res, 200, 'application/octet-stream', data, IMMUTABLE);
        });
      }
      if (url.startsWith('/v1/proof/inclusion?')) {
        const m = INCLUSION_QUERY.exec(url.slice('/v1/proof/inclusion?'.length));
        if (m !== null) {
          return get(req, res, () => {
            const index = parseDecimal(m[1] ?? m[4]!, 'index');
            const size = parseDecimal(m[2] ?? m[3]!, 'size');
            const body = log.inclusionProofJsonCached(index, size);
            if (body !== undefined) return send(res, 200, 'application/json', body);
            return log.inclusionProofJson(index, size).then((b) => send(res, 200, 'application/json', b));
          });
        }
      }
    } else if (req.method === 'POST' && url === '/v1/entries') {
      const length = req.headers['content-length'];
      if (length !== undefined && req.headers['transfer-encoding'] === undefined) {
        postEntry(req, res, Number(length));
        return;
      }
    }
    app(req, res);
  };

  /**
   * JSON.stringify(await receipt(log, result)), byte for byte (test/server/fast-lane.test.ts),
   * with the checkpoint's JSON string made once per batch instead of once per receipt.
   */
  async function receiptJson(result: AddResult): Promise<string> {
    const r = await receipt(log, result);
    if (noteJson?.note !== r.checkpoint) noteJson = { note: r.checkpoint, json: JSON.stringify(r.checkpoint) };
    // Base64 needs no escaping.
    const proof = r.inclusionProof.length === 0 ? '[]' : `["${r.inclusionProof.join('","')}"]`;
    return `{"index":${r.index},"leafHash":"${r.leafHash}","duplicate":${r.duplicate},"checkpoint":${noteJson.json},"inclusionProof":${proof}}`;
  }

  function postEntry(req: IncomingMessage, res: ServerResponse, length: number): void {
    // Authorized first, as the app does: the same function, the same answers.
    let grant: WriteGrant;
    try {
      grant = authorizeWrite(deps.writes, req.headers.authorization, 'entries');
      grant.charge(1);
    } catch (err) {
      sendError(res, err);
      return;
    }
    if (length > MAX_ENTRY_SIZE) {
      grant.finish(false);
      sendError(res, new LogError('TOO_LARGE', `an entry must be at most ${MAX_ENTRY_SIZE} bytes`));
      return;
    }
    // Chunks kept as they arrive, never a buffer of the declared length: a client that
    // announces 64 KiB and sends nothing costs nothing.
    const chunks: Buffer[] = [];
    let at = 0;
    req.on('data', (chunk: Buffer) => {
      // Node's parser delivers exactly Content-Length bytes; guard anyway.
      if (at + chunk.length <= length) chunks.push(chunk);
      at += chunk.length;
    });
    req.on('end', () => {
      void (async () => {
        try {
          if (at !== length) throw new LogError('MALFORMED', 'the body does not match its Content-Length');
          const entry = new Uint8Array(length); // now as many bytes as arrived
          let offset = 0;
          for (const chunk of chunks) {
            entry.set(chunk, offset);
            offset += chunk.length;
          }
          const result = await log.add(entry);
          grant.finish(true); // logged: it counts, whatever happens to the answer
          witnessing?.notify();
          send(res, 200, 'application/json', await receiptJson(result));
        } catch (err) {
          grant.finish(false);
          sendError(res, err);
        }
      })();
    });
    req.on('error', () => {
      grant.finish(false);
      res.destroy();
    });
  }
}
