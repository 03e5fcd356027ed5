/**
 * A worker thread of `npm run fuzz`: runs one target and reports progress and its stats
 * to the main thread. Before each parse it copies the input into shared memory and bumps a
 * counter, so the main thread's watchdog can name the input of a parse that never returns
 * (an infinite loop cannot be timed from inside).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { fuzzTarget } from './campaign.js';
import { buildTargets } from './targets.js';
import { useNodeCrypto } from '../../src/server/node-crypto.js';

interface Job {
  target: string;
  seed: number;
  count: number;
  slowMs: number;
  /** Int32 [0]: inputs started, [1]: length of the current input; bytes from offset 8. */
  shared: SharedArrayBuffer;
}

const job = workerData as Job;
const header = new Int32Array(job.shared, 0, 2);
const bytes = new Uint8Array(job.shared, 8);

// As `candor serve` runs: node:crypto for SHA-256 and Ed25519 (the parsers are the same).
useNodeCrypto();
const targets = await buildTargets();
const target = targets.find((t) => t.name === job.target);
if (target === undefined) throw new Error(`no fuzz target ${job.target}`);
const stats = await fuzzTarget(target, {
  seed: job.seed,
  count: job.count,
  slowMs: job.slowMs,
  onInput: (input) => {
    const n = Math.min(input.length, bytes.length);
    bytes.set(input.subarray(0, n));
    Atomics.store(header, 1, n);
    Atomics.add(header, 0, 1);
  },
  onProgress: (done) => parentPort!.postMessage({ type: 'progress', done }),
  // At once, so that a campaign stopped early still has every crash it found.
  onCrash: (crash) => parentPort!.postMessage({ type: 'crash', crash }),
  progressEvery: 50_000,
});
for (const t of targets) await t.close?.();
parentPort!.postMessage({ type: 'done', stats });
