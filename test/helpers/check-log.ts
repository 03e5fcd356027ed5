/**
 * Reads a whole log back through its public tlog-tiles API and authenticates everything:
 * the checkpoint signature, every hash tile (each level-L hash must be the root of its
 * 256^L leaves, and the leaves must hash to the checkpoint's root, computed with the
 * naive reference tree, not candor's tree code), and every entry bundle (each entry's
 * leaf hash must be the matching level-0 tile hash). Test-only: it downloads everything.
 * It throws on any mismatch (no vitest dependency), so scripts/crash-campaign.ts uses it too.
 */
import { openCheckpoint } from '../../src/checkpoint/checkpoint.js';
import { ed25519Verifier } from '../../src/note/keys.js';
import { formatTilePath } from '../../src/merkle/tiles.js';
import { leafHash } from '../../src/merkle/hash.js';
import { referenceRoot } from './reference-tree.js';

/** Throws `what` unless `cond` holds. */
function check(cond: boolean, what: string): void {
  if (!cond) throw new Error(`served log check failed: ${what}`);
}

export type FetchFn = (path: string) => Promise<Response>;

export interface CheckedLog {
  size: number;
  rootHash: Uint8Array;
  entries: Uint8Array[];
  note: string;
}

async function get(fetchFn: FetchFn, path: string): Promise<Uint8Array> {
  const res = await fetchFn(path);
  if (res.status !== 200) throw new Error(`GET ${path}: HTTP ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}

/** Fetches and authenticates the whole log; throws on any mismatch. */
export async function checkServedLog(fetchFn: FetchFn, verifierKey: string): Promise<CheckedLog> {
  const note = new TextDecoder().decode(await get(fetchFn, '/checkpoint'));
  const { checkpoint } = openCheckpoint(note, ed25519Verifier(verifierKey));
  const size = checkpoint.size;

  // Entries and level-0 hashes.
  const entries: Uint8Array[] = [];
  const leaves: Uint8Array[] = [];
  for (let n = 0; n * 256 < size; n++) {
    const width = Math.min(256, size - n * 256);
    const w = width === 256 ? undefined : width;
    const bundle = await get(fetchFn, '/' + formatTilePath({ kind: 'entries', index: n, ...(w ? { width: w } : {}) }));
    const tile = await get(fetchFn, '/' + formatTilePath({ kind: 'hash', level: 0, index: n, ...(w ? { width: w } : {}) }));
    check(tile.length === width * 32, `level-0 tile ${n} holds ${tile.length} bytes, not ${width * 32}`);
    let off = 0;
    for (let k = 0; k < width; k++) {
      const len = bundle[off]! * 256 + bundle[off + 1]!;
      const entry = bundle.slice(off + 2, off + 2 + len);
      off += 2 + len;
      const h = tile.slice(k * 32, k * 32 + 32);
      check(Buffer.from(leafHash(entry)).equals(Buffer.from(h)), `entry ${n * 256 + k} does not hash to its tile hash`);
      entries.push(entry);
      leaves.push(h);
    }
    check(off === bundle.length, `entry bundle ${n} has ${bundle.length - off} bytes after its entries`);
  }
  check(
    Buffer.from(referenceRoot(leaves)).equals(Buffer.from(checkpoint.rootHash)),
    `the entries do not hash to the checkpoint's root (size ${size})`
  );

  // Higher levels: hash k of tile (L, n) is the root of leaves [(n·256+k)·256^L, +256^L).
  for (let level = 1; 256 ** level <= size; level++) {
    const span = 256 ** level;
    const count = Math.floor(size / span); // complete level-L hashes
    for (let n = 0; n * 256 < count; n++) {
      const width = Math.min(256, count - n * 256);
      const w = width === 256 ? undefined : width;
      const tile = await get(fetchFn, '/' + formatTilePath({ kind: 'hash', level, index: n, ...(w ? { width: w } : {}) }));
      check(tile.length === width * 32, `tile ${level}/${n} holds ${tile.length} bytes, not ${width * 32}`);
      for (let k = 0; k < width; k++) {
        const start = (n * 256 + k) * span;
        const want = referenceRoot(leaves.slice(start, start + span));
        check(Buffer.from(tile.slice(k * 32, k * 32 + 32)).equals(Buffer.from(want)), `hash ${k} of tile ${level}/${n} is wrong`);
      }
    }
  }
  return { size, rootHash: checkpoint.rootHash, entries, note };
}
