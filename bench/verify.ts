/**
 * Client inclusion verifications per second (child process): candor's client check of an
 * RFC 6962 inclusion proof (verifyInclusion: the leaf hash up the proof to the checkpoint's
 * root) in a tree of about 2^20 entries, with `--sha js` (the isomorphic client's default,
 * src/merkle/sha256.ts), `--sha noble` (@noble/hashes, plugged in with useSha256) or
 * `--sha node` (node:crypto, as servers plug it in).
 * Prints one JSON line.
 */
import { leafHash, useSha256 } from '../src/merkle/hash.js';
import { rootFromInclusion, verifyInclusion } from '../src/merkle/verify.js';
import { nodeSha256 } from '../src/server/node-crypto.js';
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import { flags, makeEntry, num } from './common.js';

const f = flags(process.argv.slice(2));
const sha = f.get('sha') ?? 'js';
if (sha === 'node') useSha256(nodeSha256);
else if (sha === 'noble') useSha256(nobleSha256);
else if (sha !== 'js') throw new Error('--sha must be js, noble or node');
const seconds = num(f, 'seconds', 3);
const size = 1_048_576 + 12_345;

// 1000 proofs with random sibling hashes; their root is what a log would have signed.
const cases = Array.from({ length: 1000 }, (_, i) => {
  const index = Math.floor((i / 1000) * size);
  const leaf = leafHash(makeEntry(i));
  let proof: Uint8Array[] = [];
  // The length rootFromInclusion wants: try until it accepts (it names the length).
  for (let len = 0; len <= 63; len++) {
    proof = Array.from({ length: len }, (_, k) => leafHash(makeEntry(i * 64 + k + 1)));
    try {
      return { index, leaf, proof, root: rootFromInclusion(leaf, index, size, proof) };
    } catch {
      continue;
    }
  }
  throw new Error('no proof length fits');
});

let n = 0;
let hashes = 0;
const t0 = performance.now();
const until = t0 + seconds * 1000;
while (performance.now() < until) {
  for (const c of cases) {
    verifyInclusion(c.leaf, c.index, size, c.proof, c.root);
    hashes += c.proof.length;
  }
  n += cases.length;
}
const elapsed = (performance.now() - t0) / 1000;
console.log(JSON.stringify({ sha, size, verifications: n, perSecond: n / elapsed, proofHashes: hashes / n }));
