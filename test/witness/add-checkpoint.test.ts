/**
 * POST /add-checkpoint, c2sp.org/tlog-witness v1.0.0 (specs §6.1): every row of the status
 * table, first contact, re-cosigning, the spec's request examples, byte-exact cosignatures,
 * and the monitoring path.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cosignatureV1Verifier } from '../../src/checkpoint/cosignature.js';
import { ed25519Signer, ed25519Verifier, generateSignerKey } from '../../src/note/keys.js';
import { openNote, signNote } from '../../src/note/note.js';
import { parseAddCheckpointRequest } from '../../src/witness/request.js';
import { originHash } from '../../src/witness/witness-store.js';
import {
  CHECKPOINT_8,
  COSIGNATURE_8_AT_1679315147,
  LEAVES_8,
  LOG_ORIGIN,
  LOG_SKEY,
  LOG_VKEY,
  TestTree,
  WITNESS_VKEY,
  addBody,
  openTestWitness,
  post,
  tempDir,
  writeWitnessKey,
} from './helpers.js';

type W = Awaited<ReturnType<typeof openTestWitness>>;

describe('POST /add-checkpoint (tlog-witness v1.0.0)', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let w: W;
  let clock: number;
  const tree = new TestTree().add(...LEAVES_8);

  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir());
    await writeWitnessKey(dir);
    clock = 1679315147_000;
    w = await openTestWitness(dir, { now: () => clock });
  });
  afterEach(async () => {
    await w.close();
    await cleanup();
  });

  const add = (body: string | Uint8Array): Promise<Response> => post(w.app, '/add-checkpoint', body);
  async function onFreshWitness(fn: (add: (body: string) => Promise<Response>) => Promise<void>): Promise<void> {
    const fresh = await tempDir();
    const other = await openTestWitness(fresh.dir);
    try {
      await fn((body) => post(other.app, '/add-checkpoint', body));
    } finally {
      await other.close();
      await fresh.cleanup();
    }
  }
  async function expectError(res: Response, status: number, code?: string): Promise<void> {
    expect(res.status).toBe(status);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const body = (await res.json()) as { error: { code: string; message: string } };
    if (code !== undefined) expect(body.error.code).toBe(code);
    expect(body.error.message.length).toBeGreaterThan(0);
  }

  it('first contact: old 0 with an empty proof is cosigned, byte for byte as specs §8.2', async () => {
    const res = await add(addBody(0, [], CHECKPOINT_8));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(await res.text()).toBe(COSIGNATURE_8_AT_1679315147);
    expect(w.witness.state(LOG_ORIGIN)?.size).toBe(8);
  });

  it('the specs §8.2 request (old 6, three hashes) parses and is cosigned byte for byte', async () => {
    expect((await add(addBody(0, [], tree.checkpoint(6)))).status).toBe(200);
    const body = addBody(6, tree.proof(6, 8), CHECKPOINT_8);
    const parsed = parseAddCheckpointRequest(body);
    expect(parsed.old).toBe(6);
    expect(parsed.proof.map((h) => Buffer.from(h).toString('base64'))).toEqual([
      'DrxdNDf74tsVi58Sah0RjjCBgQMdCpSfje3t68VY72o=',
      'yoVOoSjtBQtBs1/8G4e46yveRh6eO1WW7Oa51ZdaCuA=',
      '037kGJdt2VdTwcc4Yrk5j6Kiz5tP8P3+izDNlSCWFLc=',
    ]);
    const res = await add(body);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe(COSIGNATURE_8_AT_1679315147);
  });

  it('the specs §6.1 example body parses (its origin is unknown here: 404, not 400)', async () => {
    const example =
      'old 20852014\nPlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=\njrJZDmY8Y7SyJE0MWLpLozkIVMSMZcD5kvuKxPC3swk=\n' +
      '5+pKlUdi2LeF/BcMHBn+Ku6yhPGNCswZZD1X/6QgPd8=\n/6WVhPs2CwSsb5rYBH5cjHV/wSmA79abXAwhXw3Kj/0=\n\n' +
      'example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n' +
      '— example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n' +
      '— example.com/behind-the-sofa opLqBQsREYCgu6xQkYQwJr9fo45a62DN9EdmHXnZdXNqlcVGlCum2Wks+49/V6267UEjw6QUXTS5Rovnzv++qbSzm9Q=\n';
    const parsed = parseAddCheckpointRequest(example);
    expect(parsed.old).toBe(20852014);
    expect(parsed.proof).toHaveLength(4);
    await expectError(await add(example), 404, 'UNKNOWN_LOG');
  });

  describe('status table', () => {
    beforeEach(async () => {
      expect((await add(addBody(0, [], tree.checkpoint(6)))).status).toBe(200);
    });

    it.each([
      ['no blank line', 'old 6\n'],
      ['old with a leading zero', `old 06\n\n${CHECKPOINT_8}`],
      ['old negative', `old -1\n\n${CHECKPOINT_8}`],
      ['old with a space', `old  6\n\n${CHECKPOINT_8}`],
      ['no old line', `6\n\n${CHECKPOINT_8}`],
      ['proof hash of 31 bytes', `old 6\n${Buffer.alloc(31).toString('base64')}\n\n${CHECKPOINT_8}`],
      ['proof hash not canonical base64', `old 6\nDrxdNDf74tsVi58Sah0RjjCBgQMdCpSfje3t68VY72p=\n\n${CHECKPOINT_8}`],
      ['64 proof hashes', `old 6\n${`${Buffer.alloc(32).toString('base64')}\n`.repeat(64)}\n${CHECKPOINT_8}`],
      ['no checkpoint', 'old 6\n\n'],
      ['unsigned checkpoint', 'old 6\n\nexample.com/testlog\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n'],
      ['checkpoint size with a leading zero', CHECKPOINT_8.replace('\n8\n', '\n08\n')],
    ])('400 for a malformed body: %s', async (_name, body) => {
      await expectError(await add(body), 400, 'MALFORMED');
    });

    it('400 for a body that is not UTF-8', async () => {
      await expectError(await add(new Uint8Array([0x6f, 0x6c, 0x64, 0x20, 0x36, 0xff, 0x0a, 0x0a])), 400);
    });

    it('413 for a body over 64 KiB', async () => {
      await expectError(await add(`old 6\n\n${'x'.repeat(70_000)}`), 413, 'TOO_LARGE');
    });

    it('404 for an origin this witness does not know', async () => {
      const other = new TestTree('example.com/other', generateSignerKey('example.com/other').signerKey).grow(3);
      await expectError(await add(addBody(0, [], other.checkpoint())), 404, 'UNKNOWN_LOG');
    });

    it('403 when no trusted key signed, and when a trusted key signature fails', async () => {
      const stranger = generateSignerKey(LOG_ORIGIN).signerKey;
      await expectError(await add(addBody(6, tree.proof(6), tree.checkpoint(8, [stranger]))), 403, 'BAD_SIGNATURE');
      const lines = CHECKPOINT_8.split('\n');
      const badSig = CHECKPOINT_8.replace(lines[4]!, lines[4]!.slice(0, -6) + 'AAAAA=');
      await expectError(await add(addBody(6, tree.proof(6), badSig)), 403, 'BAD_SIGNATURE');
    });

    it('400 when old is larger than the checkpoint size', async () => {
      await expectError(await add(addBody(7, [], tree.checkpoint(6))), 400, 'MALFORMED');
    });

    it('409 with text/x.tlog.size when old is not the stored size', async () => {
      const res = await add(addBody(4, tree.proof(4), CHECKPOINT_8));
      expect(res.status).toBe(409);
      expect(res.headers.get('content-type')).toBe('text/x.tlog.size');
      expect(await res.text()).toBe('6\n');
      const first = await add(addBody(0, [], CHECKPOINT_8)); // a client that learns the size
      expect(first.status).toBe(409);
      expect(await first.text()).toBe('6\n');
    });

    it('409 with size 0 for a log never cosigned, when old is not 0', async () => {
      await onFreshWitness(async (addFresh) => {
        const res = await addFresh(addBody(6, tree.proof(6), CHECKPOINT_8));
        expect(res.status).toBe(409);
        expect(await res.text()).toBe('0\n');
      });
    });

    it('422 for a size-0 checkpoint whose root is not the empty tree root', async () => {
      await onFreshWitness(async (addFresh) => {
        const text = `${LOG_ORIGIN}\n0\n${Buffer.from(tree.root(3)).toString('base64')}\n`;
        const bad = signNote(text, [ed25519Signer(LOG_SKEY)]);
        await expectError(await addFresh(addBody(0, [], bad)), 422, 'PROOF_FAILED');
        expect((await addFresh(addBody(0, [], new TestTree().checkpoint(0)))).status).toBe(200);
      });
    });

    it('422 for old 0 with a non-empty proof (first contact)', async () => {
      await onFreshWitness(async (addFresh) => {
        await expectError(await addFresh(addBody(0, tree.proof(6), CHECKPOINT_8)), 422, 'PROOF_FAILED');
      });
    });

    it('422 when the consistency proof fails (flipped bit, missing or extra hash)', async () => {
      const proof = tree.proof(6);
      const flipped = proof.map((h, i) => (i === 1 ? h.map((b, j) => (j === 0 ? b ^ 1 : b)) : h));
      await expectError(await add(addBody(6, flipped, CHECKPOINT_8)), 422, 'PROOF_FAILED');
      await expectError(await add(addBody(6, proof.slice(1), CHECKPOINT_8)), 422, 'PROOF_FAILED');
      await expectError(await add(addBody(6, [...proof, proof[0]!], CHECKPOINT_8)), 422, 'PROOF_FAILED');
      await expectError(await add(addBody(6, [proof[0]!], tree.checkpoint(6))), 422, 'PROOF_FAILED');
      expect(w.witness.state(LOG_ORIGIN)?.size).toBe(6);
      expect(w.witness.alerts()).toEqual([]); // a bad proof from a client is not evidence
    });

    it('409 for the stored size with another root: evidence, recorded as an alert', async () => {
      const fork = new TestTree().grow(6, 'fork');
      const res = await add(addBody(6, [], fork.checkpoint(6)));
      await expectError(res, 409, 'CONFLICT');
      const alerts = w.witness.alerts();
      expect(alerts).toHaveLength(1);
      expect(alerts[0]).toMatchObject({ origin: LOG_ORIGIN, kind: 'conflicting-root', source: 'add-checkpoint' });
      expect(alerts[0]!.evidence[1]).toBe(fork.checkpoint(6));
      expect(w.warnings.some((l) => l.startsWith('ALERT conflicting-root'))).toBe(true);
      // Halted: nothing is cosigned for the origin until an operator clears it.
      await expectError(await add(addBody(6, tree.proof(6), CHECKPOINT_8)), 403, 'HALTED');
      await w.witness.clear(LOG_ORIGIN);
      expect((await add(addBody(6, tree.proof(6), CHECKPOINT_8))).status).toBe(200);
    });

    it('200 for a valid proof from the stored size', async () => {
      const res = await add(addBody(6, tree.proof(6), CHECKPOINT_8));
      expect(res.status).toBe(200);
      const line = await res.text();
      const opened = openNote(CHECKPOINT_8 + line, [cosignatureV1Verifier(WITNESS_VKEY)]);
      expect(opened.verified).toHaveLength(1);
    });
  });

  it('re-cosigns the same checkpoint with a fresh timestamp', async () => {
    expect(await (await add(addBody(0, [], CHECKPOINT_8))).text()).toBe(COSIGNATURE_8_AT_1679315147);
    clock += 5_000;
    const res = await add(addBody(8, [], CHECKPOINT_8));
    expect(res.status).toBe(200);
    const line = await res.text();
    expect(line).not.toBe(COSIGNATURE_8_AT_1679315147);
    const v = cosignatureV1Verifier(WITNESS_VKEY);
    openNote(CHECKPOINT_8 + line, [v]);
    expect(v.lastTimestamp).toBe(1679315152);
    // Nothing changed, so nothing was written: the monitoring path keeps the stored note
    // until its refresh is due (test/witness/replay.test.ts counts the writes).
    expect(w.witness.state(LOG_ORIGIN)?.note).toBe(CHECKPOINT_8 + COSIGNATURE_8_AT_1679315147);
    clock += 60_000;
    const due = await (await add(addBody(8, [], CHECKPOINT_8))).text();
    expect(w.witness.state(LOG_ORIGIN)?.note).toBe(CHECKPOINT_8 + due);
  });

  it('ignores signatures by unknown keys and does not republish them', async () => {
    const stranger = generateSignerKey('someone.example/else').signerKey;
    const otherWitness = generateSignerKey('w9.example').signerKey;
    const note = tree.checkpoint(8, [stranger, LOG_SKEY, otherWitness]);
    const res = await add(addBody(0, [], note));
    expect(res.status).toBe(200);
    const published = w.witness.state(LOG_ORIGIN)!.note;
    expect(published).toBe(CHECKPOINT_8 + (await res.text()));
    expect(published).not.toContain('someone.example/else');
  });

  it('serves the latest cosigned checkpoint at the monitoring path (SHA-256 of the origin)', async () => {
    expect(originHash('example.com/testlog')).toBe('11c2c657d91d874a43d0d79f107fb604fb16885b0d0343754477f9200bfae89e');
    const path = `/${originHash(LOG_ORIGIN)}/checkpoint`;
    expect((await w.app.request(path)).status).toBe(404);
    expect((await w.app.request(`/${'0'.repeat(64)}/checkpoint`)).status).toBe(404);
    await add(addBody(0, [], CHECKPOINT_8));
    const res = await w.app.request(path);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    const note = await res.text();
    expect(openNote(note, [ed25519Verifier(LOG_VKEY)]).verified).toHaveLength(1);
    expect(openNote(note, [cosignatureV1Verifier(WITNESS_VKEY)]).verified).toHaveLength(1);
  });

  it('answers 405 for a wrong method and JSON 404 elsewhere', async () => {
    expect((await w.app.request('/add-checkpoint')).status).toBe(405);
    const res = await w.app.request('/nope');
    await expectError(res, 404, 'NOT_FOUND');
  });
});
