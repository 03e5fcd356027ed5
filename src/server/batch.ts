/**
 * The body of POST /v1/entries/batch, in one of two forms chosen by Content-Type:
 * - `application/json`: `{"entries": ["<standard base64>", ...]}`, strict JSON (RFC 8259
 *   without a byte-order mark or a repeated key; src/governance/strict-json.ts);
 * - `application/octet-stream`: entries as in a tlog-tiles entry bundle, each a
 *   big-endian uint16 length followed by that many bytes.
 */
import { LogError } from '../util/errors.js';
import { fromBase64 } from '../util/bytes.js';
import { isJsonObject, parseStrictJson } from '../governance/strict-json.js';

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
  // Strict JSON: JSON.parse would take the last of two "entries" keys (a proxy or auditor
  // reading the first would see another batch than the one logged) and TextDecoder would
  // drop a leading byte-order mark. Both are refused, as is nesting beyond the form's.
  if (body[0] === 0xef && body[1] === 0xbb && body[2] === 0xbf) {
    throw new LogError('MALFORMED', 'the batch body starts with a byte-order mark: send JSON without one');
  }
  const parsed = parseStrictJson(body, 'the batch body', 8);
  const list = isJsonObject(parsed) ? parsed.entries : undefined;
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
