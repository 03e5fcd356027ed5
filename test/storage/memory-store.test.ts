import { MemoryStore } from '../../src/storage/memory-store.js';
import { runStoreContract } from './contract.js';

runStoreContract('MemoryStore', async () => {
  const store = new MemoryStore();
  // Same instance: close() keeps the data, so the suite's reopen tests apply.
  return { store, reopen: async () => store, cleanup: async () => undefined };
});
