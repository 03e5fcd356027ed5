/**
 * ECDSA over NIST P-256 with SHA-256 (FIPS 186-5): the signature encodings real tools
 * emit, and deterministic signing (RFC 6979).
 *
 * Encodings. cosign, sigstore, model_signing and OpenSSL write ASN.1 DER
 * (`SEQUENCE { INTEGER r, INTEGER s }`, 8 to 72 bytes); the DSSE spec's own vector, JOSE
 * and WebCrypto write raw `r ‖ s` (64 bytes, each big-endian, zero-padded). ecdsaRawSignature
 * accepts both: strict DER first (minimal lengths and integers, no trailing bytes), else
 * exactly 64 raw bytes. A 64-byte raw signature that happens to parse as DER is read as
 * DER; that needs specific bytes in six places and never happens by chance in practice,
 * and verification then simply fails.
 *
 * Signing. Node's ECDSA picks a random nonce, so the same record signed twice gives two
 * envelopes and the log would hold it twice. `candor record` must be safe to retry, so
 * candor signs with the RFC 6979 §3.2 deterministic nonce, through @noble/curves (audited,
 * constant-time scalar multiplication), which reproduces the DSSE spec's ECDSA vector byte
 * for byte. Verification goes through node:crypto (OpenSSL), see keys.ts; each signature
 * made here is also checked with OpenSSL before it is returned.
 */
import { p256 } from '@noble/curves/nist.js';

/** The order n of P-256's base point. */
export const P256_N = p256.Point.CURVE().n;

/**
 * Signs `message` (hashed here with SHA-256) with the P-256 private scalar `d`, using the
 * RFC 6979 deterministic nonce. Returns raw `r ‖ s` (64 bytes), s not normalized (the
 * form the DSSE spec's vector has; OpenSSL and cosign accept either half).
 * @throws TypeError when d is not in [1, n-1].
 */
export function ecdsaP256SignDeterministic(d: bigint, message: Uint8Array): Uint8Array {
  if (d <= 0n || d >= P256_N) throw new TypeError('ECDSA P-256 private key out of range');
  const secret = new Uint8Array(32);
  let rest = d;
  for (let i = 31; i >= 0; i--) {
    secret[i] = Number(rest % 256n);
    rest /= 256n;
  }
  return p256.sign(message, secret, { prehash: true, lowS: false, format: 'compact' });
}

// One minimal, positive DER INTEGER of at most 33 bytes at `at`; returns [value, next].
function derInteger(sig: Uint8Array, at: number): [Uint8Array, number] | undefined {
  if (sig[at] !== 0x02) return undefined;
  const len = sig[at + 1];
  if (len === undefined || len < 1 || len > 33 || at + 2 + len > sig.length) return undefined;
  const v = sig.subarray(at + 2, at + 2 + len);
  if (v[0]! >= 0x80) return undefined; // negative
  if (len > 1 && v[0] === 0 && v[1]! < 0x80) return undefined; // non-minimal
  const value = v[0] === 0 ? v.subarray(1) : v;
  if (value.length > 32) return undefined;
  return [value, at + 2 + len];
}

/**
 * Reads an ECDSA P-256 signature in strict DER or raw `r ‖ s` form and returns it raw
 * (64 bytes), or undefined when it is neither. Range checks on r and s are left to the
 * verifier.
 */
export function ecdsaRawSignature(sig: Uint8Array): Uint8Array | undefined {
  if (sig.length >= 8 && sig[0] === 0x30 && sig[1] === sig.length - 2 && sig[1]! < 0x80) {
    const r = derInteger(sig, 2);
    const s = r === undefined ? undefined : derInteger(sig, r[1]);
    if (r !== undefined && s !== undefined && s[1] === sig.length) {
      const out = new Uint8Array(64);
      out.set(r[0], 32 - r[0].length);
      out.set(s[0], 64 - s[0].length);
      return out;
    }
  }
  return sig.length === 64 ? sig : undefined;
}

/** DER-encodes a raw `r ‖ s` P-256 signature (what OpenSSL and cosign write). */
export function ecdsaDerSignature(raw: Uint8Array): Uint8Array {
  if (raw.length !== 64) throw new TypeError('raw ECDSA P-256 signature must be 64 bytes');
  const int = (b: Uint8Array): number[] => {
    let i = 0;
    while (i < b.length - 1 && b[i] === 0) i++;
    const v = Array.from(b.subarray(i));
    if (v[0]! >= 0x80) v.unshift(0);
    return [0x02, v.length, ...v];
  };
  const body = [...int(raw.subarray(0, 32)), ...int(raw.subarray(32))];
  return Uint8Array.from([0x30, body.length, ...body]);
}
