/**
 * The body of POST /v1/entries/batch, in one of two forms chosen by Content-Type:
 * - `application/json`: `{"entries": ["<standard base64>", ...]}`;
 * - `application/octet-stream`: entries as in a tlog-tiles entry bundle, each a
 *   big-endian uint16 length followed by that many bytes.
 */
import { LogError } from '../util/errors.js';
import { fromBase64 } from '../util/bytes.js';

/** Largest batch body accepted, in bytes. */
export const MAX_BATCH_BODY = 16 * 1024 * 1024;
/** Most entries in one batch request. */
export const MAX_BATCH_ENTRIES = 4096;

/**
 * Parses a batch body into entries.
 * @throws LogError MALFORMED for a body that does not follow its form, EMPTY for no entries,
 * TOO_LARGE for more than MAX_BATCH_ENTRIES entries.
 */
export function parseBatchBody(body: Uint8Array, contentType: string | undefined): Uint8Array[] {
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  let entries: Uint8Array[];
  if (type === 'application/json') entries = parseJsonBatch(body);
  else if (type === 'application/octet-stream') entries = parseBundleBatch(body);
  else {
    throw new LogError(
      'MALFORMED',
      'a batch needs Content-Type application/json ({"entries": [base64...]}) or application/octet-stream (uint16-length-prefixed entries)'
    );
  }
  if (entries.length === 0) throw new LogError('EMPTY', 'a batch must hold at least one entry');
  if (entries.length > MAX_BATCH_ENTRIES) {
    throw new LogError('TOO_LARGE', `a batch may hold at most ${MAX_BATCH_ENTRIES} entries`);
  }
  return entries;
}

function parseJsonBatch(body: Uint8Array): Uint8Array[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body));
  } catch {
    throw new LogError('MALFORMED', 'the batch body is not valid JSON');
  }
  const list = (parsed as { entries?: unknown } | null)?.entries;
  if (!Array.isArray(list)) {
    throw new LogError('MALFORMED', 'the batch body must be {"entries": [base64, ...]}');
  }
  if (list.length > MAX_BATCH_ENTRIES) {
    throw new LogError('TOO_LARGE', `a batch may hold at most ${MAX_BATCH_ENTRIES} entries`);
  }
  return list.map((e, i) => {
    if (typeof e !== 'string') throw new LogError('MALFORMED', `entries[${i}] is not a string`);
    return fromBase64(e, undefined, `entries[${i}]`);
  });
}

function parseBundleBatch(body: Uint8Array): Uint8Array[] {
  const entries: Uint8Array[] = [];
  let off = 0;
  while (off < body.length) {
    if (off + 2 > body.length) throw new LogError('MALFORMED', 'truncated length prefix in batch');
    const len = body[off]! * 256 + body[off + 1]!;
    off += 2;
    if (off + len > body.length) throw new LogError('MALFORMED', 'truncated entry in batch');
    entries.push(body.slice(off, off + len));
    off += len;
    if (entries.length > MAX_BATCH_ENTRIES) {
      throw new LogError('TOO_LARGE', `a batch may hold at most ${MAX_BATCH_ENTRIES} entries`);
    }
  }
  return entries;
}
