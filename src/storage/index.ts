/** Storage: the LogStore contract and its two implementations. */
export type {
  IntegrationBatch,
  LogMeta,
  LogStore,
  StoredCheckpoint,
  StoredTile,
} from './store.js';
export { FULL_TILE_BYTES, assertValidBatch } from './store.js';
export { LevelStore } from './level-store.js';
export type { LevelPut } from './level-store.js';
export { MemoryStore } from './memory-store.js';
