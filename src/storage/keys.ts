/**
 * Sublevel names and key encodings for LevelStore. Every key is bytes, laid out so that
 * LevelDB's bytewise order is the order we iterate in:
 *
 * | sublevel | key                                   | value                          |
 * |----------|---------------------------------------|--------------------------------|
 * | `e`      | index, uint64 big-endian (8 bytes)    | raw entry bytes                |
 * | `t`      | level (1 byte) ‖ index, uint64 BE     | raw tile bytes (32 × width)    |
 * | `d`      | leaf hash (32 bytes)                  | msgpack uint: the entry index  |
 * | `c`      | tree size, uint64 BE (8 bytes)        | msgpack checkpoint record      |
 * | `m`      | {@link META_KEY}                      | msgpack meta record            |
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
  entries: 'e',
  tiles: 't',
  dedup: 'd',
  checkpoints: 'c',
  meta: 'm',
} as const;

/** The single key in the meta sublevel (ASCII "log"). */
export const META_KEY: Uint8Array = Uint8Array.of(0x6c, 0x6f, 0x67);

/** Length of a leaf hash, the dedup key. */
export const LEAF_HASH_SIZE = 32;

/** The largest tile level: c2sp.org/tlog-tiles allows L in 0–63. */
export const MAX_TILE_LEVEL = 63;

/** Key of entry `index`: 8-byte big-endian. */
export function entryKey(index: number): Uint8Array {
  return u64be(index);
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
