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
 * candor signs with the RFC 6979 §3.2 deterministic nonce (HMAC-SHA-256 DRBG seeded with
 * the key and the message hash), which reproduces the DSSE spec's ECDSA vector byte for
 * byte. The curve arithmetic is BigInt and NOT constant-time: acceptable for a CLI
 * signing a few records on its owner's machine, not for a signing service. Verification
 * never uses this code: it goes through node:crypto (OpenSSL), see keys.ts. Each
 * signature made here is checked with OpenSSL before it is returned.
 */
import { createHmac, createHash } from 'node:crypto';

/** The order n of P-256's base point. */
export const P256_N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
const P = 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn;
const GX = 0x6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296n;
const GY = 0x4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5n;

const mod = (a: bigint, m: bigint): bigint => {
  const r = a % m;
  return r < 0n ? r + m : r;
};

function modPow(base: bigint, exp: bigint, m: bigint): bigint {
  let result = 1n;
  let b = mod(base, m);
  let e = exp;
  while (e > 0n) {
    if (e % 2n === 1n) result = (result * b) % m;
    b = (b * b) % m;
    e /= 2n;
  }
  return result;
}

// Fermat inverse: m is prime for both uses (p and n).
const inv = (a: bigint, m: bigint): bigint => modPow(a, m - 2n, m);

/** A point in Jacobian coordinates (X/Z², Y/Z³); Z = 0 is the point at infinity. */
type Jac = [bigint, bigint, bigint];
const INFINITY: Jac = [0n, 1n, 0n];

// Doubling for a = -3 (dbl-2001-b).
function double([x, y, z]: Jac): Jac {
  if (z === 0n || y === 0n) return INFINITY;
  const delta = (z * z) % P;
  const gamma = (y * y) % P;
  const beta = (x * gamma) % P;
  const alpha = mod(3n * (x - delta) * (x + delta), P);
  const x3 = mod(alpha * alpha - 8n * beta, P);
  const z3 = mod((y + z) * (y + z) - gamma - delta, P);
  const y3 = mod(alpha * (4n * beta - x3) - 8n * gamma * gamma, P);
  return [x3, y3, z3];
}

// General addition (add-2007-bl), falling back to doubling for equal points.
function add(p1: Jac, p2: Jac): Jac {
  const [x1, y1, z1] = p1;
  const [x2, y2, z2] = p2;
  if (z1 === 0n) return p2;
  if (z2 === 0n) return p1;
  const z1z1 = (z1 * z1) % P;
  const z2z2 = (z2 * z2) % P;
  const u1 = (x1 * z2z2) % P;
  const u2 = (x2 * z1z1) % P;
  const s1 = (y1 * z2 * z2z2) % P;
  const s2 = (y2 * z1 * z1z1) % P;
  if (u1 === u2) return s1 === s2 ? double(p1) : INFINITY;
  const h = mod(u2 - u1, P);
  const i = (4n * h * h) % P;
  const j = (h * i) % P;
  const r = mod(2n * (s2 - s1), P);
  const v = (u1 * i) % P;
  const x3 = mod(r * r - j - 2n * v, P);
  const y3 = mod(r * (v - x3) - 2n * s1 * j, P);
  const z3 = mod(((z1 + z2) * (z1 + z2) - z1z1 - z2z2) * h, P);
  return [x3, y3, z3];
}

// k·G with a Montgomery ladder: the same sequence of operations for every k of 256 bits.
function baseMultiplyX(k: bigint): bigint {
  let r0: Jac = INFINITY;
  let r1: Jac = [GX, GY, 1n];
  for (let bit = 255n; bit >= 0n; bit--) {
    if ((k / 2n ** bit) % 2n === 1n) {
      r0 = add(r0, r1);
      r1 = double(r1);
    } else {
      r1 = add(r0, r1);
      r0 = double(r0);
    }
  }
  const zInv = inv(r0[2], P);
  return (r0[0] * zInv * zInv) % P;
}

function toBytes32(n: bigint): Uint8Array {
  return Uint8Array.from(Buffer.from(n.toString(16).padStart(64, '0'), 'hex'));
}

function fromBytes(b: Uint8Array): bigint {
  return b.length === 0 ? 0n : BigInt('0x' + Buffer.from(b).toString('hex'));
}

function hmac(key: Uint8Array, ...parts: Uint8Array[]): Uint8Array {
  const h = createHmac('sha256', key);
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

/**
 * Signs `message` (hashed here with SHA-256) with the P-256 private scalar `d`, using the
 * RFC 6979 deterministic nonce. Returns raw `r ‖ s` (64 bytes), s not normalized.
 * Not constant-time (see the module comment).
 * @throws TypeError when d is not in [1, n-1].
 */
export function ecdsaP256SignDeterministic(d: bigint, message: Uint8Array): Uint8Array {
  if (d <= 0n || d >= P256_N) throw new TypeError('ECDSA P-256 private key out of range');
  const h = new Uint8Array(createHash('sha256').update(message).digest());
  const e = fromBytes(h);
  // RFC 6979 §3.2 with qlen = hlen = 256: bits2int is the identity, bits2octets reduces mod n.
  const x = toBytes32(d);
  const h1 = toBytes32(mod(e, P256_N));
  let v: Uint8Array = new Uint8Array(32).fill(1);
  let k: Uint8Array = new Uint8Array(32);
  k = hmac(k, v, Uint8Array.of(0), x, h1);
  v = hmac(k, v);
  k = hmac(k, v, Uint8Array.of(1), x, h1);
  v = hmac(k, v);
  for (;;) {
    v = hmac(k, v);
    const nonce = fromBytes(v);
    if (nonce >= 1n && nonce < P256_N) {
      const r = mod(baseMultiplyX(nonce), P256_N);
      const s = mod(inv(nonce, P256_N) * (e + r * d), P256_N);
      if (r !== 0n && s !== 0n) {
        const out = new Uint8Array(64);
        out.set(toBytes32(r), 0);
        out.set(toBytes32(s), 32);
        return out;
      }
    }
    k = hmac(k, v, Uint8Array.of(0));
    v = hmac(k, v);
  }
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
