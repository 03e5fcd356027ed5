/**
 * `GET /v1/proof/bundle?index=I`: an offline proof (c2sp.org/tlog-proof) of entry I against
 * the latest witnessed checkpoint (or the latest checkpoint when the log has no
 * witnesses), with the entry's leaf hash as `extra`. `text/plain; charset=utf-8`; verify it
 * with `candor verify` or the client's verifyProofFile.
 *
 * 400 MALFORMED for a missing or non-canonical index; 404 NOT_FOUND when the entry is not
 * (yet) in that checkpoint, e.g. logged but not yet witnessed.
 */
import type { Hono } from 'hono';
import { parseCheckpoint } from '../checkpoint/checkpoint.js';
import { formatProofFile } from '../client/proof-file.js';
import { leafHash } from '../merkle/hash.js';
import { parseNote } from '../note/note.js';
import { LogError } from '../util/errors.js';
import { parseDecimal } from '../util/integers.js';
import { errorBody } from './errors.js';

/** What the route needs: the checkpoint to prove against, and the log (the Log fits). */
export interface ProofBundleDeps {
  /**
   * The note to prove against: the latest checkpoint with a quorum of cosignatures, or the
   * latest log-signed one when the log has no witnesses (or none has a quorum yet).
   */
  checkpoint: () => string | Promise<string>;
  log: {
    /** RFC 6962 inclusion proof of `index` in the tree of `size`. */
    inclusionProof(index: number, size: number): Promise<Uint8Array[]>;
    /** The bytes of entry `index`. */
    entry(index: number): Promise<Uint8Array>;
  };
}

/**
 * Registers `GET /v1/proof/bundle` (and 405 for other methods) on `app`. Errors are thrown
 * as LogErrors for the app's onError handler.
 * @example
 * registerProofBundle(app, { log, checkpoint: () => log.checkpoint.note });
 */
export function registerProofBundle(app: Hono, deps: ProofBundleDeps): void {
  app.get('/v1/proof/bundle', async (c) => {
    const text = c.req.query('index');
    if (text === undefined) throw new LogError('MALFORMED', 'query parameter index is required');
    const index = parseDecimal(text, 'index');
    const note = await deps.checkpoint();
    const { size } = parseCheckpoint(parseNote(note).text);
    if (index >= size) {
      throw new LogError(
        'NOT_FOUND',
        `entry ${index} is not in the latest witnessed checkpoint (size ${size})`
      );
    }
    const [proof, entry] = await Promise.all([
      deps.log.inclusionProof(index, size),
      deps.log.entry(index),
    ]);
    c.header('Content-Type', 'text/plain; charset=utf-8');
    c.header('Cache-Control', 'no-store');
    return c.body(formatProofFile({ extra: leafHash(entry), index, proof, checkpoint: note }));
  });
  app.all('/v1/proof/bundle', (c) => {
    c.header('Allow', 'GET, HEAD');
    const why = `${c.req.method} is not allowed here; use GET`;
    return c.json(errorBody('METHOD_NOT_ALLOWED', why), 405);
  });
}
