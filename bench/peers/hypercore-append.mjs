// The peer: hypercore 10 appending the same 256-byte entries (bench/common.ts makeEntries,
// byte for byte) in batches of --batch, one core.append(array) per batch, awaited before the
// next, as candor integrates one batch at a time. hypercore 10 does not fsync: append()
// resolves once its writes are handed to the OS (random-access-file has no fsync call).
// Prints one JSON line.
import Hypercore from 'hypercore';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeEntries, flags, num, dirBytes } from '../../dist-bench/bench/common.js';

const f = flags(process.argv.slice(2));
const total = num(f, 'entries', 1_000_000);
const batch = num(f, 'batch', 4096);
const dir = await mkdtemp(join(f.get('dir') ?? tmpdir(), 'hypercore-append-'));
const core = new Hypercore(dir);
await core.ready();
const t0 = performance.now();
for (let start = 0; start < total; start += batch) {
  const n = Math.min(batch, total - start);
  await core.append(makeEntries(start, n).map((e) => Buffer.from(e.buffer, e.byteOffset, e.length)));
}
const seconds = (performance.now() - t0) / 1000;
const rssBytes = process.memoryUsage().rss;
await core.close();
const diskBytesPerEntry = (await dirBytes(dir)) / total;
await rm(dir, { recursive: true, force: true });
console.log(JSON.stringify({ entries: total, batch, rate: total / seconds, seconds, rssBytes, diskBytesPerEntry, fsync: false }));
