/**
 * A witness under replays and strangers (issue 10): a checkpoint it already cosigned as
 * the latest is re-cosigned with a fresh timestamp, as tlog-witness asks (specs §6.1),
 * without a store write or fsync (commits counted through the store layer, LevelDB's files
 * on disk unchanged); and it answers only for the logs it is configured with.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { cosignatureV1Signer, cosignatureV1Verifier } from '../../src/checkpoint/cosignature.js';
import { formatSignerKey, generateSignerKey } from '../../src/note/keys.js';
import { openNote } from '../../src/note/note.js';
import { buildLogs } from '../../src/witness/config.js';
import { startWitness, type RunningWitness } from '../../src/witness/main.js';
import { Witness } from '../../src/witness/witness.js';
import { originHash, WitnessStore } from '../../src/witness/witness-store.js';
import type { CosignedState } from '../../src/witness/codec.js';
import { isLogError } from '../../src/util/errors.js';
import {
  LOG_ORIGIN,
  LOG_VKEY,
  SEED,
  TestTree,
  WITNESS_NAME,
  WITNESS_VKEY,
  addBody,
  tempDir,
  writeWitnessKey,
} from './helpers.js';

/** A WitnessStore that counts its commits: each one is an fsynced LevelDB batch. */
class CountingStore extends WitnessStore {
  commits = 0;
  override async commit(origin: string, expectedSize: number | undefined, next: CosignedState): Promise<void> {
    this.commits++;
    return super.commit(origin, expectedSize, next);
  }
}

/** Total bytes of the LevelDB directory: any write appends to its log file. */
async function dirBytes(dir: string): Promise<number> {
  let total = 0;
  for (const name of await readdir(dir)) total += (await stat(join(dir, name))).size;
  return total;
}

describe('a replayed checkpoint', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let store: CountingStore;
  let witness: Witness;
  let clock: number;
  const tree = new TestTree().grow(20);

  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir());
    clock = 1_700_000_000_000;
    store = new CountingStore(join(dir, 'db'));
    await store.open();
    witness = new Witness({
      store,
      logs: buildLogs([{ origin: LOG_ORIGIN, verifierKeys: [LOG_VKEY] }]),
      signer: cosignatureV1Signer(formatSignerKey(WITNESS_NAME, SEED), () => Math.floor(clock / 1000)),
      verifierKey: WITNESS_VKEY,
      now: () => clock,
      refreshMs: 60_000,
      warn: () => {}, // the ALERT line of the fork below
    });
  });
  afterEach(async () => {
    await store.close();
    await cleanup();
  });

  const timestampOf = (note: string, line: string): number => {
    const v = cosignatureV1Verifier(WITNESS_VKEY);
    expect(openNote(note + line, [v]).verified).toHaveLength(1);
    return v.lastTimestamp!;
  };

  it('is re-cosigned with a fresh timestamp and not written again, until its refresh is due', async () => {
    const cp = tree.checkpoint(12);
    await witness.addCheckpoint(addBody(0, [], cp));
    expect(store.commits).toBe(1);
    const stored = witness.state(LOG_ORIGIN)!;
    const bytes = await dirBytes(join(dir, 'db'));

    for (let i = 1; i <= 200; i++) {
      clock += 250; // 50 s of replays, four a second
      const line = await witness.addCheckpoint(addBody(12, [], cp));
      // Each answer is a valid cosignature of the checkpoint, timestamped now.
      expect(timestampOf(cp, line)).toBe(Math.floor(clock / 1000));
    }
    expect(store.commits).toBe(1);
    expect(await dirBytes(join(dir, 'db'))).toBe(bytes);
    expect(witness.state(LOG_ORIGIN)).toEqual(stored);

    // Past refreshMs since the stored cosignature, the next replay refreshes it durably.
    clock = stored.updated + 60_000;
    const line = await witness.addCheckpoint(addBody(12, [], cp));
    expect(store.commits).toBe(2);
    expect(witness.state(LOG_ORIGIN)!.note).toBe(cp + line);
    expect(witness.state(LOG_ORIGIN)!.updated).toBe(clock);
  });

  it('still writes every checkpoint that moves the state forward, and refuses the old ones', async () => {
    await witness.addCheckpoint(addBody(0, [], tree.checkpoint(8)));
    await witness.addCheckpoint(addBody(8, tree.proof(8, 12), tree.checkpoint(12)));
    expect(store.commits).toBe(2);
    expect(witness.state(LOG_ORIGIN)!.size).toBe(12);
    // An older checkpoint replayed (the log's earlier request): never cosigned, not written.
    await expect(witness.addCheckpoint(addBody(8, tree.proof(8, 12), tree.checkpoint(8)))).rejects.toThrow();
    await expect(witness.addCheckpoint(addBody(12, [], tree.checkpoint(8)))).rejects.toThrow();
    // The same size with another root is still refused (and is evidence), never re-cosigned.
    const fork = new TestTree().grow(11).grow(1, 'fork');
    const err: unknown = await witness.addCheckpoint(addBody(12, [], fork.checkpoint(12))).catch((e: unknown) => e);
    expect(isLogError(err, 'CONFLICT')).toBe(true);
    expect(store.commits).toBe(2);
    expect(witness.isHalted(LOG_ORIGIN)).toBe(true);
  });
});

describe('a witness answers only for its configured logs', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let running: RunningWitness;
  const stranger = new TestTree('stranger.example/log', generateSignerKey('stranger.example/log').signerKey).grow(4);

  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir());
    await writeWitnessKey(dir);
    running = await startWitness({
      dataDir: dir,
      name: WITNESS_NAME,
      logs: [{ origin: LOG_ORIGIN, verifierKeys: [LOG_VKEY] }],
      host: '127.0.0.1',
      port: 0,
      pollMs: 0,
      gossipMs: 0,
      warn: () => {},
    });
  });
  afterEach(async () => {
    await running.close();
    await cleanup();
  });

  const code = async (res: Response): Promise<string> => ((await res.json()) as { error: { code: string } }).error.code;

  it('refuses another origin on every path, over HTTP, and stores nothing for it', async () => {
    const post = (path: string, body: string): Promise<Response> =>
      fetch(`${running.url}${path}`, { method: 'POST', body });
    const add = await post('/add-checkpoint', addBody(0, [], stranger.checkpoint()));
    expect(add.status).toBe(404);
    expect(await code(add)).toBe('UNKNOWN_LOG');
    const gossip = await post('/v1/gossip', stranger.checkpoint());
    expect(gossip.status).toBe(404);
    expect(await code(gossip)).toBe('UNKNOWN_LOG');
    const monitor = await fetch(`${running.url}/${originHash(stranger.origin)}/checkpoint`);
    expect(monitor.status).toBe(404);
    await monitor.body?.cancel();
    // A checkpoint claiming a configured origin but signed by another key: 403, not cosigned.
    const forged = new TestTree(LOG_ORIGIN, generateSignerKey(LOG_ORIGIN).signerKey).grow(4);
    const bad = await post('/add-checkpoint', addBody(0, [], forged.checkpoint()));
    expect(bad.status).toBe(403);
    await bad.body?.cancel();

    const status = (await (await fetch(`${running.url}/v1/status`)).json()) as { logs: Array<{ origin: string }> };
    expect(status.logs.map((l) => l.origin)).toEqual([LOG_ORIGIN]);
    expect(running.witness.state(stranger.origin)).toBeUndefined();
    expect(running.witness.state(LOG_ORIGIN)).toBeUndefined();
    // The configured log is still cosigned.
    const ok = await post('/add-checkpoint', addBody(0, [], new TestTree().grow(4).checkpoint()));
    expect(ok.status).toBe(200);
    await ok.body?.cancel();
  });
});
