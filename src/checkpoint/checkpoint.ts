/**
 * Checkpoints (c2sp.org/tlog-checkpoint v1.0.0; specs §3): the signed note text a log
 * publishes to commit to its tree. The text is the origin line, the tree size in canonical
 * decimal, the base64 RFC 6962 root hash (32 bytes), then optional extension lines, each
 * ending in `\n`. candor never emits extension lines (they split implementations, specs §4.1)
 * and rejects them on input unless asked not to.
 *
 * @example
 * A checkpoint note for the 8-leaf tree of specs §8.1, signed by
 * `example.com/testlog+3814a360+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW`:
 *
 *     example.com/testlog
 *     8
 *     XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=
 *
 *     — example.com/testlog OBSjYCxDpu8fyr7NuKXgNXWu25Ks4wrlnX0eQ6wwwqxrq024FLZEvzeTT+bFbmvjSu2f7p78iGvweJAOSG9YRH8huA0=
 */
import { fromBase64, toBase64 } from '../util/bytes.js';
import { LogError } from '../util/errors.js';
import { parseDecimal } from '../util/integers.js';
import type { Verifier } from '../note/keys.js';
import {
  DEFAULT_MAX_NOTE_SIZE,
  isValidNoteText,
  parseNote,
  verifyNote,
  type OpenedNote,
  type ParseNoteOptions,
} from '../note/note.js';

/** A parsed checkpoint body. */
export interface Checkpoint {
  /** The log's unique identity, e.g. `example.com/testlog`. Not necessarily its key name. */
  origin: string;
  /** The tree size (at most 2^53 - 1 in candor; the format allows up to 2^63 - 1). */
  size: number;
  /** The 32-byte RFC 6962 root hash. */
  rootHash: Uint8Array;
  /** Extension lines, without their newlines; always empty unless allowExtensions. */
  extensions: string[];
}

/** Options for parseCheckpoint and openCheckpoint. */
export interface ParseCheckpointOptions {
  /** Accept (and return) extension lines after the root hash; default false. */
  allowExtensions?: boolean;
}

/** Options for openCheckpoint. */
export interface OpenCheckpointOptions extends ParseCheckpointOptions, ParseNoteOptions {
  /** The origin this caller expects; a different origin throws UNKNOWN_LOG. */
  origin?: string;
}

/** Size of an RFC 6962 SHA-256 root hash. */
const HASH_SIZE = 32;
/** Unicode white space at either end of the origin (Go `unicode.IsSpace`). */
const EDGE_SPACE_RE = /^\p{White_Space}|\p{White_Space}$/u;

function malformed(why: string): LogError {
  return new LogError('MALFORMED', `malformed checkpoint: ${why}`);
}

/** Why `origin` is not acceptable, or undefined when it is. */
function originProblem(origin: string): string | undefined {
  if (origin === '') return 'empty origin';
  if (origin.includes('\n') || !isValidNoteText(`${origin}\n`)) {
    return 'control character in origin';
  }
  if (EDGE_SPACE_RE.test(origin)) return 'origin starts or ends with white space';
  return undefined;
}

/**
 * Formats a checkpoint body: `<origin>\n<size>\n<base64 root>\n`, with no extension lines.
 * @throws TypeError on an empty or multi-line origin, an unsafe size or a root that is not
 *   32 bytes.
 */
export function formatCheckpoint(cp: {
  origin: string;
  size: number;
  rootHash: Uint8Array;
}): string {
  const problem = originProblem(cp.origin);
  if (problem !== undefined) throw new TypeError(`formatCheckpoint: ${problem}`);
  if (!Number.isSafeInteger(cp.size) || cp.size < 0) {
    throw new TypeError(`formatCheckpoint: bad size ${String(cp.size)}`);
  }
  if (cp.rootHash.length !== HASH_SIZE) {
    throw new TypeError(`formatCheckpoint: root hash must be ${HASH_SIZE} bytes`);
  }
  return `${cp.origin}\n${cp.size}\n${toBase64(cp.rootHash)}\n`;
}

/**
 * Parses a checkpoint body strictly (specs §3): at least three lines each ending in `\n`; a
 * non-empty origin without control characters or surrounding white space; a canonical
 * decimal size (no sign, no leading zeros) of at most 2^53 - 1; a canonical base64 root of
 * exactly 32 bytes; non-empty extension lines, only when `allowExtensions`.
 * @throws LogError MALFORMED on any deviation.
 */
export function parseCheckpoint(text: string, options: ParseCheckpointOptions = {}): Checkpoint {
  if (text.length > DEFAULT_MAX_NOTE_SIZE) throw malformed('too large');
  if (!text.endsWith('\n')) throw malformed('does not end in a newline');
  if (!isValidNoteText(text)) throw malformed('control character or invalid UTF-8');
  const lines = text.slice(0, -1).split('\n');
  if (lines.length < 3) throw malformed('fewer than three lines');
  const [origin, sizeText, rootText, ...extensions] = lines as [string, string, string];
  const problem = originProblem(origin);
  if (problem !== undefined) throw malformed(problem);
  const size = parseDecimal(sizeText, 'checkpoint size');
  const rootHash = fromBase64(rootText, HASH_SIZE, 'checkpoint root hash');
  if (extensions.length > 0 && options.allowExtensions !== true) {
    throw malformed('extension lines are not accepted');
  }
  for (const ext of extensions) {
    if (ext === '') throw malformed('empty extension line');
  }
  return { origin, size, rootHash, extensions };
}

/**
 * Parses a signed checkpoint note and authenticates it with the log's key. Order of checks:
 * note syntax and checkpoint syntax (MALFORMED), then the expected origin when given
 * (UNKNOWN_LOG), then the log's signature (BAD_SIGNATURE). Signatures by other keys
 * (witness cosignatures, rotated keys) are returned unverified in `note.unverified`.
 * @throws LogError MALFORMED, UNKNOWN_LOG or BAD_SIGNATURE.
 */
export function openCheckpoint(
  note: string | Uint8Array,
  logVerifier: Verifier,
  options: OpenCheckpointOptions = {}
): { checkpoint: Checkpoint; note: OpenedNote } {
  const parsed = parseNote(note, options.maxSize === undefined ? {} : { maxSize: options.maxSize });
  const checkpoint = parseCheckpoint(
    parsed.text,
    options.allowExtensions === undefined ? {} : { allowExtensions: options.allowExtensions }
  );
  if (options.origin !== undefined && checkpoint.origin !== options.origin) {
    const got = JSON.stringify(checkpoint.origin.slice(0, 100));
    const want = JSON.stringify(options.origin);
    throw new LogError('UNKNOWN_LOG', `checkpoint origin ${got} is not the expected ${want}`);
  }
  return { checkpoint, note: verifyNote(parsed, [logVerifier]) };
}
