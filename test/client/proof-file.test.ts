import { beforeAll, describe, expect, it } from 'vitest';
import {
  PROOF_HEADER,
  formatProofFile,
  isLogError,
  leafHash,
  openCheckpointWithPolicy,
  parsePolicy,
  parseProofFile,
  policyForLog,
  toBase64,
  verifyProofFile,
  type ErrorCode,
  type Policy,
} from '../../src/index.js';
import {
  COSIGN_TIME,
  NOW_MS,
  W1,
  W2,
  W3,
  TEST_VERIFIER_KEY,
  cosign,
  flipBase64Char,
  now,
  policyText,
  servedLog,
  witness,
} from './fixtures.js';

function codeOf(fn: () => unknown): ErrorCode | 'none' | 'other' {
  try {
    fn();
    return 'none';
  } catch (err) {
    return isLogError(err) ? err.code : 'other';
  }
}

describe('tlog-proof format', () => {
  const note =
    'example.com/log\n3\nKgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n' +
    '— example.com/log AAAAAQIDBAUGBwgJ\n';
  const h = (b: number): Uint8Array => new Uint8Array(32).fill(b);

  it('formats the exact layout of the spec and parses it back', () => {
    const p = { extra: new Uint8Array([1, 2, 3]), index: 2, proof: [h(1), h(2)], checkpoint: note };
    const text = formatProofFile(p);
    expect(text).toBe(
      `${PROOF_HEADER}\nextra AQID\nindex 2\n${toBase64(h(1))}\n${toBase64(h(2))}\n\n${note}`
    );
    expect(parseProofFile(text)).toEqual(p);
    expect(parseProofFile(new TextEncoder().encode(text))).toEqual(p);
  });

  it('round-trips without extra and without proof hashes', () => {
    const p = { index: 0, proof: [], checkpoint: note };
    const text = formatProofFile(p);
    expect(text).toBe(`${PROOF_HEADER}\nindex 0\n\n${note}`);
    expect(parseProofFile(text)).toEqual(p);
  });

  const good = `${PROOF_HEADER}\nindex 2\n${toBase64(h(1))}\n\n${note}`;
  const malformed: Array<[string, string]> = [
    ['empty', ''],
    ['wrong header', good.replace('@v1', '@v2')],
    ['header with trailing space', good.replace('@v1\n', '@v1 \n')],
    ['CRLF line ends', good.replace(/\n/g, '\r\n')],
    ['missing index', `${PROOF_HEADER}\n${toBase64(h(1))}\n\n${note}`],
    ['index with leading zero', good.replace('index 2', 'index 02')],
    ['negative index', good.replace('index 2', 'index -2')],
    ['index above 2^53', good.replace('index 2', 'index 9007199254740992')],
    ['two spaces after index', good.replace('index 2', 'index  2')],
    ['extra after index', good.replace('index 2\n', 'index 2\nextra AQID\n')],
    ['empty extra', good.replace('index 2', 'extra \nindex 2')],
    ['non-canonical extra', good.replace('index 2', 'extra AQI=x\nindex 2')],
    ['short hash', good.replace(toBase64(h(1)), toBase64(new Uint8Array(31)))],
    ['non-canonical hash', good.replace(toBase64(h(1)), toBase64(h(1)).slice(0, -2) + 'F=')],
    ['blank line missing', good.replace(`${toBase64(h(1))}\n\n`, `${toBase64(h(1))}\n`)],
    ['64 proof hashes', good.replace(`${toBase64(h(1))}\n`, `${toBase64(h(1))}\n`.repeat(64))],
    ['checkpoint without signatures', good.replace(/\n— .*\n$/, '\n')],
    ['checkpoint with bad size', good.replace('\n3\n', '\n03\n')],
    ['two blank lines', good.replace('\n\nexample', '\n\n\nexample')],
    ['trailing garbage after note', good + 'x'],
  ];
  it.each(malformed)('rejects %s as MALFORMED', (_, text) => {
    expect(codeOf(() => parseProofFile(text))).toBe('MALFORMED');
  });

  it('refuses to format bad parts', () => {
    expect(() => formatProofFile({ index: -1, proof: [], checkpoint: note })).toThrow(TypeError);
    expect(() => formatProofFile({ index: 0, proof: [h(1).subarray(1)], checkpoint: note })).toThrow(TypeError);
    expect(() => formatProofFile({ index: 0, proof: [], checkpoint: note, extra: new Uint8Array() })).toThrow(
      TypeError
    );
    expect(codeOf(() => formatProofFile({ index: 0, proof: [], checkpoint: 'x\n' }))).toBe('MALFORMED');
  });
});

describe('verifyProofFile and openCheckpointWithPolicy', () => {
  let entries: Uint8Array[];
  let note: string; // cosigned by w1, w2, w3
  let proofFor: (index: number, n?: string, extra?: boolean) => Promise<string>;
  const policy: Policy = parsePolicy(policyText('two'));

  beforeAll(async () => {
    const served = await servedLog(13);
    entries = served.entries;
    note = cosign(served.log.checkpoint.note, [W1, W2, W3]);
    proofFor = async (index, n = note, extra = true) =>
      formatProofFile({
        ...(extra ? { extra: leafHash(entries[index]!) } : {}),
        index,
        proof: await served.log.inclusionProof(index, 13),
        checkpoint: n,
      });
  });

  it('accepts a valid proof and reports the cosigning witnesses with timestamps', async () => {
    for (const index of [0, 5, 12]) {
      const r = verifyProofFile(await proofFor(index), entries[index]!, policy, { now });
      expect(r.index).toBe(index);
      expect(r.leafHash).toEqual(leafHash(entries[index]!));
      expect(r.checkpoint.size).toBe(13);
      expect(r.witnesses).toEqual([
        { name: 'w1', verifierKey: W1.verifierKey, timestamp: COSIGN_TIME },
        { name: 'w2', verifierKey: W2.verifierKey, timestamp: COSIGN_TIME },
        { name: 'w3', verifierKey: W3.verifierKey, timestamp: COSIGN_TIME },
      ]);
    }
  });

  it('rejects each kind of tampering with its own code', async () => {
    const proof = await proofFor(5);
    const lines = proof.split('\n');
    const hashLine = lines.findIndex((l, i) => i > 2 && l.length === 44);
    const sigLine = (name: string): number => lines.findIndex((l) => l.startsWith(`— ${name} `));
    const edit = (i: number, f: (l: string) => string): string =>
      lines.map((l, k) => (k === i ? f(l) : l)).join('\n');
    const logLine = sigLine('test.example/log');
    const cases: Array<[string, string, Uint8Array, Policy, ErrorCode]> = [
      ['entry bytes (proof carries the leaf hash)', proof, entries[6]!, policy, 'ENTRY_MISMATCH'],
      ['entry bytes (proof without extra)', await proofFor(5, note, false), entries[6]!, policy, 'PROOF_FAILED'],
      ['a proof hash', edit(hashLine, (l) => flipBase64Char(l, 10)), entries[5]!, policy, 'PROOF_FAILED'],
      ['the index', proof.replace('index 5', 'index 4'), entries[5]!, policy, 'PROOF_FAILED'],
      ['the index (and the entry to match)', proof.replace('index 5', 'index 4'), entries[4]!, policy, 'PROOF_FAILED'],
      ['the size', proof.replace('\n13\n', '\n14\n'), entries[5]!, policy, 'BAD_SIGNATURE'],
      ['the root hash', edit(lines.indexOf('13') + 1, (l) => flipBase64Char(l, 5)), entries[5]!, policy, 'BAD_SIGNATURE'],
      ['the origin', proof.replace('test.example/log\n13', 'test.example/lug\n13'), entries[5]!, policy, 'UNKNOWN_LOG'],
      ['the log signature', edit(logLine, (l) => flipBase64Char(l, 40)), entries[5]!, policy, 'BAD_SIGNATURE'],
      ['a cosignature', edit(sigLine('w2.example'), (l) => flipBase64Char(l, 40)), entries[5]!, policy, 'BAD_SIGNATURE'],
      ['removed cosignatures', lines.filter((_, i) => i !== sigLine('w2.example') && i !== sigLine('w3.example')).join('\n'), entries[5]!, policy, 'QUORUM_NOT_MET'],
      ['the policy quorum (all four)', proof, entries[5]!, parsePolicy(policyText('four', `witness w4 ${witness(4).verifierKey}\ngroup four all w1 w2 w3 w4\n`)), 'QUORUM_NOT_MET'],
      ['the log signature removed', lines.filter((_, i) => i !== logLine).join('\n'), entries[5]!, policy, 'BAD_SIGNATURE'],
      ['the proof syntax', proof.replace('index 5', 'index 5x'), entries[5]!, policy, 'MALFORMED'],
    ];
    const results = cases.map(([name, text, entry, p]) => [name, codeOf(() => verifyProofFile(text, entry, p, { now }))]);
    expect(results).toEqual(cases.map(([name, , , , code]) => [name, code]));
  });

  it('ignores signatures by keys the policy does not know', async () => {
    const extra = cosign(note, [witness(9)]);
    expect(verifyProofFile(await proofFor(1, extra), entries[1]!, policy, { now }).witnesses).toHaveLength(3);
  });

  it('does not count cosignatures from the future beyond the allowed skew', () => {
    const late = [witness(1, COSIGN_TIME + 3600), witness(2, COSIGN_TIME + 3600)];
    const future = cosign(note.split('\n— w1')[0]! + '\n', late);
    expect(codeOf(() => openCheckpointWithPolicy(future, policy, { now }))).toBe('QUORUM_NOT_MET');
    expect(() => openCheckpointWithPolicy(future, policy, { now })).toThrow(/in the future/);
    // Within the skew they count; with a later clock they count too.
    const soon = cosign(note.split('\n— w1')[0]! + '\n', [witness(1, COSIGN_TIME + 200), W2]);
    expect(openCheckpointWithPolicy(soon, policy, { now }).witnesses.map((w) => w.name)).toEqual(['w1', 'w2']);
    const later = { now: () => NOW_MS + 3600_000 };
    expect(openCheckpointWithPolicy(future, policy, later).witnesses).toHaveLength(2);
    expect(codeOf(() => openCheckpointWithPolicy(soon, policy, { now, maxFutureSkewSeconds: 0 }))).toBe(
      'QUORUM_NOT_MET'
    );
  });

  it('checks the expected origin and needs a policy log for it', () => {
    expect(codeOf(() => openCheckpointWithPolicy(note, policy, { now, origin: 'other.example/log' }))).toBe(
      'UNKNOWN_LOG'
    );
    const noLog = parsePolicy(`witness w1 ${W1.verifierKey}\nquorum w1\n`);
    expect(codeOf(() => openCheckpointWithPolicy(note, noLog, { now }))).toBe('UNKNOWN_LOG');
    expect(openCheckpointWithPolicy(note, policyForLog(TEST_VERIFIER_KEY)).logKey).toBe(TEST_VERIFIER_KEY);
  });

  it('accepts the checkpoint as bytes and keeps the note verbatim', () => {
    const cp = openCheckpointWithPolicy(new TextEncoder().encode(note), policy, { now });
    expect(cp.note).toBe(note);
    expect(cp.origin).toBe('test.example/log');
  });
});
