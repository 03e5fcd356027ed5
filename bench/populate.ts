/**
 * Creates a log of `--entries` 256-byte entries in `--data` (child process), through
 * startLog exactly as `candor serve` opens one (key file, meta, LevelStore), so that a
 * `candor serve --data DIR --origin bench.example/log` afterwards serves it. Prints one
 * JSON line.
 */
import { startLog } from '../src/server/main.js';
import { flags, makeEntries, num } from './common.js';

const f = flags(process.argv.slice(2));
const total = num(f, 'entries', 1_000_000);
const data = f.get('data');
if (data === undefined) throw new Error('--data is required');
const running = await startLog({
  dataDir: data,
  host: '127.0.0.1',
  port: 0,
  origin: 'bench.example/log',
  batchMax: 4096,
  batchAgeMs: 2,
});
const t0 = performance.now();
const inflight = new Set<Promise<unknown>>();
for (let start = 0; start < total; start += 1024) {
  const p = running.log.addMany(makeEntries(start, Math.min(1024, total - start)));
  inflight.add(p);
  void p.then(() => inflight.delete(p));
  if (inflight.size >= 32) await Promise.race(inflight);
}
await Promise.all(inflight);
const seconds = (performance.now() - t0) / 1000;
const size = running.log.size;
await running.close();
console.log(JSON.stringify({ entries: size, seconds }));
