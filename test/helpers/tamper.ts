/**
 * Damages a LevelStore directory the way a bad disk would, through LevelDB itself (so the
 * damaged value is what LevelDB hands back): one byte of an entry or of a hash tile flipped,
 * or a record deleted. The store must be closed; these open the directory directly.
 */
import { Level } from 'level';
import { BUNDLE_WIDTH, SUBLEVEL, chunkKey, rootKey, tileKey } from '../../src/storage/keys.js';

type Bytes = Uint8Array;

async function withDb<T>(dir: string, fn: (db: Level<Bytes, Bytes>) => Promise<T>): Promise<T> {
  const db = new Level<Bytes, Bytes>(dir, { keyEncoding: 'view', valueEncoding: 'view' });
  await db.open();
  try {
    return await fn(db);
  } finally {
    await db.close();
  }
}

/** The root key and value of the chunk holding entry `index`, and the entry's offset in it. */
async function findChunk(db: Level<Bytes, Bytes>, index: number): Promise<{ key: Bytes; value: Bytes; at: number; len: number }> {
  const bundle = Math.floor(index / BUNDLE_WIDTH);
  const offset = index - bundle * BUNDLE_WIDTH;
  const range = {
    gte: rootKey(SUBLEVEL.chunks, chunkKey(bundle, 0)),
    lte: rootKey(SUBLEVEL.chunks, chunkKey(bundle, offset)),
    reverse: true,
    limit: 1,
  };
  const [found] = await db.iterator(range).all();
  if (found === undefined) throw new Error(`no chunk holds entry ${index}`);
  const [key, value] = found;
  let pos = 0;
  for (let i = key[key.length - 1]!; ; i++) {
    const len = value[pos]! * 256 + value[pos + 1]!;
    if (i === offset) return { key, value: Uint8Array.from(value), at: pos + 2, len };
    pos += 2 + len;
    if (pos >= value.length) throw new Error(`chunk does not reach entry ${index}`);
  }
}

/** Flips one bit in the middle of entry `index`'s bytes (its length stays). */
export async function flipEntryByte(dir: string, index: number): Promise<void> {
  await withDb(dir, async (db) => {
    const { key, value, at, len } = await findChunk(db, index);
    value[at + Math.floor(len / 2)]! ^= 0x01;
    await db.put(key, value, { sync: true });
  });
}

/** Flips one bit of hash `hash` of tile (level, index). */
export async function flipTileByte(dir: string, level: number, index: number, hash = 0): Promise<void> {
  await withDb(dir, async (db) => {
    const key = rootKey(SUBLEVEL.tiles, tileKey(level, index));
    const value = Uint8Array.from((await db.get(key))!);
    value[hash * 32 + 5]! ^= 0x01;
    await db.put(key, value, { sync: true });
  });
}

/** Deletes the chunk that holds entry `index` (entries lost, as when LevelDB drops a block). */
export async function deleteChunkOf(dir: string, index: number): Promise<void> {
  await withDb(dir, async (db) => {
    const { key } = await findChunk(db, index);
    await db.del(key, { sync: true });
  });
}

/** Deletes tile (level, index). */
export async function deleteTile(dir: string, level: number, index: number): Promise<void> {
  await withDb(dir, (db) => db.del(rootKey(SUBLEVEL.tiles, tileKey(level, index)), { sync: true }));
}
