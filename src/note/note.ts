/**
 * Signed notes (c2sp.org/signed-note v1.0.0; Go `golang.org/x/mod/sumdb/note`; specs §2).
 *
 * A note is UTF-8 text (one or more lines, each ending in `\n`), a blank line, then one or
 * more signature lines `— <key name> <base64(key ID[4] ‖ signature)>\n`. The message is split
 * at the LAST `\n\n`; the signed bytes are the text including its final newline. Parsing is
 * strict (style P4): no control characters but `\n`, canonical base64, at most 100 signature
 * lines, a size cap, and every line must match the grammar.
 *
 * @example
 * The C2SP example note, signed by `example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k`:
 *
 *     This is an example message.
 *
 *     — example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=
 */
import { concatBytes, fromBase64, fromUtf8, toBase64, utf8 } from '../util/bytes.js';
import { LogError } from '../util/errors.js';
import { isValidKeyName, type Signer, type Verifier } from './keys.js';

/** One signature line of a note. */
export interface NoteSignature {
  name: string;
  /** The uint32 key ID from the first 4 decoded bytes. */
  keyId: number;
  /** The signature bytes, WITHOUT the 4-byte key ID. */
  signature: Uint8Array;
  /** The full line as it appears in the note: `— name base64\n`. */
  line: string;
}

/** A syntactically valid note whose signatures have not been checked. */
export interface ParsedNote {
  /** The signed text, ending in `\n`. */
  text: string;
  signatures: NoteSignature[];
}

/** A note with at least one signature verified by a trusted key. */
export interface OpenedNote {
  text: string;
  /** Signatures by known keys, each verified; one per (name, keyId), in note order. */
  verified: NoteSignature[];
  /** Signatures by unknown keys, unchecked; exact duplicate lines dropped. */
  unverified: NoteSignature[];
}

/** Options for parsing notes. */
export interface ParseNoteOptions {
  /** Maximum note size in UTF-8 bytes; default DEFAULT_MAX_NOTE_SIZE (1 MiB). */
  maxSize?: number;
}

/** Most signature lines a note may carry, counting unknown ones (Go's limit; spec minimum 16). */
export const MAX_NOTE_SIGNATURES = 100;
/** Default cap on a note's size in bytes. */
export const DEFAULT_MAX_NOTE_SIZE = 1024 * 1024;

const SIG_PREFIX = '— '; // U+2014 EM DASH, then a space.
/** Lone surrogates: a JS string can hold them, UTF-8 cannot. */
const LONE_SURROGATE_RE = /\p{Cs}/u;

/** True when `s` has a control character other than `\n` (all are forbidden in notes). */
function hasControl(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 && c !== 0x0a) return true;
  }
  return false;
}

/**
 * True when `text` can be the signed text of a note: non-empty, ends in `\n`, and has no
 * control characters other than `\n` and no lone surrogates (which have no UTF-8 form).
 */
export function isValidNoteText(text: string): boolean {
  return (
    typeof text === 'string' &&
    text.endsWith('\n') &&
    !hasControl(text) &&
    !LONE_SURROGATE_RE.test(text)
  );
}

function malformed(why: string): LogError {
  return new LogError('MALFORMED', `malformed note: ${why}`);
}

function decodeMessage(msg: string | Uint8Array, maxSize: number): string {
  if (typeof msg === 'string') {
    // Each UTF-16 code unit takes at least one UTF-8 byte: cheap bound before encoding.
    if (msg.length > maxSize || utf8(msg).length > maxSize) throw malformed('too large');
    return msg;
  }
  if (msg.length > maxSize) throw malformed('too large');
  try {
    return fromUtf8(msg);
  } catch {
    throw malformed('not valid UTF-8');
  }
}

function parseSignatureLine(line: string): NoteSignature {
  if (!line.startsWith(SIG_PREFIX)) throw malformed('signature line does not start with "— "');
  const body = line.slice(SIG_PREFIX.length);
  const space = body.indexOf(' ');
  if (space < 0) throw malformed('signature line has no signature');
  const name = body.slice(0, space);
  if (!isValidKeyName(name)) throw malformed('invalid key name in signature line');
  const raw = fromBase64(body.slice(space + 1), undefined, 'note signature');
  if (raw.length < 5) throw malformed('signature shorter than 5 bytes');
  const keyId = new DataView(raw.buffer, raw.byteOffset, 4).getUint32(0);
  return { name, keyId, signature: raw.slice(4), line: line + '\n' };
}

/**
 * Parses a note without checking any signature. Use openNote to authenticate it.
 * @throws LogError MALFORMED when the note breaks any rule of the module comment.
 */
export function parseNote(msg: string | Uint8Array, options: ParseNoteOptions = {}): ParsedNote {
  const text0 = decodeMessage(msg, options.maxSize ?? DEFAULT_MAX_NOTE_SIZE);
  if (hasControl(text0) || LONE_SURROGATE_RE.test(text0)) {
    throw malformed('control character or invalid UTF-8');
  }
  const split = text0.lastIndexOf('\n\n');
  if (split < 0) throw malformed('no blank line before the signatures');
  const text = text0.slice(0, split + 1);
  const block = text0.slice(split + 2);
  if (block === '') throw malformed('no signatures');
  if (!block.endsWith('\n')) throw malformed('signature block does not end in a newline');
  const lines = block.slice(0, -1).split('\n');
  if (lines.length > MAX_NOTE_SIGNATURES) throw malformed('too many signatures');
  return { text, signatures: lines.map(parseSignatureLine) };
}

/**
 * Checks the signatures of a parsed note, with Go `note.Open` semantics (specs §2.5): a
 * signature is matched to a verifier by the pair (name, keyId); unknown signatures are kept
 * unchecked; only the first signature per known key is considered (later ones are dropped
 * unchecked); a known key's failing signature fails the whole note.
 * @throws LogError BAD_SIGNATURE when a known key's signature fails or no known key signed;
 *   TypeError when two verifiers share the (name, keyId) of a signature in the note.
 */
export function verifyNote(note: ParsedNote, verifiers: readonly Verifier[]): OpenedNote {
  const known = new Map<string, Verifier[]>();
  for (const v of verifiers) {
    const k = `${v.name} ${v.keyId}`;
    const list = known.get(k);
    if (list) list.push(v);
    else known.set(k, [v]);
  }
  const msg = utf8(note.text);
  const verified: NoteSignature[] = [];
  const unverified: NoteSignature[] = [];
  const seenKnown = new Set<string>();
  const seenUnknownLines = new Set<string>();
  for (const sig of note.signatures) {
    const k = `${sig.name} ${sig.keyId}`;
    const candidates = known.get(k);
    if (candidates === undefined) {
      if (seenUnknownLines.has(sig.line)) continue;
      seenUnknownLines.add(sig.line);
      unverified.push(sig);
      continue;
    }
    if (candidates.length > 1) {
      // Go's ambiguousVerifierError: the caller's key list is at fault, not the note.
      throw new TypeError(`ambiguous verifiers for key ${sig.name} ${formatId(sig.keyId)}`);
    }
    if (seenKnown.has(k)) continue;
    seenKnown.add(k);
    if (!candidates[0]!.verify(msg, sig.signature)) {
      throw new LogError(
        'BAD_SIGNATURE',
        `invalid signature by trusted key ${sig.name} ${formatId(sig.keyId)}`
      );
    }
    verified.push(sig);
  }
  if (verified.length === 0) {
    throw new LogError('BAD_SIGNATURE', 'note is not signed by any trusted key');
  }
  return { text: note.text, verified, unverified };
}

/**
 * Parses and authenticates a note (Go `note.Open`): parseNote, then verifyNote.
 * @throws LogError MALFORMED or BAD_SIGNATURE; see parseNote and verifyNote.
 */
export function openNote(
  msg: string | Uint8Array,
  verifiers: readonly Verifier[],
  options: ParseNoteOptions = {}
): OpenedNote {
  return verifyNote(parseNote(msg, options), verifiers);
}

function formatId(id: number): string {
  return id.toString(16).padStart(8, '0');
}

/**
 * Formats one signature line `— <name> <base64(keyId ‖ signature)>\n`.
 * @throws LogError MALFORMED on an invalid name; TypeError on a bad key ID or empty signature.
 */
export function formatSignatureLine(name: string, keyId: number, signature: Uint8Array): string {
  if (!isValidKeyName(name)) throw malformed('invalid key name');
  if (!Number.isInteger(keyId) || keyId < 0 || keyId > 0xffffffff) {
    throw new TypeError(`key ID must be a uint32, got ${String(keyId)}`);
  }
  if (signature.length === 0) throw new TypeError('empty signature');
  const id = new Uint8Array(4);
  new DataView(id.buffer).setUint32(0, keyId);
  return `${SIG_PREFIX}${name} ${toBase64(concatBytes(id, signature))}\n`;
}

/**
 * Signs `text` with every signer and returns the whole note (Go `note.Sign`): the text, a
 * blank line, the `existing` signatures except those whose (name, keyId) a new signer
 * replaces, then the new signatures in signer order. A witness adding its cosignature
 * passes the log's signatures as `existing`, so its line lands after the log's.
 * @throws LogError MALFORMED when `text` is empty, does not end in `\n` or contains control
 *   characters, or the result would exceed MAX_NOTE_SIGNATURES; TypeError on a bad signer.
 */
export function signNote(
  text: string,
  signers: readonly Signer[],
  existing: readonly NoteSignature[] = []
): string {
  if (!isValidNoteText(text)) {
    throw malformed('text must end in a newline and have no control characters');
  }
  const msg = utf8(text);
  const replaced = new Set<string>();
  const fresh: string[] = [];
  for (const s of signers) {
    if (!isValidKeyName(s.name)) {
      throw new TypeError(`invalid signer name ${JSON.stringify(s.name)}`);
    }
    replaced.add(`${s.name} ${s.keyId}`);
    fresh.push(formatSignatureLine(s.name, s.keyId, s.sign(msg)));
  }
  const kept = existing
    .filter((sig) => !replaced.has(`${sig.name} ${sig.keyId}`))
    .map((sig) => formatSignatureLine(sig.name, sig.keyId, sig.signature));
  if (kept.length + fresh.length === 0) throw new TypeError('signNote needs at least one signer');
  if (kept.length + fresh.length > MAX_NOTE_SIGNATURES) throw malformed('too many signatures');
  return text + '\n' + kept.join('') + fresh.join('');
}
