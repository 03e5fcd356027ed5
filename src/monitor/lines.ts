/**
 * The monitor's standard output: one JSON object per line, each with a `type`.
 *
 *   {"type":"entry","index":…,"leafHash":"<base64>","checkpointSize":…,"origin":…,
 *    "entry":"<base64>","json":{…}}
 *   {"type":"checkpoint","origin":…,"size":…,"rootHash":"<base64>","witnesses":[…],"note":…}
 *   {"type":"alert",…}                      only with --json-alerts (see alerts.ts)
 *
 * An entry line is written once the entry was checked against tiles authenticated to the
 * root of the checkpoint of size `checkpointSize`. `json` is present when the entry is a
 * UTF-8 JSON object or array (most governance records are); `entry` always holds the exact
 * bytes. A checkpoint line follows the last entry of each newly trusted checkpoint: every
 * entry below its `size` has then been emitted, in order.
 */
import { leafHash } from '../merkle/hash.js';
import { toBase64 } from '../util/bytes.js';

const decoder = new TextDecoder('utf-8', { fatal: true });

// '{' or '[' after optional JSON white space.
function looksLikeJson(entry: Uint8Array): boolean {
  for (const b of entry) {
    if (b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d) continue;
    return b === 0x7b || b === 0x5b;
  }
  return false;
}

/** The entry parsed as JSON when it is a UTF-8 JSON object or array, else undefined. */
export function entryJson(entry: Uint8Array): unknown {
  if (!looksLikeJson(entry)) return undefined;
  try {
    return JSON.parse(decoder.decode(entry)) as unknown;
  } catch {
    return undefined;
  }
}

/** The stdout line (with its newline) for entry `index`, verified at tree size `size`. */
export function entryLine(origin: string, index: number, entry: Uint8Array, size: number): string {
  const line: Record<string, unknown> = {
    type: 'entry',
    index,
    leafHash: toBase64(leafHash(entry)),
    checkpointSize: size,
    origin,
    entry: toBase64(entry),
  };
  const json = entryJson(entry);
  if (json !== undefined) line.json = json;
  return JSON.stringify(line) + '\n';
}

/** The stdout line (with its newline) for a newly trusted checkpoint whose entries are out. */
export function checkpointLine(cp: {
  origin: string;
  size: number;
  rootHash: Uint8Array;
  note: string;
  witnesses: readonly string[];
}): string {
  return (
    JSON.stringify({
      type: 'checkpoint',
      origin: cp.origin,
      size: cp.size,
      rootHash: toBase64(cp.rootHash),
      witnesses: cp.witnesses,
      note: cp.note,
    }) + '\n'
  );
}
