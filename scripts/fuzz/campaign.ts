/**
 * Runs one fuzz target over generated inputs (mutate.ts) and sorts each outcome: accepted
 * (the parser returned), refused (it threw an accepted coded error), or a crash (anything
 * else it threw, a property it broke, or a parse slower than `slowMs`, confirmed by a second
 * run so that a busy machine is not taken for a hang). Used in process by the short run in
 * `npm test` (test/fuzz/fuzz.test.ts) and inside the worker threads of `npm run fuzz`.
 */
import { Mutator, Rng, targetSeed } from './mutate.js';
import { isAcceptedError, type FuzzTarget } from './targets.js';

/** A crash: the input, where in the campaign it came, and what happened. */
export interface Crash {
  target: string;
  /** The campaign seed and the input's position: together they reproduce it. */
  seed: number;
  iteration: number;
  input: Uint8Array;
  error: string;
}

/** The outcome of one target's run. */
export interface TargetStats {
  name: string;
  count: number;
  accepted: number;
  refused: number;
  crashes: Crash[];
  ms: number;
  /** The slowest single input, in milliseconds. */
  slowestMs: number;
}

export interface FuzzOptions {
  seed: number;
  count: number;
  /** A parse slower than this (twice) is a hang. */
  slowMs?: number;
  /** Stop the target after this many crashes. */
  maxCrashes?: number;
  /** Called before each input is parsed (the worker copies it out for its watchdog). */
  onInput?: (input: Uint8Array, iteration: number) => void;
  /** Called every `progressEvery` inputs. */
  onProgress?: (done: number) => void;
  /** Called with each crash as it is found (the worker reports it at once). */
  onCrash?: (crash: Crash) => void;
  progressEvery?: number;
}

/** The error text of a crash: its name, message and stack. */
export function describeError(err: unknown): string {
  if (err instanceof Error) return err.stack ?? `${err.name}: ${err.message}`;
  return `non-Error thrown: ${String(err)}`;
}

/** Parses one input; resolves with what happened and how long it took. */
export async function runOne(
  target: FuzzTarget,
  input: Uint8Array
): Promise<{ outcome: 'accepted' | 'refused' | 'crash'; error?: unknown; ms: number }> {
  const t0 = performance.now();
  try {
    const r = target.run(input);
    if (r !== undefined) await r;
    return { outcome: 'accepted', ms: performance.now() - t0 };
  } catch (err) {
    const ms = performance.now() - t0;
    return isAcceptedError(err) ? { outcome: 'refused', ms } : { outcome: 'crash', error: err, ms };
  }
}

/** Runs `count` generated inputs through `target` (see the module comment). */
export async function fuzzTarget(target: FuzzTarget, options: FuzzOptions): Promise<TargetStats> {
  const slowMs = options.slowMs ?? 1000;
  const maxCrashes = options.maxCrashes ?? 10;
  const every = options.progressEvery ?? 10_000;
  const mutator = new Mutator(new Rng(targetSeed(options.seed, target.name)), target.seeds, target.dictionary);
  const stats: TargetStats = { name: target.name, count: 0, accepted: 0, refused: 0, crashes: [], ms: 0, slowestMs: 0 };
  const start = performance.now();
  for (let i = 0; i < options.count; i++) {
    const input = mutator.next();
    options.onInput?.(input, i);
    let r = await runOne(target, input);
    if (r.outcome !== 'crash' && r.ms > slowMs) {
      const again = await runOne(target, input);
      if (again.ms > slowMs) r = { outcome: 'crash', error: new Error(`hang: ${r.ms.toFixed(0)} ms and ${again.ms.toFixed(0)} ms`), ms: r.ms };
    }
    stats.count++;
    stats.slowestMs = Math.max(stats.slowestMs, r.ms);
    if (r.outcome === 'accepted') stats.accepted++;
    else if (r.outcome === 'refused') stats.refused++;
    else {
      const crash = { target: target.name, seed: options.seed, iteration: i, input, error: describeError(r.error) };
      stats.crashes.push(crash);
      options.onCrash?.(crash);
      if (stats.crashes.length >= maxCrashes) break;
    }
    if ((i + 1) % every === 0) options.onProgress?.(i + 1);
  }
  stats.ms = performance.now() - start;
  return stats;
}
