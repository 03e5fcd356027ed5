/** A log over a MemoryStore with a fixed test key, for in-process tests. */
import { Log, type LogOptions } from '../../src/log/log.js';
import { MemoryStore } from '../../src/storage/memory-store.js';
import { ed25519Signer, formatSignerKey, formatVerifierKey } from '../../src/note/keys.js';
import { ed25519PublicKey } from '../../src/note/ed25519.js';
import type { LogStore } from '../../src/storage/store.js';

export const TEST_ORIGIN = 'test.example/log';
const SEED = new Uint8Array(32).map((_, i) => i + 1);
export const TEST_SIGNER_KEY = formatSignerKey(TEST_ORIGIN, SEED);
export const TEST_VERIFIER_KEY = formatVerifierKey(TEST_ORIGIN, 0x01, ed25519PublicKey(SEED));

export async function openTestLog(
  store: LogStore = new MemoryStore(),
  opts: Partial<LogOptions> = {}
): Promise<{ log: Log; store: LogStore }> {
  await store.open();
  const log = await Log.open({
    store,
    signer: ed25519Signer(TEST_SIGNER_KEY),
    origin: TEST_ORIGIN,
    batchAgeMs: 1,
    ...opts,
  });
  return { log, store };
}

/** Deterministic distinct entries of varied sizes. */
export function makeEntry(i: number, size = 1 + (i % 300)): Uint8Array<ArrayBuffer> {
  const e = new Uint8Array(size);
  for (let k = 0; k < size; k++) e[k] = (i * 31 + k * 7 + Math.floor(i / 256)) % 256;
  // Make each entry unique whatever its size: the index in the first bytes.
  const tag = new TextEncoder().encode(`#${i}:`);
  e.set(tag.subarray(0, Math.min(tag.length, size)));
  if (size < tag.length) return new TextEncoder().encode(`#${i}:`);
  return e;
}
