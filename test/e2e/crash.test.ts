/**
 * Kills the real server with SIGKILL in the middle of concurrent submissions, several
 * times, and checks after each restart that every acknowledged entry is in the tree at
 * its index with the same bytes, and that the checkpoint and the tiles agree.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { checkServedLog } from '../helpers/check-log.js';
import { openCheckpoint } from '../../src/checkpoint/checkpoint.js';
import { ed25519Verifier } from '../../src/note/keys.js';
import { verifyConsistency } from '../../src/merkle/verify.js';

const ROUNDS = 4;
const WORKERS = 16;

interface Acked {
  index: number;
  entry: Buffer<ArrayBuffer>;
  checkpoint: string;
}

describe('crash safety (SIGKILL during concurrent submissions)', () => {
  let dir: string;
  let server: ServerProcess | undefined;
  afterAll(async () => {
    await server?.kill();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('keeps every acknowledged entry across repeated kills', async () => {
    dir = await mkdtemp(join(tmpdir(), 'candor-crash-'));
    const acked: Acked[] = [];
    const unacked: Buffer<ArrayBuffer>[] = [];
    let counter = 0;
    let verifierKey = '';
    for (let round = 0; round < ROUNDS; round++) {
      server = await startServerProcess(dir, ['--origin', 'crash.example/log']);
      verifierKey ||= server.verifierKey;
      expect(server.verifierKey).toBe(verifierKey); // the key survives restarts
      const url = server.url;
      let stop = false;
      const worker = async (w: number): Promise<void> => {
        while (!stop) {
          const useBatch = (counter + w) % 5 === 0;
          const entries = Array.from({ length: useBatch ? 20 : 1 }, () =>
            Buffer.from(`round ${round} worker ${w} entry ${counter++} ` + 'x'.repeat(counter % 200))
          );
          try {
            if (useBatch) {
              const res = await fetch(`${url}/v1/entries/batch`, {
                method: 'POST',
                headers: { 'Content-Type': 'application/json' },
                body: JSON.stringify({ entries: entries.map((e) => e.toString('base64')) }),
              });
              if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
              const { receipts } = (await res.json()) as { receipts: { index: number; checkpoint: string }[] };
              receipts.forEach((r, k) => acked.push({ index: r.index, entry: entries[k]!, checkpoint: r.checkpoint }));
            } else {
              const res = await fetch(`${url}/v1/entries`, { method: 'POST', body: entries[0]! });
              if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
              const r = (await res.json()) as { index: number; checkpoint: string };
              acked.push({ index: r.index, entry: entries[0]!, checkpoint: r.checkpoint });
            }
          } catch {
            unacked.push(...entries); // killed mid-request: may or may not be logged
            if (stop) return;
          }
        }
      };
      const workers = Array.from({ length: WORKERS }, (_, w) => worker(w));
      await new Promise((r) => setTimeout(r, 150 + round * 120));
      await server.kill();
      stop = true;
      await Promise.all(workers);
    }
    expect(acked.length).toBeGreaterThan(100);

    server = await startServerProcess(dir);
    const fetchFn = (p: string): Promise<Response> => fetch(server!.url + p);
    const log = await checkServedLog(fetchFn, verifierKey);
    for (const a of acked) {
      expect(a.index).toBeLessThan(log.size);
      expect(Buffer.from(log.entries[a.index]!).equals(a.entry)).toBe(true);
    }
    // Every checkpoint handed out in a receipt is consistent with today's tree.
    const verifier = ed25519Verifier(verifierKey);
    const current = openCheckpoint(log.note, verifier).checkpoint;
    for (const a of acked.filter((_, i) => i % 25 === 0)) {
      const old = openCheckpoint(a.checkpoint, verifier).checkpoint;
      const res = await fetchFn(`/v1/proof/consistency?from=${old.size}&to=${current.size}`);
      const { hashes } = (await res.json()) as { hashes: string[] };
      const proof = hashes.map((h) => new Uint8Array(Buffer.from(h, 'base64')));
      expect(verifyConsistency(old.size, current.size, proof, old.rootHash, current.rootHash)).toBe(true);
    }
    // Acknowledged entries sent again are found at their index (the leaf-hash index is
    // written after each commit, so a kill can leave it behind; the restart repairs it).
    for (const a of acked.filter((_, i) => i % 7 === 0)) {
      const res = await fetch(`${server.url}/v1/entries`, { method: 'POST', body: a.entry });
      expect(await res.json()).toMatchObject({ index: a.index, duplicate: true });
    }
    // Resubmitting what was never acknowledged never logs anything twice.
    for (const e of unacked) {
      const res = await fetch(`${server.url}/v1/entries`, { method: 'POST', body: e });
      expect(res.status).toBe(200);
    }
    const final = await checkServedLog(fetchFn, verifierKey);
    const seen = new Set(final.entries.map((e) => Buffer.from(e).toString('base64')));
    expect(seen.size).toBe(final.size);
    expect(await server.stop()).toBe(0);
    server = undefined;
  }, 120_000);
});
