/**
 * The machine's limit for appending 256-byte entries, measured raw (child process):
 * - SHA-256: the hashes one append needs, a leaf hash SHA-256(0x00 ‖ entry) and, amortised,
 *   one interior node SHA-256(0x01 ‖ left ‖ right) (a tree of n leaves has n - 1 nodes),
 *   with node:crypto (what the server uses), candor's pure SHA-256 (the client's default)
 *   and @noble/hashes;
 * - LevelDB: batches of `--batch` puts (8-byte big-endian key, the 256-byte entry) written
 *   with `sync: true`, through the chained batch (db.batch().put().write()) and through the
 *   array form (db.batch(ops)). One put per entry is the least a log can write.
 * - both together: the raw loop of the least a durable append needs, in one process as a
 *   log must do it: hash each entry (leaf and one node, node:crypto), put it in a chained
 *   batch, write every `--batch` with `sync: true` (the next batch is hashed while the
 *   previous one is written, as LevelDB's write runs on a worker thread). Neither of the
 *   two limits above can be reached while doing the other; this one is the ceiling.
 * SHA-256 through node:crypto is measured as the log does it (src/server/node-crypto.ts).
 * Prints one JSON line.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import { Level } from 'level';
import { nodeSha256 } from '../src/server/node-crypto.js';
import { sha256 as jsSha256 } from '../src/merkle/sha256.js';
import { ENTRY_SIZE, flags, makeEntries, num } from './common.js';

const f = flags(process.argv.slice(2));
const entries = num(f, 'entries', 1_000_000);
const batch = num(f, 'batch', 4096);
const base = f.get('dir') ?? tmpdir();

function shaRate(fn: (d: Uint8Array) => Uint8Array, seconds: number): number {
  const leaf = new Uint8Array(ENTRY_SIZE + 1);
  leaf.set(makeEntries(7, 1)[0]!, 1);
  const node = new Uint8Array(65);
  node[0] = 1;
  let n = 0;
  const t0 = performance.now();
  const until = t0 + seconds * 1000;
  while (performance.now() < until) {
    for (let i = 0; i < 1000; i++) {
      const h = fn(leaf);
      node.set(h, 1);
      fn(node);
    }
    n += 1000;
  }
  return n / ((performance.now() - t0) / 1000);
}

async function levelRate(chained: boolean): Promise<number> {
  const dir = await mkdtemp(join(base, 'candor-limit-'));
  const db = new Level<Uint8Array, Uint8Array>(dir, { keyEncoding: 'view', valueEncoding: 'view' });
  await db.open();
  const pool = makeEntries(0, batch);
  const t0 = performance.now();
  for (let start = 0; start < entries; start += batch) {
    const n = Math.min(batch, entries - start);
    const keys: Uint8Array[] = [];
    for (let i = 0; i < n; i++) {
      const key = new Uint8Array(8);
      new DataView(key.buffer).setUint32(4, start + i);
      keys.push(key);
    }
    if (chained) {
      const b = db.batch();
      for (let i = 0; i < n; i++) b.put(keys[i]!, pool[i]!);
      await b.write({ sync: true });
    } else {
      await db.batch(
        keys.map((key, i) => ({ type: 'put' as const, key, value: pool[i]! })),
        { sync: true }
      );
    }
  }
  const rate = entries / ((performance.now() - t0) / 1000);
  await db.close();
  await rm(dir, { recursive: true, force: true });
  return rate;
}

async function combinedRate(): Promise<number> {
  const dir = await mkdtemp(join(base, 'candor-limit-'));
  const db = new Level<Uint8Array, Uint8Array>(dir, { keyEncoding: 'view', valueEncoding: 'view' });
  await db.open();
  const pool = makeEntries(0, batch);
  const leaf = new Uint8Array(ENTRY_SIZE + 1);
  const node = new Uint8Array(65);
  node[0] = 1;
  let writing: Promise<void> = Promise.resolve();
  const t0 = performance.now();
  for (let start = 0; start < entries; start += batch) {
    const n = Math.min(batch, entries - start);
    const b = db.batch();
    for (let i = 0; i < n; i++) {
      leaf.set(pool[i]!, 1);
      node.set(nodeSha256(leaf), 1);
      node.set(nodeSha256(node).subarray(0, 32), 33);
      const key = new Uint8Array(8);
      new DataView(key.buffer).setUint32(4, start + i);
      b.put(key, pool[i]!);
    }
    await writing;
    writing = b.write({ sync: true });
  }
  await writing;
  const rate = entries / ((performance.now() - t0) / 1000);
  await db.close();
  await rm(dir, { recursive: true, force: true });
  return rate;
}

const result = {
  shaNode: shaRate(nodeSha256, 2),
  shaJs: shaRate(jsSha256, 2),
  shaNoble: shaRate(nobleSha256, 2),
  levelChained: await levelRate(true),
  levelArray: await levelRate(false),
  combined: await combinedRate(),
};
console.log(JSON.stringify(result));
