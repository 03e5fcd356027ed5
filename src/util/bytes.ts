/**
 * Byte helpers: strict base64 and hex, comparison, concatenation and big-endian integers.
 * Strict means canonical: decoding then re-encoding gives back the exact input text, so a
 * value has exactly one accepted spelling (no missing padding, no stray characters, no
 * non-zero padding bits).
 */
import { LogError } from './errors.js';

const B64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

const B64_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64_VALUES = new Int16Array(128).fill(-1);
for (let i = 0; i < B64_ALPHABET.length; i++) B64_VALUES[B64_ALPHABET.charCodeAt(i)] = i;

// This module runs unchanged in browsers (the client uses it), so it uses no Buffer.

/** Standard base64 (RFC 4648 §4) with padding. */
export function toBase64(bytes: Uint8Array): string {
  let out = '';
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out +=
      B64_ALPHABET[(n >> 18) & 63]! +
      B64_ALPHABET[(n >> 12) & 63]! +
      B64_ALPHABET[(n >> 6) & 63]! +
      B64_ALPHABET[n & 63]!;
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = bytes[i]! << 16;
    out += B64_ALPHABET[(n >> 18) & 63]! + B64_ALPHABET[(n >> 12) & 63]! + '==';
  } else if (rest === 2) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8);
    out +=
      B64_ALPHABET[(n >> 18) & 63]! +
      B64_ALPHABET[(n >> 12) & 63]! +
      B64_ALPHABET[(n >> 6) & 63]! +
      '=';
  }
  return out;
}

function decodeBase64Unchecked(text: string): Uint8Array {
  let pad = 0;
  if (text.endsWith('==')) pad = 2;
  else if (text.endsWith('=')) pad = 1;
  const out = new Uint8Array((text.length / 4) * 3 - pad);
  let o = 0;
  for (let i = 0; i < text.length; i += 4) {
    const a = B64_VALUES[text.charCodeAt(i)]!;
    const b = B64_VALUES[text.charCodeAt(i + 1)]!;
    const c = text[i + 2] === '=' ? 0 : B64_VALUES[text.charCodeAt(i + 2)]!;
    const d = text[i + 3] === '=' ? 0 : B64_VALUES[text.charCodeAt(i + 3)]!;
    const n = (a << 18) | (b << 12) | (c << 6) | d;
    if (o < out.length) out[o++] = (n >> 16) & 255;
    if (o < out.length) out[o++] = (n >> 8) & 255;
    if (o < out.length) out[o++] = n & 255;
  }
  return out;
}

/**
 * Decodes canonical standard base64 with padding. Throws LogError MALFORMED on anything
 * else. When `length` is given, the decoded value must have exactly that many bytes.
 */
export function fromBase64(text: string, length?: number, what = 'base64 value'): Uint8Array {
  if (!B64_RE.test(text)) throw new LogError('MALFORMED', `${what} is not canonical base64`);
  const bytes = decodeBase64Unchecked(text);
  // Rejects non-zero padding bits: only the canonical spelling round-trips.
  if (toBase64(bytes) !== text) {
    throw new LogError('MALFORMED', `${what} is not canonical base64`);
  }
  if (length !== undefined && bytes.length !== length) {
    throw new LogError('MALFORMED', `${what} must decode to ${length} bytes, got ${bytes.length}`);
  }
  return bytes;
}

const B64_CODES = Uint8Array.from(B64_ALPHABET, (c) => c.charCodeAt(0));

/** Characters of the standard padded base64 of `n` bytes. */
export function base64Length(n: number): number {
  return Math.ceil(n / 3) * 4;
}

/**
 * Writes the standard padded base64 of `bytes` as ASCII into `out` at `at` (which must have
 * room for base64Length(bytes.length) bytes); returns the offset after it. The same text
 * as toBase64, without an intermediate string: for answers assembled as bytes.
 */
export function base64Into(bytes: Uint8Array, out: Uint8Array, at: number): number {
  const n = bytes.length;
  let i = 0;
  for (; i + 3 <= n; i += 3) {
    const v = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out[at++] = B64_CODES[v >>> 18]!;
    out[at++] = B64_CODES[(v >>> 12) & 63]!;
    out[at++] = B64_CODES[(v >>> 6) & 63]!;
    out[at++] = B64_CODES[v & 63]!;
  }
  if (i < n) {
    const two = i + 1 < n;
    const v = (bytes[i]! << 16) | ((two ? bytes[i + 1]! : 0) << 8);
    out[at++] = B64_CODES[v >>> 18]!;
    out[at++] = B64_CODES[(v >>> 12) & 63]!;
    out[at++] = two ? B64_CODES[(v >>> 6) & 63]! : 0x3d;
    out[at++] = 0x3d;
  }
  return at;
}

/** Lowercase hex. */
export function toHex(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) out += (b < 16 ? '0' : '') + b.toString(16);
  return out;
}

/** Decodes lowercase or uppercase hex of even length; throws LogError MALFORMED otherwise. */
export function fromHex(text: string, length?: number, what = 'hex value'): Uint8Array {
  if (text.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(text)) {
    throw new LogError('MALFORMED', `${what} is not hex`);
  }
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.slice(2 * i, 2 * i + 2), 16);
  if (length !== undefined && out.length !== length) {
    throw new LogError('MALFORMED', `${what} must be ${length} bytes`);
  }
  return out;
}

/** Constant-length byte equality (not constant-time; nothing here compares secrets). */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Concatenates byte arrays into a new array. */
export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let total = 0;
  for (const p of parts) total += p.length;
  const out = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** Encodes a safe non-negative integer as 8 bytes big-endian (a uint64). */
export function u64be(n: number): Uint8Array {
  if (!Number.isSafeInteger(n) || n < 0) throw new TypeError(`u64be: bad value ${String(n)}`);
  const out = new Uint8Array(8);
  const hi = Math.floor(n / 0x100000000);
  const lo = n - hi * 0x100000000;
  const view = new DataView(out.buffer);
  view.setUint32(0, hi);
  view.setUint32(4, lo);
  return out;
}

/** Reads 8 bytes big-endian at `offset`; throws LogError MALFORMED when beyond 2^53 - 1. */
export function readU64be(bytes: Uint8Array, offset = 0): number {
  if (bytes.length < offset + 8) throw new LogError('MALFORMED', 'uint64 truncated');
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, 8);
  const n = view.getUint32(0) * 0x100000000 + view.getUint32(4);
  if (!Number.isSafeInteger(n)) throw new LogError('MALFORMED', 'uint64 beyond 2^53 - 1');
  return n;
}

const encoder = new TextEncoder();
const strictDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** UTF-8 encode. */
export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

/** Strict UTF-8 decode: throws LogError MALFORMED on invalid UTF-8. */
export function fromUtf8(bytes: Uint8Array, what = 'text'): string {
  try {
    return strictDecoder.decode(bytes);
  } catch {
    throw new LogError('MALFORMED', `${what} is not valid UTF-8`);
  }
}
