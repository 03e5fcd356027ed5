/**
 * Where a backup or a restore reads a log from. Every source is a c2sp.org/tlog-tiles read
 * API (`<url>/checkpoint`, `<url>/tile/<L>/<N>[.p/<W>]`, `<url>/tile/entries/<N>[.p/<W>]`)
 * behind a FetchFn, so that one verified reading path (verified-read.ts, on the client's
 * VerifiedTileReader) serves them all:
 * - a log server, a mirror or a CDN: the global fetch on its URL;
 * - a stopped log's own data directory: storeFetch, answering from a LevelStore;
 * - a backup directory (docs/backup.md): backupFetch, after its SHA256SUMS were checked.
 * Nothing a source says is believed: the reader checks it against a signed checkpoint.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseTilePath, tileWidth } from '../merkle/tiles.js';
import type { FetchFn } from '../client/tile-reader.js';
import type { LogStore } from '../storage/store.js';
import { HASH_SIZE } from '../merkle/hash.js';
import { LogError } from '../util/errors.js';

/** The base URL the in-process sources answer under (never fetched over a network). */
export const LOCAL_URL = 'http://candor.local';

function answer(body: Uint8Array | string | undefined): Response {
  if (body === undefined) return new Response('not found', { status: 404 });
  const bytes = typeof body === 'string' ? new TextEncoder().encode(body) : body;
  return new Response(bytes as Uint8Array<ArrayBuffer>, { status: 200, headers: { 'content-length': String(bytes.length) } });
}

/** The tlog-tiles path of a URL under LOCAL_URL, without the leading slash. */
function localPath(url: string): string {
  if (!url.startsWith(LOCAL_URL + '/')) throw new TypeError(`${url} is not under ${LOCAL_URL}`);
  return url.slice(LOCAL_URL.length + 1);
}

/**
 * A FetchFn serving the log in an open store, read-only, at its latest checkpoint: the
 * checkpoint note, hash tiles and entry bundles of that size (a tile is served at a width
 * only when the checkpoint's tree holds that many hashes in it). Used to back up a log
 * whose server is stopped.
 */
export function storeFetch(store: LogStore): FetchFn {
  return async (url) => {
    const path = localPath(url);
    const cp = await store.latestCheckpoint();
    if (cp === undefined) return answer(undefined);
    if (path === 'checkpoint') return answer(cp.note);
    let tile;
    try {
      tile = parseTilePath(path);
    } catch {
      return answer(undefined);
    }
    const level = tile.kind === 'hash' ? tile.level : 0;
    const width = tile.width ?? 256;
    if (tileWidth(level, tile.index, cp.size) < width) return answer(undefined);
    if (tile.kind === 'entries') return answer(await store.readBundle(tile.index, width));
    const data = await store.readTile(tile.level, tile.index);
    if (data === undefined || data.length < width * HASH_SIZE) return answer(undefined);
    return answer(data.subarray(0, width * HASH_SIZE));
  };
}

/**
 * A FetchFn serving a backup directory under LOCAL_URL: its checkpoint and tile files,
 * 404 for anything else. The files' SHA256SUMS are checked beforehand (checkBackupSums in
 * restore-backup.ts); whatever is served is checked again against the signed tree.
 */
export function backupFetch(dir: string): FetchFn {
  return async (url) => {
    const path = localPath(url);
    if (path !== 'checkpoint') {
      try {
        parseTilePath(path);
      } catch {
        return answer(undefined);
      }
    }
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(await readFile(join(dir, path)));
    } catch (err) {
      if ((err as { code?: unknown }).code === 'ENOENT') return answer(undefined);
      throw new LogError('CORRUPT', `backup file ${path} cannot be read: ${(err as Error).message}`, { cause: err });
    }
    return answer(bytes);
  };
}
