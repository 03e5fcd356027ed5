/**
 * Shared helpers of the benchmarks (bench/run.ts and its child processes): entries, child
 * processes that answer one JSON line, directory sizes, and a bounded wait.
 *
 * Every benchmark runs in a child process of its own, so each starts with a fresh heap and
 * nothing of one measurement (JIT state, caches, garbage) leaks into the next.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';

/** Size of every benchmark entry, in bytes (the figure). */
export const ENTRY_SIZE = 256;

/**
 * `count` distinct 256-byte entries numbered from `first`: the entry's number in the first
 * 8 bytes (big-endian), then 248 pseudo-random bytes (a fixed LCG, the same in every process
 * and in the hypercore peer) taken from a pool of 1024 tails, so no two entries are equal,
 * none compresses, and making one costs a copy rather than 62 LCG steps (entry making runs
 * in the measured process and must not weigh on the figure).
 */
export function makeEntries(first: number, count: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let n = first; n < first + count; n++) out.push(makeEntry(n));
  return out;
}

const POOL = 1024;
let tails: Uint8Array | undefined;

function tailPool(): Uint8Array {
  if (tails !== undefined) return tails;
  tails = new Uint8Array(POOL * (ENTRY_SIZE - 8));
  const view = new DataView(tails.buffer);
  for (let t = 0; t < POOL; t++) {
    let x = t + 1;
    for (let i = 0; i < ENTRY_SIZE - 8; i += 4) {
      x = (x * 48271) % 2147483647;
      view.setUint32(t * (ENTRY_SIZE - 8) + i, x);
    }
  }
  return tails;
}

/** Entry number `n` (see makeEntries). */
export function makeEntry(n: number): Uint8Array {
  const e = new Uint8Array(ENTRY_SIZE);
  const view = new DataView(e.buffer);
  view.setUint32(0, Math.floor(n / 0x100000000));
  view.setUint32(4, n % 0x100000000);
  const t = n % POOL;
  e.set(tailPool().subarray(t * (ENTRY_SIZE - 8), (t + 1) * (ENTRY_SIZE - 8)), 8);
  return e;
}

/** Total bytes of the files under `dir` (files that vanish meanwhile, e.g. compacted, count 0). */
export async function dirBytes(dir: string): Promise<number> {
  let total = 0;
  for (const name of await readdir(dir)) {
    const path = join(dir, name);
    const s = await stat(path).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw err;
    });
    if (s === undefined) continue;
    total += s.isDirectory() ? await dirBytes(path) : s.size;
  }
  return total;
}

/** Runs `node args...`, waits at most `timeoutMs`, and parses the last stdout line as JSON. */
export async function runJson<T>(args: string[], timeoutMs: number, cwd?: string): Promise<T> {
  const child = spawn(process.execPath, args, { cwd, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (d: string) => (out += d));
  const code = await exited(child, timeoutMs);
  if (code !== 0) throw new Error(`node ${args.join(' ')} exited with ${code}`);
  const lines = out.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]!) as T;
}

/** Resolves with the exit code; kills the child (and rejects) after `timeoutMs`. */
export function exited(child: ChildProcess, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`child ${child.pid} ran longer than ${timeoutMs} ms and was killed`));
    }, timeoutMs);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve(code ?? (signal === null ? 1 : 128));
    });
  });
}

/**
 * Starts a long-running child (a server) and resolves with it and the first stdout match
 * of `ready` (e.g. the URL it listens on). Rejects if it exits or does not match in time.
 */
export function startServer(
  args: string[],
  ready: RegExp,
  timeoutMs = 30_000
): Promise<{ child: ChildProcess; match: RegExpMatchArray }> {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`server ${args.join(' ')} did not start within ${timeoutMs} ms`));
    }, timeoutMs);
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d: string) => {
      out += d;
      const m = out.match(ready);
      if (m !== null) {
        clearTimeout(timer);
        resolve({ child, match: m });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server ${args.join(' ')} exited with ${code} before it was ready`));
    });
  });
}

/** Stops a server child with SIGTERM (SIGKILL after 20 s) and waits for it. */
export async function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const done = exited(child, 20_000).catch(() => 1);
  child.kill('SIGTERM');
  await done;
}

/** Parses `--name value` flags (and bare `--flag` as "true"). */
export function flags(argv: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) continue;
    const next = argv[i + 1];
    if (next === undefined || next.startsWith('--')) out.set(a.slice(2), 'true');
    else out.set(a.slice(2), (i++, next));
  }
  return out;
}

/** A number flag with a default. */
export function num(f: Map<string, string>, name: string, dflt: number): number {
  const v = f.get(name);
  return v === undefined ? dflt : Number(v);
}

export { formatTileIndex } from '../src/merkle/tiles.js';
