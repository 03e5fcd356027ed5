/**
 * `npm run fuzz`: every parser of outside input (targets.ts) on generated and mutated
 * inputs, one worker thread per target (`--jobs` at a time), deterministic for a seed.
 *
 * Usage: npm run fuzz -- [--seed N] [--count N] [--target NAME]... [--jobs N]
 *                        [--slow-ms MS] [--hang-ms MS] [--out DIR]
 *        npm run fuzz -- --target NAME --reproduce FILE
 *        npm run fuzz -- --list
 *
 * Prints per target the inputs run, how many were accepted and refused (a coded error),
 * the crashes, the time and the slowest input. A crash is printed (the error, the input as
 * hex and base64) and saved as `<out>/<target>-seed<S>-<i>.bin` (the input) and `.txt`
 * (the error); `--reproduce` runs such a file again. A parse slower than --slow-ms (1000)
 * twice is a hang; a worker silent on one input for --hang-ms (10000) is stopped and its
 * input saved the same way.
 *
 * Exit codes: 0 no crash; 1 at least one crash or hang; 2 usage error.
 */
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { describeError, runOne, type Crash, type TargetStats } from './campaign.js';
import { buildTargets, TARGET_NAMES } from './targets.js';
import { useNodeCrypto } from '../../src/server/node-crypto.js';

const USAGE = `usage: npm run fuzz -- [--seed N] [--count N] [--target NAME]... [--jobs N]
                     [--slow-ms MS] [--hang-ms MS] [--out DIR]
       npm run fuzz -- --target NAME --reproduce FILE
       npm run fuzz -- --list
  --seed N        campaign seed (default 1): the same seed makes the same inputs
  --count N       inputs per target (default 1000000)
  --target NAME   only this target (repeatable); --list shows them
  --jobs N        targets run at once, one worker thread each (default 2)
  --slow-ms MS    a parse slower than this, twice, is a hang (default 1000)
  --hang-ms MS    a worker stuck on one input this long is stopped: a hang (default 10000)
  --out DIR       where crash inputs are saved (default fuzz-crashes)
  --reproduce F   run the input saved in F through --target and print the outcome
exit codes: 0 no crash, 1 a crash or hang, 2 usage error`;

function usage(message: string): never {
  console.error(`fuzz: ${message}\n${USAGE}`);
  process.exit(2);
}

function count(v: string | undefined, name: string, dflt: number): number {
  if (v === undefined) return dflt;
  if (!/^[0-9]{1,15}$/.test(v)) usage(`${name} must be a whole number, got ${JSON.stringify(v)}`);
  return Number(v);
}

const hex = (b: Uint8Array, max = 512): string =>
  Buffer.from(b.subarray(0, max)).toString('hex') + (b.length > max ? `… (${b.length} bytes)` : '');

async function saveCrash(out: string, c: Crash): Promise<string> {
  await mkdir(out, { recursive: true });
  const base = join(out, `${c.target}-seed${c.seed}-${c.iteration}`);
  await writeFile(`${base}.bin`, c.input);
  await writeFile(`${base}.txt`, `target ${c.target}, seed ${c.seed}, input ${c.iteration}\n${c.error}\n`);
  return `${base}.bin`;
}

async function reportCrash(out: string, c: Crash): Promise<void> {
  const file = await saveCrash(out, c);
  console.log(`CRASH in ${c.target} (seed ${c.seed}, input ${c.iteration}, ${c.input.length} bytes):`);
  console.log(`  ${c.error.split('\n').slice(0, 6).join('\n  ')}`);
  console.log(`  hex:    ${hex(c.input)}`);
  if (c.input.length <= 4096) console.log(`  base64: ${Buffer.from(c.input).toString('base64')}`);
  console.log(`  saved:  ${file} (npm run fuzz -- --target ${c.target} --reproduce ${file})`);
}

function runWorker(
  out: string,
  target: string,
  seed: number,
  n: number,
  slowMs: number,
  hangMs: number
): Promise<{ stats?: TargetStats; hang?: Crash }> {
  const shared = new SharedArrayBuffer(8 + 1_200_000);
  const header = new Int32Array(shared, 0, 2);
  const worker = new Worker(new URL('./worker.js', import.meta.url), {
    workerData: { target, seed, count: n, slowMs, shared },
  });
  return new Promise((resolveRun, reject) => {
    let lastSeen = -1;
    let since = Date.now();
    const watchdog = setInterval(() => {
      const started = Atomics.load(header, 0);
      if (started !== lastSeen) {
        lastSeen = started;
        since = Date.now();
        return;
      }
      if (Date.now() - since < hangMs) return;
      clearInterval(watchdog);
      const len = Atomics.load(header, 1);
      const input = new Uint8Array(shared, 8, len).slice();
      void worker.terminate();
      resolveRun({
        hang: { target, seed, iteration: started - 1, input, error: `hang: no answer in ${hangMs} ms` },
      });
    }, 250);
    worker.on('message', (m: { type: string; done?: number; stats?: TargetStats; crash?: Crash }) => {
      if (m.type === 'progress') process.stderr.write(`  ${target}: ${m.done} inputs\n`);
      if (m.type === 'crash') void reportCrash(out, { ...m.crash!, input: new Uint8Array(m.crash!.input) });
      if (m.type === 'done') {
        clearInterval(watchdog);
        resolveRun({ stats: m.stats! });
      }
    });
    worker.on('error', (err) => {
      clearInterval(watchdog);
      reject(err);
    });
  });
}

async function reproduce(target: string, file: string): Promise<number> {
  useNodeCrypto();
  const targets = await buildTargets();
  const t = targets.find((x) => x.name === target);
  if (t === undefined) usage(`no target ${target}`);
  const input = new Uint8Array(await readFile(file));
  const r = await runOne(t, input);
  for (const x of targets) await x.close?.();
  console.log(`${target}: ${r.outcome} in ${r.ms.toFixed(2)} ms (${input.length} bytes)`);
  if (r.error !== undefined) console.log(r.outcome === 'crash' ? describeError(r.error) : String(r.error));
  return r.outcome === 'crash' ? 1 : 0;
}

async function main(): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        seed: { type: 'string' },
        count: { type: 'string' },
        target: { type: 'string', multiple: true },
        jobs: { type: 'string' },
        'slow-ms': { type: 'string' },
        'hang-ms': { type: 'string' },
        out: { type: 'string' },
        reproduce: { type: 'string' },
        list: { type: 'boolean' },
        help: { type: 'boolean' },
      },
      strict: true,
    }));
  } catch (err) {
    usage((err as Error).message);
  }
  if (values.help === true) {
    console.log(USAGE);
    return 0;
  }
  if (values.list === true) {
    console.log(TARGET_NAMES.join('\n'));
    return 0;
  }
  const names = values.target ?? TARGET_NAMES;
  for (const n of names) if (!TARGET_NAMES.includes(n)) usage(`no target ${JSON.stringify(n)} (see --list)`);
  if (values.reproduce !== undefined) {
    if (names.length !== 1 || values.target === undefined) usage('--reproduce needs exactly one --target');
    return reproduce(names[0]!, values.reproduce);
  }
  const seed = count(values.seed, '--seed', 1);
  const n = count(values.count, '--count', 1_000_000);
  const jobs = Math.max(1, count(values.jobs, '--jobs', 2));
  const slowMs = count(values['slow-ms'], '--slow-ms', 1000);
  const hangMs = count(values['hang-ms'], '--hang-ms', 10_000);
  const out = resolve(values.out ?? 'fuzz-crashes');
  console.log(`fuzz: ${names.length} targets × ${n} inputs, seed ${seed}, ${jobs} at a time`);
  const results: TargetStats[] = [];
  const failures: Crash[] = [];
  const queue = [...names];
  const started = Date.now();
  await Promise.all(
    Array.from({ length: Math.min(jobs, queue.length) }, async () => {
      for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
        const r = await runWorker(out, name, seed, n, slowMs, hangMs);
        if (r.hang !== undefined) {
          failures.push(r.hang);
          await reportCrash(out, r.hang);
          continue;
        }
        const s = r.stats!;
        results.push(s);
        failures.push(...s.crashes);
        const us = ((s.ms * 1000) / Math.max(1, s.count)).toFixed(1);
        console.log(
          `${s.name.padEnd(24)} ${String(s.count).padStart(9)} inputs  ${String(s.accepted).padStart(8)} accepted  ` +
            `${String(s.refused).padStart(9)} refused  ${s.crashes.length} crashes  ${(s.ms / 1000).toFixed(1)} s ` +
            `(${us} µs/input, slowest ${s.slowestMs.toFixed(1)} ms)`
        );
      }
    })
  );
  const total = results.reduce((a, s) => a + s.count, 0);
  console.log(
    `fuzz: ${total} inputs over ${results.length} targets in ${((Date.now() - started) / 1000).toFixed(0)} s, ` +
      `${failures.length} crashes or hangs`
  );
  return failures.length === 0 ? 0 : 1;
}

process.exitCode = await main();
