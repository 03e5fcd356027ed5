/**
 * The log's HTTP API. Handlers only parse requests, call the Log and format responses;
 * errors are thrown and mapped to statuses in one place (errors.ts).
 *
 * Read API, exactly c2sp.org/tlog-tiles:
 *   GET /checkpoint                   the latest signed checkpoint (text/plain; charset=utf-8);
 *                                     with witnesses, the newest one with a quorum of
 *                                     cosignatures (the latest log-signed one until then)
 *   GET /tile/<L>/<N>[.p/<W>]         hash tiles (application/octet-stream, immutable)
 *   GET /tile/entries/<N>[.p/<W>]     entry bundles (application/octet-stream, immutable)
 * Write and query API:
 *   POST /v1/entries                  one entry (raw body) -> receipt once durably included;
 *                                     ?wait=witnessed: once in a checkpoint with a quorum
 *   POST /v1/entries/batch            many entries -> one receipt per entry, in order
 *   (with API tokens, writes need `Authorization: Bearer <token>`: src/server/tokens.ts)
 *   GET  /v1/checkpoint/witnessed     the newest checkpoint with a quorum (404 before one)
 *   GET  /v1/entries/<index>          raw entry bytes
 *   GET  /v1/proof/inclusion          ?index=I&size=N or ?leafHash=<base64>&size=N
 *   GET  /v1/proof/consistency        ?from=M&to=N
 *   GET  /v1/info, /healthz, /metrics
 */
import { Hono, type Context } from 'hono';
import { sizedBodyLimit } from './body-limit.js';
import { parseTilePath, TILE_WIDTH } from '../merkle/tiles.js';
import { HASH_SIZE } from '../merkle/hash.js';
import type { AddResult, Log } from '../log/log.js';
import { MAX_ENTRY_SIZE } from '../log/log.js';
import { LogError, isLogError } from '../util/errors.js';
import type { WitnessedCheckpoint, Witnessing } from '../log/witnessing.js';
import { fromBase64, toBase64 } from '../util/bytes.js';
import { parseDecimal } from '../util/integers.js';
import { clientAborted, errorBody, handleError } from './errors.js';
import { parseBatchBody, MAX_BATCH_BODY } from './batch.js';
import { registerProofBundle } from './proof-bundle.js';
import { chargeEntries, requireWrite, type WriteAuthorizer } from './tokens.js';
import { requestGuard } from './request-guard.js';

export interface AppDeps {
  log: Log;
  /** The log's verifier key (note vkey), published in /v1/info. */
  verifierKey: string;
  /**
   * Witness cosigning (c2sp.org/tlog-witness), when witnesses are configured. The app calls
   * `notify()` after every submission, serves `witnessed` at /checkpoint once there is one,
   * and waits with `waitFor()` for `?wait=witnessed`.
   */
  witnessing?: Witnessing | undefined;
  /**
   * API tokens (src/server/tokens.ts): when present, every write route needs
   * `Authorization: Bearer` with its scope; reads stay public. Absent: writes are open.
   */
  writes?: WriteAuthorizer | undefined;
}

/** A self-contained receipt: enough to verify inclusion offline against the log's key. */
export interface Receipt {
  index: number;
  leafHash: string;
  duplicate: boolean;
  checkpoint: string;
  inclusionProof: string[];
}

/** Cache-Control of tiles and entries, which never change (c2sp.org/tlog-tiles). */
export const IMMUTABLE = 'public, max-age=604800, immutable';

/** How long a submission waits: `sequenced` (the default), or `witnessed`. */
type WaitFor = 'sequenced' | 'witnessed';

/** Builds the Hono app for a log. */
export function createApp(deps: AppDeps): Hono {
  const { log, witnessing } = deps;
  const app = new Hono();

  app.use('*', async (c, next) => {
    await next();
    // A client that went away got no answer: the guard counts it as aborted (http-limits.ts).
    if (!clientAborted(c)) log.metrics.countResponse(c.res.status);
  });
  app.onError(handleError);
  // Raw paths only (no percent-encoded or dot-segment form) and no repeated query parameter.
  app.use('*', requestGuard());
  app.notFound((c) => c.json(errorBody('NOT_FOUND', `no such resource: ${c.req.path}`), 404));

  app.get('/checkpoint', (c) => {
    c.header('Content-Type', 'text/plain; charset=utf-8');
    c.header('Cache-Control', 'no-store');
    return c.body(witnessing?.witnessed?.note ?? log.checkpoint.note);
  });

  app.get('/v1/checkpoint/witnessed', (c) => {
    if (witnessing === undefined) throw new LogError('NOT_FOUND', 'this log has no witnesses');
    const witnessed = witnessing.witnessed;
    if (witnessed === undefined) {
      throw new LogError('NOT_FOUND', `no checkpoint has ${witnessing.quorum} cosignatures yet`);
    }
    c.header('Content-Type', 'text/plain; charset=utf-8');
    c.header('Cache-Control', 'no-store');
    return c.body(witnessed.note);
  });

  app.get('/tile/*', async (c) => {
    const tile = parseTilePath(c.req.path.slice(1));
    const width = tile.width ?? TILE_WIDTH;
    const data =
      tile.kind === 'entries'
        ? await log.entryBundle(tile.index, width)
        : await log.hashTile(tile.level, tile.index, width);
    c.header('Content-Type', 'application/octet-stream');
    c.header('Cache-Control', IMMUTABLE);
    return c.body(toArrayBuffer(data));
  });

  // Authenticated writes, before any body is read (tokens.ts; the fast lane calls the same
  // authorization). /v1/records is registered later (records.ts) but authorized here.
  app.use('/v1/entries', requireWrite(deps.writes, 'entries', 1));
  app.use('/v1/entries/batch', requireWrite(deps.writes, 'entries'));
  app.use('/v1/records', requireWrite(deps.writes, 'records', 1));

  const entryLimit = sizedBodyLimit(MAX_ENTRY_SIZE, () => {
    throw new LogError('TOO_LARGE', `an entry must be at most ${MAX_ENTRY_SIZE} bytes`);
  });
  app.post('/v1/entries', entryLimit, async (c) => {
    const wait = waitFor(c, witnessing);
    const entry = new Uint8Array(await c.req.arrayBuffer());
    const result = await log.add(entry);
    witnessing?.notify();
    if (wait === 'sequenced' || witnessing === undefined) return c.json(await receipt(log, result));
    const durable = `the entry IS durably logged at index ${result.index}`;
    const cp = await witnessed(witnessing, result.index + 1, 'entry', durable);
    return c.json(await receipt(log, result, cp));
  });

  const batchLimit = sizedBodyLimit(MAX_BATCH_BODY, () => {
    throw new LogError('TOO_LARGE', `a batch body must be at most ${MAX_BATCH_BODY} bytes`);
  });
  app.post('/v1/entries/batch', batchLimit, async (c) => {
    const body = new Uint8Array(await c.req.arrayBuffer());
    const wait = waitFor(c, witnessing);
    const entries = parseBatchBody(body, c.req.header('Content-Type'));
    chargeEntries(c, entries.length); // a token's quota counts entries
    const results = await log.addMany(entries);
    witnessing?.notify();
    let cp: WitnessedCheckpoint | undefined;
    if (wait === 'witnessed' && witnessing !== undefined) {
      const indices = results.map((r) => r.index);
      const [low, high] = [Math.min(...indices), Math.max(...indices)];
      const durable = `the entries ARE durably logged, at indices ${low} to ${high}`;
      cp = await witnessed(witnessing, high + 1, 'entries', durable);
    }
    return c.json({ receipts: await Promise.all(results.map((r) => receipt(log, r, cp))) });
  });

  app.get('/v1/entries/:index', async (c) => {
    const index = parseDecimal(c.req.param('index'), 'index');
    const entry = await log.entry(index);
    c.header('Content-Type', 'application/octet-stream');
    c.header('Cache-Control', IMMUTABLE);
    return c.body(toArrayBuffer(entry));
  });

  app.get('/v1/proof/inclusion', async (c) => {
    const size = parseDecimal(requireQuery(c, 'size'), 'size');
    const leafHashText = c.req.query('leafHash');
    let index: number;
    if (leafHashText !== undefined) {
      if (c.req.query('index') !== undefined) {
        throw new LogError('MALFORMED', 'give either index or leafHash, not both');
      }
      const found = await log.findLeaf(fromBase64(leafHashText, HASH_SIZE, 'leafHash'));
      if (found === undefined) throw new LogError('NOT_FOUND', 'no entry has that leaf hash');
      index = found;
    } else {
      index = parseDecimal(requireQuery(c, 'index'), 'index');
    }
    return c.json({ index, size, hashes: await log.inclusionProofBase64(index, size) });
  });

  app.get('/v1/proof/consistency', async (c) => {
    const from = parseDecimal(requireQuery(c, 'from'), 'from');
    const to = parseDecimal(requireQuery(c, 'to'), 'to');
    const hashes = await log.consistencyProof(from, to);
    return c.json({ from, to, hashes: hashes.map(toBase64) });
  });

  app.get('/v1/info', (c) => {
    const cp = log.checkpoint;
    return c.json({
      origin: log.origin,
      verifierKey: deps.verifierKey,
      size: cp.size,
      rootHash: toBase64(cp.rootHash),
      checkpoint: cp.note,
      quorum: witnessing?.quorum ?? 0,
      witnesses: witnessing?.status() ?? [],
    });
  });

  app.get('/healthz', (c) => {
    // Unhealthy while a failed write keeps the log from taking entries (recovery.ts).
    const storage = log.storageFailure;
    if (storage !== undefined) return c.json({ ok: false, size: log.size, reason: storage }, 503);
    // Unhealthy once a read found the store corrupt (integrity.ts): run candor fsck.
    const corruption = log.corruption;
    if (corruption !== undefined) return c.json({ ok: false, size: log.size, reason: `corrupt: ${corruption}` }, 503);
    return c.json({ ok: true, size: log.size });
  });

  app.get('/metrics', (c) => {
    c.header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8');
    const storageFailed = log.storageFailure !== undefined;
    const tokens = deps.writes?.renderMetrics() ?? '';
    return c.body(log.metrics.render({ queueDepth: log.queueDepth, storageFailed }) + tokens);
  });

  // Known paths with the wrong method get 405, not 404.
  const methods: Array<[string, string]> = [
    ['/checkpoint', 'GET'],
    ['/v1/checkpoint/witnessed', 'GET'],
    ['/tile/*', 'GET'],
    ['/v1/entries', 'POST'],
    ['/v1/entries/batch', 'POST'],
    ['/v1/entries/:index', 'GET'],
    ['/v1/proof/inclusion', 'GET'],
    ['/v1/proof/consistency', 'GET'],
    ['/v1/info', 'GET'],
    ['/healthz', 'GET'],
    ['/metrics', 'GET'],
  ];
  for (const [path, allow] of methods) {
    app.all(path, (c) => {
      c.header('Allow', allow === 'GET' ? 'GET, HEAD' : allow);
      return c.json(errorBody('METHOD_NOT_ALLOWED', `${c.req.method} is not allowed here; use ${allow}`), 405);
    });
  }
  registerProofBundle(app, { log, checkpoint: () => witnessing?.witnessed?.note ?? log.checkpoint.note });
  return app;
}

/** A receipt against the entry's own checkpoint, or against `cp` when given. */
export async function receipt(log: Log, r: AddResult, cp?: WitnessedCheckpoint): Promise<Receipt> {
  const { size, note } = cp ?? r.checkpoint;
  return {
    index: r.index,
    leafHash: toBase64(r.leafHash),
    duplicate: r.duplicate,
    checkpoint: note,
    inclusionProof: await log.inclusionProofBase64(r.index, size),
  };
}

/** Reads `?wait=`, before anything is logged. @throws LogError MALFORMED on a bad value. */
function waitFor(c: Context, witnessing: Witnessing | undefined): WaitFor {
  const wait = c.req.query('wait');
  if (wait === undefined || wait === 'sequenced') return 'sequenced';
  if (wait !== 'witnessed') {
    const got = JSON.stringify(wait.slice(0, 40));
    const want = '"sequenced" (the default) or "witnessed"';
    throw new LogError('MALFORMED', `wait must be ${want}, got ${got}`);
  }
  if (witnessing === undefined) {
    const why = 'this log has none configured';
    throw new LogError('MALFORMED', `wait=witnessed needs witnesses, and ${why}`);
  }
  return 'witnessed';
}

/**
 * Waits for a witnessed checkpoint of at least `size`; on a timeout or shutdown the error
 * says that the entries are nevertheless durably logged (`durable`) and safe to resubmit.
 */
async function witnessed(
  witnessing: Witnessing,
  size: number,
  what: string,
  durable: string
): Promise<WitnessedCheckpoint> {
  try {
    return await witnessing.waitFor(size);
  } catch (err) {
    const after = `(${durable}; retry with the same bytes is safe)`;
    if (isLogError(err, 'TIMEOUT')) {
      const it = what === 'entry' ? 'it' : 'them';
      const message =
        `${what} not witnessed within ${witnessing.waitTimeoutMs} ms: fewer than ` +
        `${witnessing.quorum} witnesses have cosigned a checkpoint that includes ${it} ${after}`;
      throw new LogError('TIMEOUT', message, { cause: err });
    }
    if (isLogError(err, 'CLOSED')) {
      throw new LogError('CLOSED', `the log is shutting down ${after}`, { cause: err });
    }
    throw err;
  }
}

function requireQuery(c: Context, name: string): string {
  const v = c.req.query(name);
  if (v === undefined) throw new LogError('MALFORMED', `query parameter ${name} is required`);
  return v;
}

function toArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}
