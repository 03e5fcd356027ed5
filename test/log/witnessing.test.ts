import { describe, expect, it } from 'vitest';
import { Witnessing, type WitnessingOptions } from '../../src/log/witnessing.js';
import { checkWitnessSet, parseWitnessSpec } from '../../src/log/witness-protocol.js';
import { openCheckpoint } from '../../src/checkpoint/checkpoint.js';
import { cosignatureV1Verifier } from '../../src/checkpoint/cosignature.js';
import { ed25519Verifier } from '../../src/note/keys.js';
import { openNote, parseNote } from '../../src/note/note.js';
import { verifyConsistency } from '../../src/merkle/verify.js';
import { isLogError } from '../../src/util/errors.js';
import type { Log } from '../../src/log/log.js';
import { openTestLog, makeEntry, TEST_ORIGIN, TEST_VERIFIER_KEY } from '../helpers/test-log.js';
import { FakeClock, FakeWitness, fakeFetch } from '../helpers/fake-witness.js';

const logVerifier = ed25519Verifier(TEST_VERIFIER_KEY);

interface Setup {
  log: Log;
  clock: FakeClock;
  witnesses: FakeWitness[];
  fetch: ReturnType<typeof fakeFetch>;
  witnessing: Witnessing;
  warnings: string[];
  /** Adds `n` entries and tells witnessing. */
  add(n: number): Promise<void>;
}

let counter = 0;

async function setup(
  labels: string[],
  quorum: number,
  opts: Partial<WitnessingOptions> = {},
  vkeyTypes: Array<0x01 | 0x04> = []
): Promise<Setup> {
  const { log } = await openTestLog();
  const clock = new FakeClock();
  const witnesses = labels.map(
    (l, i) => new FakeWitness(l, i + 1, TEST_ORIGIN, TEST_VERIFIER_KEY, clock, vkeyTypes[i] ?? 0x04)
  );
  const fetch = fakeFetch(witnesses);
  const warnings: string[] = [];
  const witnessing = new Witnessing({
    log,
    witnesses: witnesses.map((w) => w.config),
    quorum,
    fetch,
    clock,
    warn: (line) => warnings.push(line),
    ...opts,
  });
  const add = async (n: number): Promise<void> => {
    await log.addMany(Array.from({ length: n }, () => makeEntry(counter++)));
    witnessing.notify();
  };
  return { log, clock, witnesses, fetch, witnessing, warnings, add };
}

/** The cosignature lines of `note` that verify with `vkey`'s cosignature verifier. */
function cosignedBy(note: string, vkey: string): boolean {
  try {
    openNote(note, [cosignatureV1Verifier(vkey)]);
    return true;
  } catch {
    return false;
  }
}

describe('Witnessing', () => {
  it('publishes the checkpoint once a quorum cosigns: log line first, then valid cosignatures', async () => {
    const s = await setup(['a', 'b', 'c'], 2, {}, [0x04, 0x01, 0x04]);
    s.witnessing.start();
    await s.add(5);
    expect(s.witnessing.witnessed).toBeUndefined();
    await s.clock.advance(0);
    const w = s.witnessing.witnessed!;
    expect(w.size).toBe(5);
    const note = parseNote(w.note);
    expect(note.signatures[0]!.line).toBe(parseNote(s.log.checkpoint.note).signatures[0]!.line);
    expect(w.note.startsWith(s.log.checkpoint.note)).toBe(true);
    expect(note.signatures.length).toBeGreaterThanOrEqual(1 + 2);
    expect(w.cosignatures).toHaveLength(note.signatures.length - 1);
    expect(openCheckpoint(w.note, logVerifier).checkpoint.size).toBe(5);
    // Every witness, including the one configured with a type-0x01 vkey, cosigned validly.
    for (const fw of s.witnesses) expect(cosignedBy(w.note, fw.vkey), fw.label).toBe(true);
    const status = s.witnessing.status();
    expect(status.map((x) => [x.name, x.size, x.lastError])).toEqual([
      ['a', 5, null],
      ['b', 5, null],
      ['c', 5, null],
    ]);
    expect(status[0]!.lastCosigned).toBe(new Date(s.clock.now()).toISOString());
  });

  it('sends byte-exact add-checkpoint bodies: old line, proof lines, blank line, log-signed note', async () => {
    const s = await setup(['a'], 1);
    s.witnessing.start();
    await s.add(3);
    await s.clock.advance(0);
    const first = s.log.checkpoint;
    expect(s.witnesses[0]!.bodies).toEqual([`old 0\n\n${first.note}`]);
    await s.add(10);
    await s.clock.advance(500);
    const second = s.log.checkpoint;
    const proof = await s.log.consistencyProof(3, 13);
    expect(proof.length).toBeGreaterThan(0);
    expect(verifyConsistency(3, 13, proof, first.rootHash, second.rootHash)).toBe(true);
    const lines = proof.map((h) => Buffer.from(h).toString('base64') + '\n').join('');
    expect(s.witnesses[0]!.bodies[1]).toBe(`old 3\n${lines}\n${second.note}`);
    // The note sent carries the log's signature only.
    expect(parseNote(second.note).signatures).toHaveLength(1);
    expect(s.witnessing.witnessed!.size).toBe(13);
  });

  it('on 409 with the witness size, proves again from that size and gets the cosignature in the same round', async () => {
    const s = await setup(['a'], 1);
    await s.add(4);
    const at4 = s.log.checkpoint;
    await s.add(7);
    // The witness already cosigned size 4 (say, before this process restarted).
    s.witnesses[0]!.size = 4;
    s.witnesses[0]!.root = at4.rootHash;
    s.witnessing.start();
    await s.clock.advance(0);
    expect(s.witnessing.rounds).toBe(1);
    const bodies = s.witnesses[0]!.bodies;
    expect(bodies).toHaveLength(2);
    expect(bodies[0]!.startsWith('old 0\n\n')).toBe(true);
    expect(bodies[1]!.startsWith('old 4\n')).toBe(true);
    expect(s.witnessing.witnessed!.size).toBe(11);
    expect(s.witnessing.status()[0]).toMatchObject({ size: 11, lastError: null });
    expect(s.warnings).toEqual([]);
  });

  it('does not count a bogus cosignature, and records why', async () => {
    const s = await setup(['good', 'liar'], 2);
    s.witnesses[1]!.mode = 'bogus';
    s.witnessing.start();
    await s.add(2);
    await s.clock.advance(0);
    expect(s.witnessing.witnessed).toBeUndefined();
    expect(s.witnessing.status()[1]!.lastError).toMatch(/without a valid cosignature.*invalid signature/);
    expect(s.witnessing.status()[1]!.lastCosigned).toBeNull();

    const one = await setup(['good', 'liar'], 1);
    one.witnesses[1]!.mode = 'bogus';
    one.witnessing.start();
    await one.add(2);
    await one.clock.advance(0);
    const w = one.witnessing.witnessed!;
    expect(w.cosignatures).toHaveLength(1);
    expect(cosignedBy(w.note, one.witnesses[0]!.vkey)).toBe(true);
    expect(w.note).not.toContain('witness.example/liar');
  });

  it('a down or hanging witness blocks neither the others nor the next checkpoint', async () => {
    const s = await setup(['down', 'hang', 'c', 'd'], 2, { requestTimeoutMs: 5000 });
    s.witnesses[0]!.mode = 'down';
    s.witnesses[1]!.mode = 'hang';
    s.witnessing.start();
    await s.add(3);
    await s.clock.advance(0);
    expect(s.witnessing.witnessed!.size).toBe(3);
    expect(s.witnessing.status()[0]!.lastError).toContain('connection refused');
    // The hanging request is still in flight; the next checkpoint reaches c and d anyway.
    await s.add(3);
    await s.clock.advance(500);
    expect(s.witnessing.witnessed!.size).toBe(6);
    expect(s.witnessing.witnessed!.cosignatures).toHaveLength(2);
    await s.clock.advance(5000);
    expect(s.witnessing.status()[1]!.lastError).toBe('no answer within 5000 ms');
    await s.witnessing.whenIdle();
  });

  it('rate-limits rounds to about two a second and always sends the latest checkpoint', async () => {
    const s = await setup(['a', 'b'], 2);
    s.witnessing.start();
    for (let i = 0; i < 200; i++) {
      await s.add(1);
      await s.clock.advance(10); // 200 checkpoints over 2 simulated seconds
    }
    expect(s.log.size).toBe(200);
    expect(s.witnessing.rounds).toBeGreaterThanOrEqual(3);
    expect(s.witnessing.rounds).toBeLessThanOrEqual(5);
    expect(s.fetch.calls).toBeLessThanOrEqual(2 * s.witnessing.rounds);
    await s.clock.advance(500);
    expect(s.witnessing.witnessed!.size).toBe(200);
    const rounds = s.witnessing.rounds;
    await s.clock.advance(10_000); // nothing new: no more rounds
    expect(s.witnessing.rounds).toBe(rounds);
  });

  it('reports loudly a witness that holds a larger size than the log (rollback or fork)', async () => {
    const s = await setup(['a'], 1);
    s.witnesses[0]!.size = 1000;
    s.witnesses[0]!.root = new Uint8Array(32).fill(7);
    s.witnessing.start();
    await s.add(2);
    await s.clock.advance(0);
    expect(s.witnessing.witnessed).toBeUndefined();
    expect(s.witnesses[0]!.bodies).toHaveLength(1);
    expect(s.warnings.some((w) => w.startsWith('ALERT:') && w.includes('rolled back or forked'))).toBe(true);
    expect(s.witnessing.status()[0]).toMatchObject({ size: 1000 });
  });

  it('records 422, 409 without a size, 404 and 403 without retrying them blindly', async () => {
    for (const [status, want, loud] of [
      [422, /rejected the consistency proof/, true],
      [409, /conflict \(409\) without its size/, true],
      [404, /does not know this log/, false],
      [403, /refused the log's signature/, false],
    ] as const) {
      const s = await setup(['a'], 1);
      s.witnesses[0]!.mode = { status };
      s.witnessing.start();
      await s.add(2);
      await s.clock.advance(0);
      expect(s.witnesses[0]!.bodies, String(status)).toHaveLength(1);
      expect(s.witnessing.status()[0]!.lastError).toMatch(want);
      expect(s.warnings.some((w) => w.startsWith('ALERT:'))).toBe(loud);
      // Backoff: not asked again for a second, even with new checkpoints.
      await s.add(1);
      await s.clock.advance(900);
      expect(s.witnesses[0]!.bodies).toHaveLength(1);
      await s.clock.advance(200);
      expect(s.witnesses[0]!.bodies).toHaveLength(2);
    }
  });

  it('retries a failed witness after backoff until it cosigns, then publishes', async () => {
    const s = await setup(['a', 'b'], 2);
    s.witnesses[1]!.mode = 'down';
    s.witnessing.start();
    await s.add(2);
    await s.clock.advance(0);
    expect(s.witnessing.witnessed).toBeUndefined();
    s.witnesses[1]!.mode = 'ok';
    await s.clock.advance(1000);
    expect(s.witnessing.witnessed!.size).toBe(2);
    expect(s.witnessing.status()[1]!.lastError).toBeNull();
    // a was not asked again for the checkpoint it already cosigned.
    expect(s.witnesses[0]!.bodies).toHaveLength(1);
  });

  it('waitFor resolves at quorum, times out with TIMEOUT, and fails with CLOSED on stop', async () => {
    const s = await setup(['a'], 1, { waitTimeoutMs: 3000 });
    s.witnessing.start();
    await s.add(2);
    const waiting = s.witnessing.waitFor(2);
    await s.clock.advance(0);
    expect((await waiting).size).toBe(2);
    expect((await s.witnessing.waitFor(1)).size).toBe(2); // already there

    s.witnesses[0]!.mode = 'down';
    await s.add(1);
    const late = s.witnessing.waitFor(3).catch((e: unknown) => e);
    await s.clock.advance(3000);
    expect(isLogError(await late, 'TIMEOUT')).toBe(true);

    const closed = s.witnessing.waitFor(3).catch((e: unknown) => e);
    await s.witnessing.stop();
    expect(isLogError(await closed, 'CLOSED')).toBe(true);
    expect(s.clock.pending).toBe(0);
  });

  it('does not witness the empty tree and does nothing before start', async () => {
    const s = await setup(['a'], 1);
    s.witnessing.notify();
    await s.clock.advance(1000);
    expect(s.fetch.calls).toBe(0);
    s.witnessing.start();
    await s.clock.advance(1000);
    expect(s.fetch.calls).toBe(0);
    await s.add(1);
    await s.clock.advance(0);
    expect(s.fetch.calls).toBe(1);
  });
});

describe('witness configuration', () => {
  const clock = new FakeClock();
  const w = new FakeWitness('w1', 9, TEST_ORIGIN, TEST_VERIFIER_KEY, clock);

  it('parses NAME=VKEY@URL, trimming trailing slashes', () => {
    expect(parseWitnessSpec(`w1=${w.vkey}@https://w.example/sub/`)).toEqual({
      name: 'w1',
      verifierKey: w.vkey,
      url: 'https://w.example/sub',
    });
    expect(parseWitnessSpec(`x=${w.vkey}@http://127.0.0.1:9/`).url).toBe('http://127.0.0.1:9');
  });

  it('rejects malformed witness specs', () => {
    for (const bad of [
      '',
      'w1',
      `${w.vkey}@https://w.example`,
      `w1=${w.vkey}`,
      `w1=${w.vkey}@ftp://w.example`,
      `w1=${w.vkey.slice(0, -2)}@https://w.example`,
      `w1=not-a-key@https://w.example`,
      `w 1=${w.vkey}@https://w.example`,
    ]) {
      expect(() => parseWitnessSpec(bad), bad).toThrow(/NAME=VKEY@URL|verifier key|base64/);
    }
  });

  it('requires distinct names and keys and 1 <= quorum <= witnesses', () => {
    const a = parseWitnessSpec(`a=${w.vkey}@https://a.example`);
    const other = new FakeWitness('w2', 10, TEST_ORIGIN, TEST_VERIFIER_KEY, clock);
    const b = parseWitnessSpec(`b=${other.vkey}@https://b.example`);
    expect(() => checkWitnessSet([a, b], 2)).not.toThrow();
    expect(() => checkWitnessSet([a, b], 3)).toThrow(/quorum/);
    expect(() => checkWitnessSet([a, b], 0)).toThrow(/quorum/);
    expect(() => checkWitnessSet([a, { ...b, name: 'a' }], 1)).toThrow(/name a is repeated/);
    expect(() => checkWitnessSet([a, { ...a, name: 'c' }], 1)).toThrow(/key .* is repeated/);
  });
});


