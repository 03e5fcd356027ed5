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

// noble-ed25519 v3 leaves its synchronous SHA-512 hook empty; set it once, here.
ed.hashes.sha512 = sha512;

/** Size in bytes of an Ed25519 seed (the RFC 8032 private key). */
export const ED25519_SEED_SIZE = 32;
/** Size in bytes of an Ed25519 public key. */
export const ED25519_PUBLIC_KEY_SIZE = 32;
/** Size in bytes of an Ed25519 signature. */
export const ED25519_SIGNATURE_SIZE = 64;

const VERIFY_OPTIONS = { zip215: false } as const;

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
  return ed.sign(msg, seed);
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
