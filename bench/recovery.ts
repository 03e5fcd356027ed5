/**
 * Backup and restore throughput and memory (docs/backup.md), on a log of `--entries`
 * 256-byte entries (default 1M) made by populate.ts:
 *   1. `candor backup` of the stopped log (read from its store);
 *   2. `candor restore --from` that backup;
 *   3. `candor restore --from-tiles` from a `candor serve` of the log on 127.0.0.1.
 * Each command runs as a child process; its peak RSS is sampled from /proc. Prints one
 * JSON object. Not part of `npm run bench` (it writes several copies of the log):
 *
 *   npx tsc -p tsconfig.bench.json && node dist-bench/bench/recovery.js [--entries N] [--dir DIR]
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { dirBytes, exited, flags, num, runJson, startServer, stopServer } from './common.js';

const f = flags(process.argv.slice(2));
const entries = num(f, 'entries', 1_000_000);
const root = resolve(import.meta.dirname, '..', '..');
const cli = join(root, 'dist-bench', 'src', 'cli', 'main.js');
const dir = await mkdtemp(join(f.get('dir') ?? tmpdir(), 'candor-recovery-bench-'));

interface Run {
  seconds: number;
  /** Peak resident memory, MiB (Linux /proc; null elsewhere). */
  peakRssMiB: number | null;
  /**
   * Peak anonymous resident memory, MiB: RSS without file-backed pages (the binary, and
   * LevelDB's memory-mapped table files, which the kernel reclaims at will).
   */
  peakAnonMiB: number | null;
}

/** Runs a candor command to completion, sampling its memory every 200 ms. */
async function run(args: string[]): Promise<Run> {
  const t0 = performance.now();
  const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  let rss: number | null = null;
  let anon: number | null = null;
  const sample = (): void => {
    try {
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
      const kib = (name: string): number | null => {
        const m = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status);
        return m === null ? null : Number(m[1]);
      };
      const r = kib('VmRSS');
      const a = kib('RssAnon');
      if (r !== null) rss = Math.max(rss ?? 0, r);
      if (a !== null) anon = Math.max(anon ?? 0, a);
    } catch {
      // not Linux, or the process just exited
    }
  };
  const timer = setInterval(sample, 200);
  const code = await exited(child, 30 * 60_000).finally(() => clearInterval(timer));
  if (code !== 0) throw new Error(`candor ${args.join(' ')} failed (${code}): ${stderr}`);
  const mib = (k: number | null): number | null => (k === null ? null : Math.round(k / 1024));
  return { seconds: (performance.now() - t0) / 1000, peakRssMiB: mib(rss), peakAnonMiB: mib(anon) };
}

try {
  const data = join(dir, 'data');
  const populated = await runJson<{ entries: number; seconds: number }>(
    [join(root, 'dist-bench', 'bench', 'populate.js'), '--entries', String(entries), '--data', data],
    30 * 60_000
  );
  const backup = join(dir, 'backup');
  const b = await run(['backup', '--data', data, '--out', backup]);
  const r = await run(['restore', '--from', backup, '--data', join(dir, 'restored'), '--key', join(data, 'log.key')]);
  const { child, match } = await startServer([cli, 'serve', '--data', data, '--port', '0'], /on (http:\/\/127\.0\.0\.1:\d+)/);
  let t;
  try {
    t = await run(['restore', '--from-tiles', match[1]!, '--data', join(dir, 'from-tiles'), '--key', join(data, 'log.key')]);
  } finally {
    await stopServer(child);
  }
  const perSecond = (s: number): number => Math.round(populated.entries / s);
  console.log(
    JSON.stringify({
      entries: populated.entries,
      logBytes: await dirBytes(join(data, 'db')),
      backupBytes: await dirBytes(backup),
      backup: { ...b, entriesPerSecond: perSecond(b.seconds) },
      restoreFromBackup: { ...r, entriesPerSecond: perSecond(r.seconds) },
      restoreFromTiles: { ...t, entriesPerSecond: perSecond(t.seconds) },
    })
  );
} finally {
  await rm(dir, { recursive: true, force: true });
}
