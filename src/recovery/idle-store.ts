/**
 * Opening a log's store for a backup only when no server has it: LevelDB lets one process
 * hold a directory, and the lock tells whether a server is running on it.
 */
import { LevelStore } from '../storage/level-store.js';
import type { TileSource } from './verified-read.js';
import { LOCAL_URL, storeFetch } from './sources.js';

/**
 * Opens the store in `dir` and returns it with a tlog-tiles source reading it; undefined
 * when another process (a running server) holds it.
 * @throws what LevelStore.open throws for any other failure.
 */
export async function openIdleStore(dir: string): Promise<{ store: LevelStore; source: TileSource } | undefined> {
  const store = new LevelStore(dir);
  try {
    await store.open();
  } catch (err) {
    const level = (err as { cause?: { cause?: { code?: unknown }; code?: unknown } }).cause;
    if (level?.code === 'LEVEL_LOCKED' || level?.cause?.code === 'LEVEL_LOCKED') return undefined;
    throw err;
  }
  return { store, source: { url: LOCAL_URL, fetch: storeFetch(store) } };
}
