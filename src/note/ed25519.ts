/**
 * Ed25519 (RFC 8032) for signed notes and cosignatures. This is the ONLY module that imports
 * `@noble/ed25519` (style P15), so the library's configuration and the verification mode are
 * fixed here, once, for the whole project. It runs unchanged in browsers: no `node:` imports,
 * no Buffer, randomness from the global `crypto.getRandomValues`.
 *
 * Verification mode: strict RFC 8032 / FIPS 186-5 (`zip215: false`), chosen to match Go's
 * `crypto/ed25519` (what `golang.org/x/mod/sumdb/note` and the witness ecosystem use) as
 * closely as noble allows. Both reject S >= L and non-canonical R. Known remaining differences,
 * reachable only by a signer crafting degenerate keys or signatures, never by honest ones:
 * - noble rejects small-order public keys and non-canonical public-key encodings (y >= p);
 *   Go accepts both.
 * - noble checks the cofactored equation [8][S]B = [8]R + [8][k]A; Go checks the cofactorless
 *   one and compares R byte for byte, so a signature with a torsion component in R can verify
 *   here and fail in Go.
 * See specs §9 item 6.
 *
 * @example
 * const seed = randomSeed();
 * const sig = ed25519Sign(seed, utf8('hello\n'));
 * ed25519Verify(ed25519PublicKey(seed), utf8('hello\n'), sig); // true
 */
import * as ed from '@noble/ed25519';
import { sha512 } from '@noble/hashes/sha2.js';
import { fromHex, toHex } from '../util/bytes.js';

// noble-ed25519 v3 leaves its synchronous SHA-512 hook empty; set it once, here.
ed.hashes.sha512 = sha512;

/** Size in bytes of an Ed25519 seed (the RFC 8032 private key). */
export const ED25519_SEED_SIZE = 32;
/** Size in bytes of an Ed25519 public key. */
export const ED25519_PUBLIC_KEY_SIZE = 32;
/** Size in bytes of an Ed25519 signature. */
export const ED25519_SIGNATURE_SIZE = 64;

const VERIFY_OPTIONS = { zip215: false } as const;

/**
 * A faster Ed25519 implementation a server process can plug in (node:crypto, on OpenSSL).
 * `sign` must be RFC 8032 (deterministic, byte-identical to noble's); `verify` gets inputs
 * of the right lengths only and must not throw.
 */
export interface Ed25519Backend {
  sign(seed: Uint8Array, msg: Uint8Array): Uint8Array;
  verify(publicKey: Uint8Array, msg: Uint8Array, sig: Uint8Array): boolean;
}

let backend: Ed25519Backend | undefined;

// RFC 8032 §7.1, TEST 2: a one-byte message (0x72).
const RFC8032_SEED = '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb';
const RFC8032_SIG =
  '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da' +
  '085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00';

/**
 * Replaces the Ed25519 implementation behind ed25519Sign and ed25519Verify in this process,
 * for example with node:crypto on a server. Call it once at start-up. The public-key checks
 * noble makes in strict mode (canonical encoding, not of small order) still run here, once
 * per key, before a backend is asked to verify, so a backend can only be as strict or
 * stricter than the default.
 * @throws TypeError when the backend does not reproduce RFC 8032's test vector 2.
 */
export function useEd25519(impl: Ed25519Backend): void {
  const seed = fromHex(RFC8032_SEED);
  const msg = Uint8Array.of(0x72);
  const sig = impl.sign(seed, msg);
  const pub = ed.getPublicKey(seed);
  const flipped = fromHex(RFC8032_SIG);
  flipped[0]! ^= 1;
  if (
    toHex(sig) !== RFC8032_SIG ||
    !impl.verify(pub, msg, sig) ||
    impl.verify(pub, msg, flipped) ||
    impl.verify(pub, Uint8Array.of(0x73), sig)
  ) {
    throw new TypeError('useEd25519: the backend does not implement RFC 8032 Ed25519');
  }
  backend = impl;
}

// Public keys already checked for what strict verification requires (see useEd25519);
// a bounded memo, since a process verifies few distinct keys (a log's, its witnesses').
const goodKeys = new Map<string, boolean>();
const GOOD_KEYS_MAX = 4096;

function strictKeyOk(publicKey: Uint8Array): boolean {
  const id = toHex(publicKey);
  let ok = goodKeys.get(id);
  if (ok === undefined) {
    try {
      ok = !ed.Point.fromBytes(publicKey, false).isSmallOrder();
    } catch {
      ok = false;
    }
    if (goodKeys.size >= GOOD_KEYS_MAX) goodKeys.clear();
    goodKeys.set(id, ok);
  }
  return ok;
}

function checkSeed(seed: Uint8Array): void {
  if (!(seed instanceof Uint8Array) || seed.length !== ED25519_SEED_SIZE) {
    // Never echo the seed itself into an error message.
    throw new TypeError(`Ed25519 seed must be ${ED25519_SEED_SIZE} bytes`);
  }
}

/**
 * Derives the 32-byte public key from a 32-byte seed.
 * @throws TypeError when the seed is not 32 bytes.
 */
export function ed25519PublicKey(seed: Uint8Array): Uint8Array {
  checkSeed(seed);
  return ed.getPublicKey(seed);
}

/**
 * Signs `msg` with the 32-byte seed; returns the 64-byte signature. Deterministic
 * (RFC 8032 §5.1.6): the same seed and message always give the same signature.
 * @throws TypeError when the seed is not 32 bytes.
 */
export function ed25519Sign(seed: Uint8Array, msg: Uint8Array): Uint8Array {
  checkSeed(seed);
  return backend === undefined ? ed.sign(msg, seed) : backend.sign(seed, msg);
}

/**
 * Verifies a 64-byte Ed25519 signature in strict RFC 8032 mode (see the module comment).
 * Never throws: wrong lengths, undecodable points and any other bad input give `false`.
 */
export function ed25519Verify(publicKey: Uint8Array, msg: Uint8Array, sig: Uint8Array): boolean {
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== ED25519_PUBLIC_KEY_SIZE) {
    return false;
  }
  if (!(sig instanceof Uint8Array) || sig.length !== ED25519_SIGNATURE_SIZE) return false;
  if (!(msg instanceof Uint8Array)) return false;
  try {
    if (backend !== undefined) return strictKeyOk(publicKey) && backend.verify(publicKey, msg, sig);
    return ed.verify(sig, msg, publicKey, VERIFY_OPTIONS);
  } catch {
    return false;
  }
}

/** Returns a fresh random 32-byte seed from `crypto.getRandomValues`. */
export function randomSeed(): Uint8Array {
  const seed = new Uint8Array(ED25519_SEED_SIZE);
  globalThis.crypto.getRandomValues(seed);
  return seed;
}
