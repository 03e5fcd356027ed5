/**
 * Sublevel names and key encodings for LevelStore. Every key is bytes, laid out so that
 * LevelDB's bytewise order is the order we iterate in:
 *
 * | sublevel | key                                   | value                          |
 * |----------|---------------------------------------|--------------------------------|
 * | `b`      | bundle N, uint64 BE ‖ offset (1 byte) | entry chunk (below)            |
 * | `t`      | level (1 byte) ‖ index, uint64 BE     | raw tile bytes (32 × width)    |
 * | `c`      | tree size, uint64 BE (8 bytes)        | msgpack checkpoint record      |
 * | `m`      | {@link META_KEY}                      | msgpack meta record            |
 *
 * Entries are stored in chunks: the entries one commit appended to one tlog-tiles entry
 * bundle (indices N·256 + offset onwards, never past the bundle's end), in the bundle's own
 * encoding (each a big-endian uint16 length, then its bytes). A commit writes one record per
 * bundle it touches instead of one per entry, a full bundle is the concatenation of its
 * chunks, and a chunk is never rewritten. (Format 2; format 1 kept one record per entry in
 * sublevel `e`, which a store of this format refuses to open.)
 *
 * The leaf-hash index is a LevelDB of its own in `<dir>/dedup` (dedup-index.ts): key the
 * 32-byte leaf hash, value the msgpack uint entry index, plus one watermark record.
 *
 * Names are one character because abstract-level prefixes every key with `!name!`:
 * three bytes per key instead of, say, ten for `!entries!`, on every entry and hash.
 * Big-endian integers make bytewise order numeric order, so a range of indices is one
 * contiguous key range and the latest checkpoint is the last key of `c`.
 */
import { readU64be, u64be } from '../util/bytes.js';
import { assertIndex } from '../util/integers.js';
import { LogError } from '../util/errors.js';

/** Sublevel names. Changing one is an on-disk format change. */
export const SUBLEVEL = {
  chunks: 'b',
  tiles: 't',
  checkpoints: 'c',
  meta: 'm',
} as const;

/**
 * The key `key` of sublevel `name` as the root database stores it: `!name!` then the key,
 * exactly the bytes abstract-level's sublevels prefix their keys with. Commits write these
 * root keys directly (one chained batch), reads go through the sublevels.
 */
export function rootKey(name: (typeof SUBLEVEL)[keyof typeof SUBLEVEL], key: Uint8Array): Uint8Array {
  const out = new Uint8Array(3 + key.length);
  out[0] = 0x21; // '!'
  out[1] = name.charCodeAt(0);
  out[2] = 0x21;
  out.set(key, 3);
  return out;
}

/** The single key in the meta sublevel (ASCII "log"). */
export const META_KEY: Uint8Array = Uint8Array.of(0x6c, 0x6f, 0x67);

/** Length of a leaf hash, the dedup key. */
export const LEAF_HASH_SIZE = 32;

/** The largest tile level: c2sp.org/tlog-tiles allows L in 0–63. */
export const MAX_TILE_LEVEL = 63;

/** The sublevel of format 1's one record per entry; only checked for, to refuse such a store. */
export const FORMAT1_ENTRIES = 'e';

/** Entries per bundle (c2sp.org/tlog-tiles). */
export const BUNDLE_WIDTH = 256;

/** Key of the chunk of bundle `bundle` starting at `offset` (0–255): 8 bytes BE ‖ 1 byte. */
export function chunkKey(bundle: number, offset: number): Uint8Array {
  if (!Number.isInteger(offset) || offset < 0 || offset >= BUNDLE_WIDTH) {
    throw new TypeError(`chunk offset ${String(offset)} is not 0–255`);
  }
  const key = new Uint8Array(9);
  key.set(u64be(bundle), 0);
  key[8] = offset;
  return key;
}

/** Decodes a chunk key. @throws LogError CORRUPT unless it is 9 bytes with a safe bundle. */
export function decodeChunkKey(key: Uint8Array): { bundle: number; offset: number } {
  if (key.length !== 9) throw new LogError('CORRUPT', `chunk key has ${key.length} bytes, want 9`);
  return { bundle: decodeU64Key(key.subarray(0, 8), 'chunk'), offset: key[8]! };
}

/**
 * The entries of a chunk value, as views into it.
 * @throws LogError CORRUPT when the lengths do not add up to the value.
 */
export function decodeChunk(value: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  let at = 0;
  while (at < value.length) {
    if (at + 2 > value.length) throw new LogError('CORRUPT', 'entry chunk ends inside a length');
    const len = value[at]! * 256 + value[at + 1]!;
    at += 2;
    if (len === 0 || at + len > value.length) {
      throw new LogError('CORRUPT', 'entry chunk holds a bad entry length');
    }
    out.push(value.subarray(at, at + len));
    at += len;
  }
  if (out.length === 0 || out.length > BUNDLE_WIDTH) {
    throw new LogError('CORRUPT', `entry chunk holds ${out.length} entries`);
  }
  return out;
}

/** Encodes entries as a chunk (each a big-endian uint16 length, then the bytes). */
export function encodeChunk(entries: readonly Uint8Array[], start: number, end: number): Uint8Array {
  let total = 0;
  for (let i = start; i < end; i++) total += 2 + entries[i]!.length;
  const out = new Uint8Array(total);
  let at = 0;
  for (let i = start; i < end; i++) {
    const e = entries[i]!;
    out[at] = Math.floor(e.length / 256);
    out[at + 1] = e.length % 256;
    out.set(e, at + 2);
    at += 2 + e.length;
  }
  return out;
}

/** Key of the checkpoint at tree size `size`: 8-byte big-endian. */
export function checkpointKey(size: number): Uint8Array {
  return u64be(size);
}

/** Decodes an entry or checkpoint key. @throws LogError CORRUPT unless it is 8 bytes. */
export function decodeU64Key(key: Uint8Array, what: string): number {
  if (key.length !== 8) {
    throw new LogError('CORRUPT', `${what} key has ${key.length} bytes, want 8`);
  }
  try {
    return readU64be(key);
  } catch (err) {
    throw new LogError('CORRUPT', `${what} key is beyond 2^53 - 1`, { cause: err });
  }
}

/** Key of hash tile (level, index): 1 byte level ‖ 8-byte big-endian index. */
export function tileKey(level: number, index: number): Uint8Array {
  assertTileLevel(level);
  const key = new Uint8Array(9);
  key[0] = level;
  key.set(u64be(index), 1);
  return key;
}

/** Key of a leaf hash in the dedup index: the 32-byte hash itself. */
export function dedupKey(leafHash: Uint8Array): Uint8Array {
  if (!(leafHash instanceof Uint8Array) || leafHash.length !== LEAF_HASH_SIZE) {
    throw new TypeError(`a leaf hash must be a ${LEAF_HASH_SIZE}-byte Uint8Array`);
  }
  return leafHash;
}

/** Throws a TypeError unless `level` is an integer tile level in 0–63. */
export function assertTileLevel(level: number): void {
  assertIndex(level, 'tile level');
  if (level > MAX_TILE_LEVEL) throw new TypeError(`tile level ${level} is above ${MAX_TILE_LEVEL}`);
}
