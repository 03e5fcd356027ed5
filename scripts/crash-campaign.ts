/**
 * `npm run crash-campaign`: the real `candor serve --submitters` on 127.0.0.1 under mixed
 * load from this script (single entries, JSON and binary batches, governance records),
 * SIGKILLed at seeded random moments and restarted, `--kills` times (default 20). After
 * every restart, and once more at the end:
 *
 * - every acknowledged entry is in the log at its acknowledged index, byte for byte;
 * - every checkpoint handed out in a receipt is consistent with the current one (the
 *   consistency proof the log serves verifies);
 * - the whole log passes the full check (test/helpers/check-log.ts: signature, every tile
 *   against the reference tree, every entry against its leaf hash);
 * - the record index finds every acknowledged record with its signer (once it has caught
 *   up with the log: the index trails the log after a kill, by design, and catches up).
 *
 * Usage: npm run crash-campaign -- [--kills N] [--seed S] [--workers W] [--max-seconds T]
 * Bounded: N rounds of at most ~1.5 s of load each, the checks, and a run time limit.
 * Exit codes: 0 every check held; 1 a check failed (printed); 2 usage error.
 */
import { parseArgs } from 'node:util';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServerProcess, type ServerProcess } from '../test/helpers/server-process.js';
import { checkServedLog, type CheckedLog } from '../test/helpers/check-log.js';
import { openCheckpoint } from '../src/checkpoint/checkpoint.js';
import { ed25519Verifier, type Verifier } from '../src/note/keys.js';
import { verifyConsistency } from '../src/merkle/verify.js';
import { Rng } from './fuzz/mutate.js';
import { RKEYS, deployment, recordsAllowlist, signed } from '../test/governance/records-fixture.js';

const USAGE = `usage: npm run crash-campaign -- [--kills N] [--seed S] [--workers W] [--max-seconds T]
  --kills N        SIGKILLs, each followed by a restart and the checks (default 20)
  --seed S         seed of the kill moments and of the load mix (default 1)
  --workers W      concurrent clients (default 12)
  --max-seconds T  stop starting rounds after T seconds (default 900)
exit codes: 0 every check held, 1 a check failed, 2 usage error`;

interface Acked {
  index: number;
  entry: Buffer;
  checkpoint: string;
  /** For records: the submitter the index must name. */
  signer?: string;
}

interface Receipt {
  index: number;
  checkpoint: string;
}

const ORIGIN = 'crash-campaign.example/log';

class CheckFailed extends Error {}

function check(cond: boolean, what: string): void {
  if (!cond) throw new CheckFailed(what);
}

function number(v: string | undefined, name: string, dflt: number): number {
  if (v === undefined) return dflt;
  if (!/^[0-9]{1,9}$/.test(v)) {
    console.error(`crash-campaign: ${name} must be a whole number\n${USAGE}`);
    process.exit(2);
  }
  return Number(v);
}

async function main(): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        kills: { type: 'string' },
        seed: { type: 'string' },
        workers: { type: 'string' },
        'max-seconds': { type: 'string' },
        help: { type: 'boolean' },
      },
    }));
  } catch (err) {
    console.error(`crash-campaign: ${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help === true) {
    console.log(USAGE);
    return 0;
  }
  const kills = number(values.kills, '--kills', 20);
  const seed = number(values.seed, '--seed', 1);
  const workers = Math.max(1, number(values.workers, '--workers', 12));
  const deadline = Date.now() + number(values['max-seconds'], '--max-seconds', 900) * 1000;
  const rng = new Rng(seed);
  const dir = await mkdtemp(join(tmpdir(), 'candor-crash-campaign-'));
  const data = join(dir, 'data');
  const submitters = join(dir, 'submitters.json');
  await writeFile(submitters, recordsAllowlist());
  const started = Date.now();
  const acked: Acked[] = [];
  const figures = { single: 0, batch: 0, batchEntries: 0, records: 0, failedRequests: 0, checkpointsChecked: 0 };
  /** Receipt checkpoints already proven consistent with a later tree: never re-proven in full. */
  const proven = new Set<string>();
  let server: ServerProcess | undefined;
  let verifierKey = '';
  let verifier: Verifier | undefined;
  let counter = 0;

  const start = async (): Promise<ServerProcess> => {
    server = await startServerProcess(data, ['--origin', ORIGIN, '--submitters', submitters]);
    verifierKey ||= server.verifierKey;
    check(server.verifierKey === verifierKey, 'the log key changed across a restart');
    verifier ??= ed25519Verifier(verifierKey);
    return server;
  };

  /** Every check of the module comment against the running server. */
  const checkAll = async (label: string, all: boolean): Promise<CheckedLog> => {
    const url = server!.url;
    const fetchFn = (p: string): Promise<Response> => fetch(url + p);
    const log = await checkServedLog(fetchFn, verifierKey);
    for (const a of acked) {
      check(a.index < log.size, `${label}: acknowledged entry ${a.index} is beyond the log (size ${log.size})`);
      check(Buffer.from(log.entries[a.index]!).equals(a.entry), `${label}: entry ${a.index} is not the acknowledged bytes`);
    }
    const current = openCheckpoint(log.note, verifier!).checkpoint;
    const notes = [...new Set(acked.map((a) => a.checkpoint))].filter((n) => all || !proven.has(n));
    for (const note of notes) {
      const old = openCheckpoint(note, verifier!).checkpoint;
      const res = await fetchFn(`/v1/proof/consistency?from=${old.size}&to=${current.size}`);
      check(res.status === 200, `${label}: consistency proof ${old.size} → ${current.size}: HTTP ${res.status}`);
      const { hashes } = (await res.json()) as { hashes: string[] };
      const proof = hashes.map((h) => new Uint8Array(Buffer.from(h, 'base64')));
      check(
        verifyConsistency(old.size, current.size, proof, old.rootHash, current.rootHash),
        `${label}: the acknowledged checkpoint of size ${old.size} is not consistent with size ${current.size}`
      );
      proven.add(note);
      figures.checkpointsChecked++;
    }
    // The record index catches up with the log after a restart; wait for it (bounded).
    const records = acked.filter((a) => a.signer !== undefined);
    for (const r of records) {
      const until = Date.now() + 20_000;
      for (;;) {
        const res = await fetchFn(`/v1/records/${r.index}`);
        if (res.status === 200) {
          const rec = (await res.json()) as { signer: { name: string } | null };
          check(rec.signer?.name === r.signer, `${label}: record ${r.index} is indexed with signer ${JSON.stringify(rec.signer)}`);
          break;
        }
        const body = await res.text();
        check(res.status === 404 && /not indexed/.test(body), `${label}: record ${r.index}: HTTP ${res.status} ${body}`);
        check(Date.now() < until, `${label}: record ${r.index} still not indexed after 20 s`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    return log;
  };

  const entryBytes = (what: string): Buffer => Buffer.from(`${what} ${counter++} ${'x'.repeat(counter % 211)}`);

  /** One client: requests until stopped, recording what was acknowledged. */
  const worker = async (w: number, round: number, stopped: () => boolean, mix: Rng): Promise<void> => {
    const url = server!.url;
    while (!stopped()) {
      const roll = mix.int(10);
      try {
        if (roll < 6) {
          const entry = entryBytes(`round ${round} client ${w} single`);
          const res = await fetch(`${url}/v1/entries`, { method: 'POST', body: entry as BodyInit });
          if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
          const r = (await res.json()) as Receipt;
          acked.push({ index: r.index, entry, checkpoint: r.checkpoint });
          figures.single++;
        } else if (roll < 9) {
          const entries = Array.from({ length: 1 + mix.int(60) }, () => entryBytes(`round ${round} client ${w} batch`));
          const binary = mix.oneIn(2);
          const body = binary
            ? Buffer.concat(entries.flatMap((e) => [Buffer.from([Math.floor(e.length / 256), e.length % 256]), e]))
            : JSON.stringify({ entries: entries.map((e) => e.toString('base64')) });
          const type = binary ? 'application/octet-stream' : 'application/json';
          const res = await fetch(`${url}/v1/entries/batch`, { method: 'POST', body: body as BodyInit, headers: { 'Content-Type': type } });
          if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
          const { receipts } = (await res.json()) as { receipts: Receipt[] };
          receipts.forEach((r, k) => acked.push({ index: r.index, entry: entries[k]!, checkpoint: r.checkpoint }));
          figures.batch++;
          figures.batchEntries += entries.length;
        } else {
          const [signer, key, env] = mix.pick([
            ['alice', RKEYS.alice, 'prod'],
            ['release-ci', RKEYS.ci, 'staging'],
            ['dave', RKEYS.dave, 'prod'],
          ] as const);
          const n = counter++;
          const entry = Buffer.from(
            signed(deployment(`model-${n % 7}`, env, (n % 16).toString(16).repeat(64), { reason: `crash campaign ${n}` }), key)
          );
          const res = await fetch(`${url}/v1/records`, { method: 'POST', body: entry as BodyInit, headers: { 'Content-Type': 'application/json' } });
          if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${await res.text()}`);
          const r = (await res.json()) as Receipt;
          acked.push({ index: r.index, entry, checkpoint: r.checkpoint, signer });
          figures.records++;
        }
      } catch (err) {
        figures.failedRequests++;
        // Killed mid-request: the entry may or may not be logged; nothing is claimed for it.
        if (!stopped() && !/fetch failed|ECONNRESET|other side closed|HTTP 503/.test(String((err as Error).cause ?? err))) {
          throw new CheckFailed(`a request failed while the server was up: ${String(err)}`);
        }
        if (stopped()) return;
      }
    }
  };

  let rounds = 0;
  try {
    for (let round = 0; round < kills && Date.now() < deadline; round++) {
      await start();
      if (round > 0) await checkAll(`after restart ${round}`, false);
      let stop = false;
      const clients = Array.from({ length: workers }, (_, w) => worker(w, round, () => stop, new Rng(rng.u32())));
      const delay = 150 + rng.int(1350);
      await new Promise((r) => setTimeout(r, delay));
      stop = true;
      await server!.kill();
      await Promise.allSettled(clients);
      const failed = (await Promise.allSettled(clients)).find((c) => c.status === 'rejected');
      if (failed !== undefined) throw (failed as PromiseRejectedResult).reason;
      rounds++;
      console.log(`kill ${rounds}: after ${delay} ms of load; ${acked.length} entries acknowledged so far`);
    }
    await start();
    const log = await checkAll('at the end', true);
    // Unacknowledged submissions sent again never make a second copy: every entry is unique.
    const unique = new Set(log.entries.map((e) => Buffer.from(e).toString('base64')));
    check(unique.size === log.size, `the log holds ${log.size - unique.size} duplicate entries`);
    const code = await server!.stop();
    server = undefined;
    check(code === 0, `candor serve exited with ${code} on SIGTERM`);
    const secs = ((Date.now() - started) / 1000).toFixed(0);
    console.log(
      `crash campaign (seed ${seed}): ${rounds} SIGKILLs and restarts in ${secs} s; ${acked.length} entries acknowledged ` +
        `(${figures.single} single, ${figures.batchEntries} in ${figures.batch} batches, ${figures.records} records), ` +
        `${figures.failedRequests} requests cut by the kills; final log ${log.size} entries; ` +
        `${figures.checkpointsChecked} checkpoint consistency proofs verified; every check held`
    );
    return 0;
  } catch (err) {
    if (!(err instanceof CheckFailed)) throw err;
    console.error(`crash campaign FAILED: ${err.message}`);
    if (server !== undefined) console.error(server.output().slice(-4000));
    return 1;
  } finally {
    await server?.kill();
    await rm(dir, { recursive: true, force: true });
  }
}

process.exitCode = await main();
