/**
 * Reading a whole log from a tlog-tiles source (sources.ts), authenticated: the checkpoint
 * must verify under the log's verifier key, and every entry bundle is checked by the
 * client's VerifiedTileReader against that checkpoint's tree (its level-0 hash tile is
 * proven to the root, and each entry must hash to its leaf hash there). Bundles are read a
 * few at a time ahead of the consumer, in order, so memory stays bounded whatever the log's
 * size.
 */
import { openCheckpoint } from '../checkpoint/checkpoint.js';
import { httpGet } from '../client/http.js';
import { DEFAULT_FETCH_TIMEOUT_MS, type FetchFn } from '../client/tile-reader.js';
import { VerifiedTileReader, type TrustedTree } from '../client/verified-tiles.js';
import { TILE_WIDTH } from '../merkle/tiles.js';
import { ed25519Verifier } from '../note/keys.js';
import { LogError, isLogError } from '../util/errors.js';

/** A checkpoint that verified under the log's key. */
export interface VerifiedSourceCheckpoint extends TrustedTree {
  origin: string;
  /** The note exactly as the source served it. */
  note: string;
}

/** A tlog-tiles source and how to reach it. */
export interface TileSource {
  /** Its URL prefix (LOCAL_URL for in-process sources), without a trailing slash. */
  url: string;
  fetch: FetchFn;
  /** Bound on each request, in milliseconds; default 10 s. */
  timeoutMs?: number;
}

/** Largest checkpoint note accepted from a source. */
const MAX_CHECKPOINT_BYTES = 1024 * 1024;

/**
 * Fetches `<url>/checkpoint` and verifies it under `verifierKey`.
 * @throws LogError BAD_SIGNATURE when the log's key did not sign it; MALFORMED for a bad
 *   note or checkpoint; NOT_FOUND when the source serves none; PUSHBACK / TIMEOUT on HTTP
 *   failures.
 */
export async function fetchVerifiedCheckpoint(
  source: TileSource,
  verifierKey: string
): Promise<VerifiedSourceCheckpoint> {
  const url = `${source.url}/checkpoint`;
  const timeoutMs = source.timeoutMs ?? DEFAULT_FETCH_TIMEOUT_MS;
  const body = await httpGet(source.fetch, url, { maxBytes: MAX_CHECKPOINT_BYTES, timeoutMs });
  let note: string;
  try {
    note = new TextDecoder('utf-8', { fatal: true }).decode(body!);
  } catch (err) {
    throw new LogError('MALFORMED', `${url}: the checkpoint is not UTF-8 text`, { cause: err });
  }
  try {
    const { checkpoint } = openCheckpoint(note, ed25519Verifier(verifierKey));
    return { origin: checkpoint.origin, size: checkpoint.size, rootHash: checkpoint.rootHash, note };
  } catch (err) {
    if (!isLogError(err)) throw err;
    throw new LogError(err.code, `${url}: ${err.message} (verifier key ${verifierKey})`, { cause: err });
  }
}

/** One entry bundle of the log, authenticated. */
export interface VerifiedBundle {
  /** The bundle's number: its entries have indices 256·index onwards. */
  index: number;
  entries: Uint8Array[];
}

/**
 * Yields every entry bundle of `tree` in order, each authenticated (module comment), with
 * at most `ahead` bundles fetched and waiting.
 * @throws LogError ENTRY_MISMATCH naming the entry when one does not hash to the tree's
 *   leaf hash; PROOF_FAILED when a hash tile does not lead to the root; MALFORMED,
 *   NOT_FOUND, PUSHBACK, TIMEOUT or CORRUPT from the source.
 */
export async function* verifiedBundles(
  source: TileSource,
  tree: TrustedTree,
  ahead = 8
): AsyncGenerator<VerifiedBundle> {
  const reader = new VerifiedTileReader(source.url, {
    fetch: source.fetch,
    ...(source.timeoutMs === undefined ? {} : { timeoutMs: source.timeoutMs }),
  });
  const count = Math.ceil(tree.size / TILE_WIDTH);
  const pending: Promise<VerifiedBundle>[] = [];
  let next = 0;
  const fill = (): void => {
    while (next < count && pending.length < ahead) {
      const index = next++;
      const p = reader.entryBundle(index, tree).then((entries) => ({ index, entries }));
      p.catch(() => {}); // awaited in order below; do not let a later failure go unhandled
      pending.push(p);
    }
  };
  fill();
  while (pending.length > 0) {
    const bundle = await pending.shift()!;
    fill();
    yield bundle;
  }
}
