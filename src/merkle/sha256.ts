/**
 * SHA-256 (FIPS 180-4) for the isomorphic client's hot path: one-shot, allocation-free but
 * for the 32-byte result. Verifying an inclusion proof hashes about twenty 65-byte node
 * inputs; a general-purpose hasher object per call (construct, update, digest, wipe) costs
 * more than the two compression rounds themselves, so this reuses one message schedule and
 * one padding buffer. Hashing is synchronous, so no two calls can share them at once.
 *
 * It hashes public data only (tree nodes and entries): nothing here needs constant time.
 * test/merkle/sha256.test.ts checks it against @noble/hashes and node:crypto on every
 * length up to 1 KiB and on the FIPS 180-2 vectors; useSha256 checks any plug-in against
 * the "abc" vector too.
 */

// The first 32 bits of the fractional parts of the cube roots of the first 64 primes.
const K = Uint32Array.from([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

// The first 32 bits of the fractional parts of the square roots of the first 8 primes.
const IV = Uint32Array.from([
  0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
]);

const W = new Uint32Array(64);
const H = new Uint32Array(8);
// The last one or two blocks: the tail of the message, 0x80, zeros, the bit length.
const TAIL = new Uint8Array(128);

/** One compression round over the 64-byte block of `b` at `at`, into H. */
function compress(b: Uint8Array, at: number): void {
  for (let i = 0; i < 16; i++, at += 4) {
    W[i] = (b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!;
  }
  for (let i = 16; i < 64; i++) {
    const w15 = W[i - 15]!;
    const w2 = W[i - 2]!;
    const s0 = ((w15 >>> 7) | (w15 << 25)) ^ ((w15 >>> 18) | (w15 << 14)) ^ (w15 >>> 3);
    const s1 = ((w2 >>> 17) | (w2 << 15)) ^ ((w2 >>> 19) | (w2 << 13)) ^ (w2 >>> 10);
    W[i] = (W[i - 16]! + s0 + W[i - 7]! + s1) | 0;
  }
  let a = H[0]!;
  let b1 = H[1]!;
  let c = H[2]!;
  let d = H[3]!;
  let e = H[4]!;
  let f = H[5]!;
  let g = H[6]!;
  let h = H[7]!;
  for (let i = 0; i < 64; i++) {
    const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const ch = (e & f) ^ (~e & g);
    const t1 = (h + S1 + ch + K[i]! + W[i]!) | 0;
    const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const maj = (a & b1) ^ (a & c) ^ (b1 & c);
    const t2 = (S0 + maj) | 0;
    h = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b1;
    b1 = a;
    a = (t1 + t2) | 0;
  }
  H[0] = (H[0]! + a) | 0;
  H[1] = (H[1]! + b1) | 0;
  H[2] = (H[2]! + c) | 0;
  H[3] = (H[3]! + d) | 0;
  H[4] = (H[4]! + e) | 0;
  H[5] = (H[5]! + f) | 0;
  H[6] = (H[6]! + g) | 0;
  H[7] = (H[7]! + h) | 0;
}

/**
 * SHA-256 of `data` (up to 2^53 / 8 bytes); returns a fresh 32-byte array and keeps no
 * reference to `data`.
 */
export function sha256(data: Uint8Array): Uint8Array {
  H.set(IV);
  const n = data.length;
  const full = n - (n % 64);
  for (let at = 0; at < full; at += 64) compress(data, at);
  // Padding: the rest of the message, 0x80, zeros, then the length in bits (64-bit BE).
  const rest = n - full;
  const blocks = rest < 56 ? 1 : 2;
  TAIL.fill(0, 0, blocks * 64);
  TAIL.set(data.subarray(full), 0);
  TAIL[rest] = 0x80;
  const bits = n * 8;
  const end = blocks * 64;
  const high = Math.floor(bits / 0x100000000);
  const low = bits - high * 0x100000000;
  TAIL[end - 8] = high >>> 24;
  TAIL[end - 7] = (high >>> 16) & 0xff;
  TAIL[end - 6] = (high >>> 8) & 0xff;
  TAIL[end - 5] = high & 0xff;
  TAIL[end - 4] = low >>> 24;
  TAIL[end - 3] = (low >>> 16) & 0xff;
  TAIL[end - 2] = (low >>> 8) & 0xff;
  TAIL[end - 1] = low & 0xff;
  compress(TAIL, 0);
  if (blocks === 2) compress(TAIL, 64);
  const out = new Uint8Array(32);
  for (let i = 0; i < 8; i++) {
    const v = H[i]!;
    out[4 * i] = v >>> 24;
    out[4 * i + 1] = (v >>> 16) & 0xff;
    out[4 * i + 2] = (v >>> 8) & 0xff;
    out[4 * i + 3] = v & 0xff;
  }
  return out;
}
