/**
 * In-process durable appends (child process): a LevelStore log with node:crypto hashing
 * and signing, as `candor serve` runs it, taking `--entries` 256-byte entries through
 * Log.addMany (chunks of 1024, up to 32 chunks queued, so the sequencer integrates full
 * batches of `--batch` entries: one signed checkpoint and one fsynced LevelDB batch each).
 *
 * Reports the overall rate, and at each `--marks` size the rate over the last `--window`
 * entries before it, the resident memory and the bytes on disk per entry. Prints one JSON
 * line.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LevelStore } from '../src/storage/level-store.js';
import { Log } from '../src/log/log.js';
import { nodeEd25519Signer, useNodeSha256 } from '../src/server/node-crypto.js';
import { generateSignerKey } from '../src/note/keys.js';
import { ENTRY_SIZE, dirBytes, flags, makeEntries, num } from './common.js';

const f = flags(process.argv.slice(2));
const total = num(f, 'entries', 1_000_000);
const batch = num(f, 'batch', 4096);
const window = num(f, 'window', 500_000);
const marks = (f.get('marks') ?? String(total)).split(',').map(Number);
const CHUNK = 1024;
const INFLIGHT = 32;

useNodeSha256();
const dir = await mkdtemp(join(f.get('dir') ?? tmpdir(), 'candor-append-'));
const store = new LevelStore(dir);
await store.open();
const origin = 'bench.example/log';
const log = await Log.open({
  store,
  signer: nodeEd25519Signer(generateSignerKey(origin).signerKey),
  origin,
  batchMax: batch,
});

interface Mark {
  entries: number;
  rate: number;
  rssBytes: number;
  heapUsedBytes: number;
  diskBytesPerEntry: number;
}
const out: Mark[] = [];
const doneAt = new Map<number, number>(); // entries completed -> time
let submitted = 0;
let completed = 0;
const t0 = performance.now();
const inflight = new Set<Promise<void>>();
let nextMark = 0;
while (completed < total) {
  while (inflight.size < INFLIGHT && submitted < total) {
    const n = Math.min(CHUNK, total - submitted);
    const p: Promise<void> = log.addMany(makeEntries(submitted, n)).then((r) => {
      completed += r.length;
      inflight.delete(p);
    });
    submitted += n;
    inflight.add(p);
  }
  await Promise.race(inflight);
  const now = performance.now();
  doneAt.set(completed, now);
  while (nextMark < marks.length && completed >= marks[nextMark]!) {
    const at = marks[nextMark++]!;
    // The rate over the last `window` entries before the mark.
    let from = 0;
    let fromTime = t0;
    for (const [n, t] of doneAt) {
      if (n <= at - window && n >= from) {
        from = n;
        fromTime = t;
      }
    }
    // Retained memory, not garbage not yet collected (run.ts starts this with --expose-gc).
    (globalThis as { gc?: () => void }).gc?.();
    const mem = process.memoryUsage();
    out.push({
      entries: completed,
      rate: (completed - from) / ((now - fromTime) / 1000),
      rssBytes: mem.rss,
      heapUsedBytes: mem.heapUsed,
      diskBytesPerEntry: (await dirBytes(dir)) / completed,
    });
    // Forget old samples (they only ever shrink the window search).
    for (const n of doneAt.keys()) if (n < at) doneAt.delete(n);
  }
}
const seconds = (performance.now() - t0) / 1000;
await log.drain();
await store.close();
const diskAfterClose = (await dirBytes(dir)) / total;
await rm(dir, { recursive: true, force: true });
console.log(
  JSON.stringify({ entries: total, entrySize: ENTRY_SIZE, batch, rate: total / seconds, seconds, marks: out, diskBytesPerEntryAfterClose: diskAfterClose })
);
