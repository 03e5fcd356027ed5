/**
 * Note signer and verifier keys (c2sp.org/signed-note §"Verifier keys", Go
 * `golang.org/x/mod/sumdb/note`; specs §2.2–§2.4).
 *
 * A verifier key (vkey) is `<name>+<key ID, 8 lowercase hex>+<base64(type ‖ public key)>`, and
 * a signer key (skey, Go's format, not in C2SP) is
 * `PRIVATE+KEY+<name>+<key ID>+<base64(0x01 ‖ 32-byte seed)>`, where
 * key ID = SHA-256(name ‖ 0x0A ‖ type ‖ public key)[:4] read big-endian, always over the
 * PUBLIC key. The base64 part may contain `+`, so strings are cut at the first separators
 * only, never split on every `+`.
 *
 * @example
 * skey: PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz
 * vkey: PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes, fromBase64, toBase64, utf8 } from '../util/bytes.js';
import { LogError } from '../util/errors.js';
import { ed25519PublicKey, ed25519Sign, ed25519Verify, randomSeed } from './ed25519.js';

/** Signature type byte for Ed25519 over the note text (c2sp.org/signed-note). */
export const SIG_TYPE_ED25519 = 0x01;
/** Signature type byte for timestamped Ed25519 cosignatures (c2sp.org/tlog-cosignature). */
export const SIG_TYPE_COSIGNATURE_V1 = 0x04;

/** Checks note signatures by one key, identified by the pair (name, keyId) (specs §7.1). */
export interface Verifier {
  readonly name: string;
  /** The uint32 key ID that prefixes this key's signatures. */
  readonly keyId: number;
  /** True when `sig` (without the 4-byte key ID) signs `msg` (the note text). Never throws. */
  verify(msg: Uint8Array, sig: Uint8Array): boolean;
}

/** Produces note signatures for one key (specs §7.1). */
export interface Signer {
  readonly name: string;
  readonly keyId: number;
  /** Signs `msg` (the note text); returns the signature WITHOUT the 4-byte key ID. */
  sign(msg: Uint8Array): Uint8Array;
}

/** A parsed verifier key string. */
export interface VerifierKey {
  name: string;
  keyId: number;
  /** SIG_TYPE_ED25519 or SIG_TYPE_COSIGNATURE_V1. */
  type: number;
  publicKey: Uint8Array;
}

/** A parsed Ed25519 signer key string. */
export interface SignerKey {
  name: string;
  /** The key ID over type 0x01 and the derived public key. */
  keyId: number;
  seed: Uint8Array;
}

/** Go `unicode.IsSpace` is exactly the Unicode White_Space property. */
const SPACE_RE = /\p{White_Space}/u;
/** Lone surrogates: a JS string can hold them, UTF-8 cannot. */
const LONE_SURROGATE_RE = /\p{Cs}/u;

function hasControl(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) < 0x20) return true;
  return false;
}

/** True when `name` is a valid key name: non-empty, no Unicode space, no `+`, no controls. */
export function isValidKeyName(name: string): boolean {
  return (
    typeof name === 'string' &&
    name !== '' &&
    !SPACE_RE.test(name) &&
    !name.includes('+') &&
    !hasControl(name) &&
    !LONE_SURROGATE_RE.test(name)
  );
}

/**
 * Checks a key name (specs §2.2): non-empty, no Unicode space (Go `unicode.IsSpace`), no `+`.
 * Stricter than Go in one respect: control characters and lone surrogates are also rejected,
 * since no note could ever carry them.
 * @throws LogError MALFORMED when the name is invalid.
 */
export function validateKeyName(name: string): void {
  if (!isValidKeyName(name)) {
    const shown = JSON.stringify(String(name).slice(0, 80));
    throw new LogError('MALFORMED', `invalid key name ${shown}`);
  }
}

function checkUint32(id: number): void {
  if (!Number.isInteger(id) || id < 0 || id > 0xffffffff) {
    throw new TypeError(`key ID must be a uint32, got ${String(id)}`);
  }
}

/** Computes the key ID: SHA-256(name ‖ 0x0A ‖ type ‖ publicKey)[:4], a big-endian uint32. */
export function computeKeyId(name: string, type: number, publicKey: Uint8Array): number {
  const digest = sha256(concatBytes(utf8(name), Uint8Array.of(0x0a, type), publicKey));
  return new DataView(digest.buffer, digest.byteOffset, 4).getUint32(0);
}

/** Formats a key ID as 8 lowercase hex digits. @throws TypeError unless `id` is a uint32. */
export function formatKeyId(id: number): string {
  checkUint32(id);
  return id.toString(16).padStart(8, '0');
}

/** Cuts `s` at the first `sep`; undefined when there is none. */
function cut(s: string, sep: string): [string, string] | undefined {
  const i = s.indexOf(sep);
  return i < 0 ? undefined : [s.slice(0, i), s.slice(i + sep.length)];
}

function parseKeyId(hex: string, what: string): number {
  if (!/^[0-9a-f]{8}$/.test(hex)) {
    throw new LogError('MALFORMED', `${what}: key ID must be 8 lowercase hex digits`);
  }
  return parseInt(hex, 16);
}

/**
 * Parses a verifier key `<name>+<keyid>+<base64(type ‖ key)>`. Accepts type 0x01 (Ed25519)
 * and 0x04 (cosignature/v1), each with a 32-byte key, and checks the key ID.
 * @throws LogError MALFORMED on any deviation.
 */
export function parseVerifierKey(vkey: string): VerifierKey {
  const first = cut(vkey, '+');
  const second = first && cut(first[1], '+');
  if (!first || !second) throw new LogError('MALFORMED', 'verifier key: missing "+" separator');
  const name = first[0];
  validateKeyName(name);
  const keyId = parseKeyId(second[0], 'verifier key');
  const raw = fromBase64(second[1], undefined, 'verifier key');
  const type = raw[0];
  if ((type !== SIG_TYPE_ED25519 && type !== SIG_TYPE_COSIGNATURE_V1) || raw.length !== 33) {
    throw new LogError('MALFORMED', 'verifier key: want type 0x01 or 0x04 with a 32-byte key');
  }
  const publicKey = raw.slice(1);
  if (computeKeyId(name, type, publicKey) !== keyId) {
    throw new LogError('MALFORMED', 'verifier key: key ID does not match the key');
  }
  return { name, keyId, type, publicKey };
}

/**
 * Formats a verifier key for a 32-byte Ed25519 public key with the given type byte.
 * @throws LogError MALFORMED on an invalid name; TypeError on a bad type or key length.
 */
export function formatVerifierKey(name: string, type: number, publicKey: Uint8Array): string {
  validateKeyName(name);
  if (type !== SIG_TYPE_ED25519 && type !== SIG_TYPE_COSIGNATURE_V1) {
    throw new TypeError(`unsupported key type ${String(type)}`);
  }
  if (publicKey.length !== 32) throw new TypeError('Ed25519 public key must be 32 bytes');
  const id = formatKeyId(computeKeyId(name, type, publicKey));
  return `${name}+${id}+${toBase64(concatBytes(Uint8Array.of(type), publicKey))}`;
}

/**
 * Parses a Go signer key `PRIVATE+KEY+<name>+<keyid>+<base64(0x01 ‖ seed)>` and checks the
 * key ID against the public key derived from the seed. Error messages never include the key.
 * @throws LogError MALFORMED on any deviation.
 */
export function parseSignerKey(skey: string): SignerKey {
  const rest = skey.startsWith('PRIVATE+KEY+') ? skey.slice('PRIVATE+KEY+'.length) : undefined;
  const first = rest === undefined ? undefined : cut(rest, '+');
  const second = first && cut(first[1], '+');
  if (!first || !second) throw new LogError('MALFORMED', 'signer key: not PRIVATE+KEY+name+id+key');
  const name = first[0];
  validateKeyName(name);
  const keyId = parseKeyId(second[0], 'signer key');
  let raw: Uint8Array;
  try {
    raw = fromBase64(second[1]);
  } catch {
    throw new LogError('MALFORMED', 'signer key: key is not canonical base64');
  }
  if (raw[0] !== SIG_TYPE_ED25519 || raw.length !== 33) {
    throw new LogError('MALFORMED', 'signer key: want type 0x01 with a 32-byte seed');
  }
  const seed = raw.slice(1);
  if (computeKeyId(name, SIG_TYPE_ED25519, ed25519PublicKey(seed)) !== keyId) {
    throw new LogError('MALFORMED', 'signer key: key ID does not match the key');
  }
  return { name, keyId, seed };
}

/**
 * Formats a Go signer key for a 32-byte Ed25519 seed.
 * @throws LogError MALFORMED on an invalid name; TypeError on a bad seed length.
 */
export function formatSignerKey(name: string, seed: Uint8Array): string {
  validateKeyName(name);
  const id = formatKeyId(computeKeyId(name, SIG_TYPE_ED25519, ed25519PublicKey(seed)));
  const key = toBase64(concatBytes(Uint8Array.of(SIG_TYPE_ED25519), seed));
  return `PRIVATE+KEY+${name}+${id}+${key}`;
}

/**
 * Generates an Ed25519 key pair (Go `note.GenerateKey`). Pass `seed` for deterministic keys.
 * @throws LogError MALFORMED on an invalid name.
 */
export function generateSignerKey(
  name: string,
  seed: Uint8Array = randomSeed()
): { signerKey: string; verifierKey: string } {
  return {
    signerKey: formatSignerKey(name, seed),
    verifierKey: formatVerifierKey(name, SIG_TYPE_ED25519, ed25519PublicKey(seed)),
  };
}

/**
 * Builds a Verifier for an Ed25519 (type 0x01) verifier key (Go `note.NewVerifier`).
 * @throws LogError MALFORMED on a malformed key or any other type.
 */
export function ed25519Verifier(vkey: string): Verifier {
  const { name, keyId, type, publicKey } = parseVerifierKey(vkey);
  if (type !== SIG_TYPE_ED25519) {
    throw new LogError('MALFORMED', 'verifier key: want an Ed25519 (type 0x01) key');
  }
  return {
    name,
    keyId,
    verify: (msg, sig) => ed25519Verify(publicKey, msg, sig),
  };
}

/**
 * Builds a Signer from a Go signer key (Go `note.NewSigner`). Signatures are deterministic.
 * @throws LogError MALFORMED on a malformed key.
 */
export function ed25519Signer(skey: string): Signer {
  const { name, keyId, seed } = parseSignerKey(skey);
  return { name, keyId, sign: (msg) => ed25519Sign(seed, msg) };
}
