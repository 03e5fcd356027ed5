/**
 * `npm run bench [-- --quick] [-- --dir DIR]`: candor's benchmarks, each figure beside the
 * reference it is judged against, measured in the same run. Prints a table and writes
 * bench/results.json. Never part of `npm test`.
 *
 * Every measurement runs in a child process of its own (fresh heap and JIT); HTTP servers
 * and the load generator (autocannon, bench/peers) run in separate processes, so the load
 * generator never runs on the server's event loop. All load targets 127.0.0.1 and is bounded
 * by a request count and a duration.
 *
 * Full run: about 10–15 minutes on the 2-core reference machine (the 10M-entry growth run is
 * most of it); every child is killed if it overruns its bound, so a run cannot hang.
 * `--quick`: about 3 minutes (growth to 2M instead of 10M, shorter HTTP loads).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, release, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { existsSync } from 'node:fs';
import { execFileSync, spawn } from 'node:child_process';
import { exited, flags, runJson, startServer, stopServer } from './common.js';

const f = flags(process.argv.slice(2));
const quick = f.has('quick');
const base = f.get('dir') ?? tmpdir();
const root = resolve(import.meta.dirname, '..', '..'); // dist-bench/bench -> repository
const bench = (name: string): string => join(root, 'dist-bench', 'bench', `${name}.js`);
const cli = join(root, 'dist-bench', 'src', 'cli', 'main.js');
const peers = join(root, 'bench', 'peers');
if (!existsSync(join(peers, 'node_modules', 'hypercore'))) {
  throw new Error('bench/peers is not installed: run `npm run bench` (it runs npm ci there first)');
}

// Loads are bounded by their seconds, and by their request counts (a safety net: each is far
// above what the seconds allow here).
const P = quick
  ? { limit: 500_000, append: 1_000_000, growth: [1_000_000, 2_000_000], populate: 1_000_000, post: 1_000_000, postSeconds: 8, reads: 2_000_000, readSeconds: 5, witnessSteps: 160, verifySeconds: 2 }
  : { limit: 1_000_000, append: 1_000_000, growth: [1_000_000, 10_000_000], populate: 1_000_000, post: 2_000_000, postSeconds: 20, reads: 4_000_000, readSeconds: 10, witnessSteps: 400, verifySeconds: 3 };
const MIN = 60_000;

interface Load {
  generator?: string;
  requests: number;
  ok: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  seconds: number;
  okPerSecond: number;
  p50: number;
  p99: number;
}

function say(line: string): void {
  process.stderr.write(`bench: ${line}\n`);
}

/** wrk on the PATH (Debian's `wrk`), preferred over autocannon when present. */
const wrk = ((): string | undefined => {
  if (f.has('autocannon')) return undefined;
  try {
    return execFileSync('sh', ['-c', 'command -v wrk'], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
})();
const generator = wrk === undefined ? 'autocannon 8 (bench/peers), 1 process' : 'wrk 4 (C), 1 thread';

/**
 * One bounded load of `kind` on `url` at concurrency 64, from a process of its own: wrk when
 * installed (a C load generator that needs far less CPU per request, which matters on two
 * cores where the generator shares the machine with the server), else autocannon. Both are
 * bounded by `seconds` and by `amount` requests.
 */
async function load(url: string, kind: string, opts: { amount: number; seconds: number; size?: number; first?: number }): Promise<Load> {
  if (wrk !== undefined && kind !== 'witness') {
    const child = spawn(
      wrk,
      ['-t1', '-c64', `-d${opts.seconds}s`, '-s', join(root, 'bench', 'wrk', 'load.lua'), url, '--', kind, String(opts.amount), String(opts.size ?? 1), String(opts.first ?? 0)],
      { stdio: ['ignore', 'pipe', 'inherit'] }
    );
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d: string) => (out += d));
    const code = await exited(child, (opts.seconds + 60) * 1000);
    const line = out.trim().split('\n').pop() ?? '';
    if (code !== 0 || !line.startsWith('{')) throw new Error(`wrk failed (${code}): ${out}`);
    return JSON.parse(line) as Load;
  }
  const argv = [join(peers, 'load.mjs'), '--url', url, '--kind', kind, '--amount', String(opts.amount), '--duration', String(opts.seconds)];
  if (opts.size !== undefined) argv.push('--size', String(opts.size));
  if (opts.first !== undefined) argv.push('--first', String(opts.first));
  return { generator: 'autocannon', ...(await runJson<Load>(argv, (opts.seconds + 60) * 1000)) };
}

/** Starts a server child, waits for its URL. */
async function server(args: string[], ready: RegExp) {
  const { child, match } = await startServer(args, ready);
  return { child, url: match[1]! };
}

const started = Date.now();
const results: Record<string, unknown> = {};

say('limits: raw SHA-256 and raw LevelDB batched sync writes');
const limit = await runJson<{ shaNode: number; shaJs: number; shaNoble: number; levelChained: number; levelArray: number; combined: number }>(
  [bench('limit'), '--entries', String(P.limit), '--dir', base],
  5 * MIN
);
results.limit = limit;

say(`in-process durable appends: ${P.append} entries`);
const append = await runJson<{ rate: number }>(['--expose-gc', bench('append'), '--entries', String(P.append), '--dir', base], 10 * MIN);
results.append = append;

say(`hypercore 10 peer: ${P.append} entries`);
const hyper = await runJson<{ rate: number }>(
  [join(peers, 'hypercore-append.mjs'), '--entries', String(P.append), '--dir', base],
  10 * MIN,
  peers
);
results.hypercore = hyper;

say(`growth: ${P.growth.join(' and ')} entries`);
const growth = await runJson<{
  marks: Array<{ entries: number; rate: number; rssBytes: number; diskBytesPerEntry: number }>;
  diskBytesPerEntryAfterClose: number;
}>(
  ['--expose-gc', bench('append'), '--entries', String(P.growth[1]), '--marks', P.growth.join(','), '--window', '1000000', '--dir', base],
  40 * MIN
);
results.growth = growth;

/** A bounded POST load on a trivial server (bench/trivial-server.ts), warmed up first. */
async function trivialLoad(args: string[]): Promise<Load> {
  const s = await server([bench('trivial-server'), ...args], /(http:\/\/127\.0\.0\.1:\d+)/);
  try {
    await load(s.url, 'post', { amount: 1_000_000, seconds: 3, first: 900_000_000 }); // warm-up
    return await load(s.url, 'post', { amount: P.post, seconds: P.postSeconds });
  } finally {
    await stopServer(s.child);
  }
}
say('HTTP: trivial Hono POST handler (the ceiling)');
const trivial = await trivialLoad([]);
say('HTTP: trivial node:http POST handler');
const trivialRaw = await trivialLoad(['--raw']);
results.httpTrivial = trivial;
results.httpTrivialRaw = trivialRaw;

say('HTTP: candor POST /v1/entries, concurrency 64');
const serveArgs = (data: string, extra: string[] = []): string[] => [cli, 'serve', '--data', data, '--port', '0', '--origin', 'bench.example/log', ...extra];
const urlRe = /serving \d+ entries on (http:\/\/127\.0\.0\.1:\d+)/;
/** POST /v1/entries on a fresh log started with `extra` flags. */
async function posts(extra: string[]): Promise<Load> {
  const dir = await mkdtemp(join(base, 'candor-http-'));
  const s = await server(serveArgs(dir, extra), urlRe);
  try {
    await load(s.url, 'post', { amount: 1_000_000, seconds: 3, first: 900_000_000 }); // warm-up
    return await load(s.url, 'post', { amount: P.post, seconds: P.postSeconds });
  } finally {
    await stopServer(s.child);
    await rm(dir, { recursive: true, force: true });
  }
}
const post = await posts([]);
say('HTTP: candor POST /v1/entries, concurrency 64, --batch-age 2');
const post2 = await posts(['--batch-age', '2']);
results.httpPost = post;
results.httpPostAge2 = post2;

say(`HTTP reads: populating a log of ${P.populate} entries`);
const readDir = await mkdtemp(join(base, 'candor-read-'));
let inclusion: Load;
let tiles: Load;
let bundles: Load;
try {
  await runJson([bench('populate'), '--data', readDir, '--entries', String(P.populate)], 10 * MIN);
  const s = await server(serveArgs(readDir), urlRe);
  try {
    const size = P.populate;
    // Warm-up: the tile cache fills and tiles compute their interior nodes, as on a server
    // that has been up for a while.
    await load(s.url, 'inclusion', { amount: 1_000_000, seconds: P.readSeconds, size });
    say('HTTP reads: inclusion proofs');
    inclusion = await load(s.url, 'inclusion', { amount: P.reads, seconds: P.readSeconds, size });
    say('HTTP reads: hash tiles');
    tiles = await load(s.url, 'tile', { amount: P.reads, seconds: P.readSeconds, size });
    say('HTTP reads: entry bundles');
    bundles = await load(s.url, 'bundle', { amount: P.reads, seconds: P.readSeconds, size });
  } finally {
    await stopServer(s.child);
  }
} finally {
  await rm(readDir, { recursive: true, force: true });
}
results.httpInclusion = inclusion;
results.httpTiles = tiles;
results.httpBundles = bundles;

say('witness add-checkpoint over HTTP, 64 logs at concurrency 64');
const witnessDir = await mkdtemp(join(base, 'candor-witness-'));
let witness: Load;
try {
  const bodies = join(witnessDir, 'bodies.json');
  const setup = await runJson<{ logs: string[] }>(
    [bench('witness-setup'), '--logs', '64', '--steps', String(P.witnessSteps), '--out', bodies],
    5 * MIN
  );
  const logArgs = setup.logs.flatMap((spec) => ['--log', spec]);
  const args = [cli, 'witness', '--data', join(witnessDir, 'w'), '--name', 'bench.example/witness', '--port', '0', '--poll', '0', '--gossip', '0', ...logArgs];
  const s = await server(args, /serving on (http:\/\/127\.0\.0\.1:\d+)/);
  try {
    const amount = 64 * (P.witnessSteps - 10);
    const argv = [bench('witness-load'), '--url', s.url, '--bodies', bodies, '--amount', String(amount), '--duration', String(P.readSeconds)];
    witness = await runJson<Load>(argv, (P.readSeconds + 60) * 1000);
  } finally {
    await stopServer(s.child);
  }
} finally {
  await rm(witnessDir, { recursive: true, force: true });
}
results.witness = witness;

say('client inclusion verifications');
const verifyWith = (sha: string): Promise<{ perSecond: number; proofHashes: number }> =>
  runJson([bench('verify'), '--sha', sha, '--seconds', String(P.verifySeconds)], 2 * MIN);
const verifyJs = await verifyWith('js');
const verifyNoble = await verifyWith('noble');
const verifyNode = await verifyWith('node');
results.verify = { js: verifyJs, noble: verifyNoble, node: verifyNode };

// ---------------------------------------------------------------------------------------
const limitMin = Math.min(limit.shaNode, limit.levelChained);
const g1 = growth.marks[0]!;
const g2 = growth.marks[growth.marks.length - 1]!;
const k = (n: number): string => (n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : n >= 1e4 ? `${(n / 1e3).toFixed(1)}k` : n.toFixed(0));
const mb = (n: number): string => `${(n / 2 ** 20).toFixed(0)} MiB`;
const pct = (n: number): string => `${(100 * n).toFixed(0)}%`;
const ms = (n: number): string => `${n < 10 ? n.toFixed(1) : n.toFixed(0)} ms`;
type Row = [string, string, string, string, string];
const rows: Row[] = [];
const check = (ok: boolean): string => (ok ? 'met' : 'NOT met');

rows.push(['Limit: SHA-256 per append (leaf + node), node:crypto / candor JS / @noble', `${k(limit.shaNode)}/s / ${k(limit.shaJs)}/s / ${k(limit.shaNoble)}/s`, '', '', '']);
rows.push(['Limit: raw LevelDB sync batches of 4096 × 256 B, chained / array API', `${k(limit.levelChained)}/s / ${k(limit.levelArray)}/s`, '', '', '']);
rows.push(['Limit: both in one raw loop (hash, put, sync per 4096): the ceiling', `${k(limit.combined)}/s`, `lower of the two: ${k(limitMin)}/s`, '', '']);
const appendRatio = append.rate / limit.combined;
rows.push([
  `In-process durable appends, ${k(P.append)} × 256 B, fsync per batch`,
  `${k(append.rate)}/s`,
  `ceiling ${k(limit.combined)}/s (lower limit ${k(limitMin)}/s: ${pct(append.rate / limitMin)})`,
  pct(appendRatio),
  `≥ 50%: ${check(appendRatio >= 0.5)}`,
]);
const hyperRatio = append.rate / hyper.rate;
rows.push([`hypercore 10, same entries and batches, NO fsync`, `${k(hyper.rate)}/s`, `candor ${k(append.rate)}/s`, `${hyperRatio.toFixed(2)}×`, `candor ahead: ${check(hyperRatio > 1)}`]);
rows.push([`HTTP load generator: ${generator}, concurrency 64, separate process`, '', '', '', '']);
rows.push(['HTTP ceiling: trivial Hono POST, c=64', `${k(trivial.okPerSecond)}/s p50 ${ms(trivial.p50)} p99 ${ms(trivial.p99)}`, '', '', '']);
rows.push(['HTTP ceiling: trivial node:http POST, c=64', `${k(trivialRaw.okPerSecond)}/s p50 ${ms(trivialRaw.p50)} p99 ${ms(trivialRaw.p99)}`, '', '', '']);
for (const [p, label] of [[post, 'default --batch-age 0'], [post2, '--batch-age 2']] as const) {
  const ratio = p.okPerSecond / trivial.okPerSecond;
  const clean = p.non2xx === 0 && p.errors === 0;
  rows.push([
    `HTTP POST /v1/entries, 1 entry each, c=64, to signed receipt (${label})`,
    `${k(p.okPerSecond)}/s p50 ${ms(p.p50)} p99 ${ms(p.p99)}${clean ? '' : ` (${p.non2xx} non-2xx, ${p.errors} errors)`}`,
    `trivial Hono ${k(trivial.okPerSecond)}/s (node:http: ${pct(p.okPerSecond / trivialRaw.okPerSecond)})`,
    pct(ratio),
    `≥ 50%, p99 ≤ 100 ms: ${check(ratio >= 0.5 && p.p99 <= 100 && clean)}`,
  ]);
}
rows.push([`HTTP inclusion proofs, log of ${k(P.populate)}, c=64`, `${k(inclusion.okPerSecond)}/s p99 ${ms(inclusion.p99)}`, '', '', `≥ 20k/s: ${check(inclusion.okPerSecond >= 20_000)}`]);
rows.push(['HTTP hash tile reads (level 0, full), c=64', `${k(tiles.okPerSecond)}/s p99 ${ms(tiles.p99)}`, '', '', '']);
rows.push(['HTTP entry bundle reads (full), c=64', `${k(bundles.okPerSecond)}/s p99 ${ms(bundles.p99)}`, '', '', '']);
rows.push(['Witness add-checkpoint over HTTP, 64 logs, c=64', `${k(witness.okPerSecond)}/s p99 ${ms(witness.p99)}${witness.non2xx > 0 ? ` (${witness.non2xx} non-2xx)` : ''}`, '', '', `≥ 2k/s: ${check(witness.okPerSecond >= 2000)}`]);
rows.push([
  `Client inclusion verifications (~${verifyNode.proofHashes.toFixed(0)} hashes), candor JS (isomorphic default) / @noble / node:crypto`,
  `${k(verifyJs.perSecond)}/s / ${k(verifyNoble.perSecond)}/s / ${k(verifyNode.perSecond)}/s`,
  '',
  '',
  `≥ 20k/s: ${check(Math.min(verifyJs.perSecond, verifyNode.perSecond) >= 20_000)}`,
]);
const growthRatio = g2.rate / g1.rate;
rows.push([`Append rate at ${k(g1.entries)} / at ${k(g2.entries)} (last 1M each)`, `${k(g1.rate)}/s / ${k(g2.rate)}/s`, '', pct(growthRatio), `within 15%: ${check(growthRatio >= 0.85)}`]);
rows.push([`RSS at ${k(g1.entries)} / at ${k(g2.entries)}`, `${mb(g1.rssBytes)} / ${mb(g2.rssBytes)}`, '', '', '']);
const overhead = g2.diskBytesPerEntry - 256;
rows.push([`Disk per entry at ${k(g2.entries)} (256 B entries)`, `${g2.diskBytesPerEntry.toFixed(0)} B (after close ${growth.diskBytesPerEntryAfterClose.toFixed(0)} B)`, 'entry + 100 B', `+${overhead.toFixed(0)} B`, `≤ +100 B: ${check(overhead <= 100)}`]);

const header: Row = ['Benchmark', 'Result', 'Reference', 'Ratio', 'Target'];
const table = [header, ['---', '---', '---', '---', '---'] as Row, ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n');
const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${mb(totalmem())} RAM, Linux ${release()}, Node ${process.version}`;
let disk = '';
try {
  disk = execFileSync('df', ['-h', '--output=source,fstype', base], { encoding: 'utf8' }).trim().split('\n').pop() ?? '';
} catch {
  disk = 'unknown';
}
const minutes = (Date.now() - started) / 60_000;
console.log(`\ncandor benchmarks (${quick ? 'quick' : 'full'} run, ${minutes.toFixed(1)} min) on ${machine}; data on ${disk}\n`);
console.log(table);
await writeFile(
  join(root, 'bench', 'results.json'),
  `${JSON.stringify({ date: new Date().toISOString(), quick, machine, disk, generator, minutes, table, results }, null, 2)}\n`
);
console.log('\nwrote bench/results.json');
