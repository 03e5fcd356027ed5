/**
 * Backup and restore throughput and memory (docs/backup.md), on a log of `--entries`
 * 256-byte entries (default 1M) made by populate.ts:
 *   1. `candor backup` of the stopped log (read from its store);
 *   2. `candor restore --from` that backup;
 *   3. `candor restore --from-tiles` from a `candor serve` of the log on 127.0.0.1.
 * Each command runs as a child process under /usr/bin/time for its peak RSS. Prints one
 * JSON object. Not part of `npm run bench` (it writes several copies of the log):
 *
 *   npx tsc -p tsconfig.bench.json && node dist-bench/bench/recovery.js [--entries N] [--dir DIR]
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { dirBytes, flags, num, runJson, startServer, stopServer } from './common.js';

const f = flags(process.argv.slice(2));
const entries = num(f, 'entries', 1_000_000);
const root = resolve(import.meta.dirname, '..', '..');
const cli = join(root, 'dist-bench', 'src', 'cli', 'main.js');
const dir = await mkdtemp(join(f.get('dir') ?? tmpdir(), 'candor-recovery-bench-'));

/**
 * Runs a candor command to completion: its wall time in seconds and, when /usr/bin/time
 * is there, its peak RSS in MiB.
 */
function run(args: string[]): { seconds: number; peakRssMiB: number | null } {
  const useTime = existsSync('/usr/bin/time');
  const cmd = useTime ? '/usr/bin/time' : process.execPath;
  const argv = useTime ? ['-f', 'MAXRSS %M', process.execPath, cli, ...args] : [cli, ...args];
  const t0 = performance.now();
  const res = spawnSync(cmd, argv, { encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'], timeout: 30 * 60_000 });
  const seconds = (performance.now() - t0) / 1000;
  if (res.status !== 0) throw new Error(`candor ${args.join(' ')} failed (${res.status}): ${res.stderr}`);
  const kib = /MAXRSS (\d+)/.exec(res.stderr)?.[1];
  return { seconds, peakRssMiB: kib === undefined ? null : Math.round(Number(kib) / 1024) };
}

try {
  const data = join(dir, 'data');
  const populated = await runJson<{ entries: number; seconds: number }>(
    [join(root, 'dist-bench', 'bench', 'populate.js'), '--entries', String(entries), '--data', data],
    30 * 60_000
  );
  const backup = join(dir, 'backup');
  const b = run(['backup', '--data', data, '--out', backup]);
  const r = run(['restore', '--from', backup, '--data', join(dir, 'restored'), '--key', join(data, 'log.key')]);
  const { child, match } = await startServer([cli, 'serve', '--data', data, '--port', '0'], /on (http:\/\/127\.0\.0\.1:\d+)/);
  let t;
  try {
    t = run(['restore', '--from-tiles', match[1]!, '--data', join(dir, 'from-tiles'), '--key', join(data, 'log.key')]);
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
