import { describe, expect, it } from 'vitest';
import {
  evaluateQuorum,
  formatPolicy,
  isLogError,
  parsePolicy,
  policyForLog,
  formatVerifierKey,
  type Policy,
} from '../../src/index.js';
import { TEST_VERIFIER_KEY, W1, W2, W3, witness } from './fixtures.js';

const LOG = TEST_VERIFIER_KEY;
const [K1, K2, K3] = [W1.verifierKey, W2.verifierKey, W3.verifierKey];
const K4 = witness(4).verifierKey;

function parseError(text: string): string {
  try {
    parsePolicy(text);
  } catch (err) {
    if (isLogError(err, 'MALFORMED')) return err.message;
    throw err;
  }
  throw new Error('policy was accepted');
}

describe('policy parser: valid policies', () => {
  it('parses logs, witnesses, nested groups and the quorum, with comments and blank lines', () => {
    const p = parsePolicy(
      [
        '# a comment',
        `log ${LOG} https://log.example/`,
        '',
        `  witness\tX1 ${K1}`,
        `witness X2 ${K2}   `,
        `witness X3 ${K3} https://w3.example/submit`,
        '   # indented comment',
        'group X 2 X1 X2 X3',
        `witness Y1 ${K4}`,
        'group Y any Y1',
        'group XY all X Y',
        'quorum XY',
        '',
      ].join('\n')
    );
    expect(p.logs.map((l) => [l.name, l.url])).toEqual([['test.example/log', 'https://log.example/']]);
    expect(p.witnesses.map((w) => [w.name, w.url])).toEqual([
      ['X1', undefined],
      ['X2', undefined],
      ['X3', 'https://w3.example/submit'],
      ['Y1', undefined],
    ]);
    expect(p.groups).toEqual([
      { name: 'X', threshold: 2, members: ['X1', 'X2', 'X3'] },
      { name: 'Y', threshold: 1, members: ['Y1'] },
      { name: 'XY', threshold: 2, members: ['X', 'Y'] },
    ]);
    expect(p.quorum).toBe('XY');
    // Witness lines may follow the quorum; the last line may lack its newline.
    expect(parsePolicy(`quorum none\nwitness a ${K1}`).witnesses).toHaveLength(1);
  });

  it('accepts quorum none with no logs or witnesses, and witness keys of type 0x01', () => {
    expect(parsePolicy('quorum none\n')).toEqual({ logs: [], witnesses: [], groups: [], quorum: 'none' });
    const type1 = formatVerifierKey('w1.example', 0x01, parsePolicyKey(K1));
    const p = parsePolicy(`witness w ${type1}\nquorum w\n`);
    expect(p.witnesses[0]!.verifier.keyId).toBe(parsePolicy(`witness w ${K1}\nquorum w\n`).witnesses[0]!.verifier.keyId);
  });

  it('formats a policy that parses back to the same policy', () => {
    const text = `log ${LOG} https://l.example\nwitness a ${K1}\nwitness b ${K2}\ngroup g 1 a b\ngroup h all g\nquorum h\n`;
    const p = parsePolicy(text);
    expect(formatPolicy(p)).toBe(text);
    expect(strip(parsePolicy(formatPolicy(p)))).toEqual(strip(p));
    expect(policyForLog(LOG).quorum).toBe('none');
  });
});

function parsePolicyKey(vkey: string): Uint8Array {
  const b64 = vkey.split('+').slice(2).join('+');
  return new Uint8Array(Buffer.from(b64, 'base64')).subarray(1);
}

function strip(p: Policy): unknown {
  return {
    logs: p.logs.map((l) => [l.verifierKey, l.url]),
    witnesses: p.witnesses.map((w) => [w.name, w.verifierKey, w.url]),
    groups: p.groups,
    quorum: p.quorum,
  };
}

describe('policy parser: malformed policies name the line', () => {
  const table: Array<[string, string, RegExp]> = [
    ['no quorum', `log ${LOG}\n`, /no quorum line/],
    ['empty file', '', /no quorum line/],
    ['two quorum lines', 'quorum none\nquorum none\n', /line 2: second quorum/],
    ['quorum of an undefined name', 'quorum w1\n', /line 1: "w1" is not defined/],
    ['quorum before its witness', `quorum w1\nwitness w1 ${K1}\n`, /line 1: "w1" is not defined/],
    ['quorum with two names', `witness a ${K1}\nquorum a a\n`, /line 2: want: quorum/],
    ['unknown keyword', 'logs x\nquorum none\n', /line 1: unknown keyword "logs"/],
    ['keyword in capitals', `LOG ${LOG}\nquorum none\n`, /line 1: unknown keyword/],
    ['trailing comment', `log ${LOG} https://l.example # mine\nquorum none\n`, /line 1: want: log/],
    ['log without key', 'log\nquorum none\n', /line 1: want: log/],
    ['log with a bad key', 'log example.com+00000000+AAAA\nquorum none\n', /line 1: verifier key/],
    ['log with a cosigner key (type 0x04)', `log ${K1}\nquorum none\n`, /line 1: .*Ed25519/],
    ['log with a relative URL', `log ${LOG} log.example\nquorum none\n`, /line 1: .*absolute URL/],
    ['duplicate log', `log ${LOG}\nlog ${LOG}\nquorum none\n`, /line 2: duplicate log key/],
    ['witness without name', `witness ${K1}\nquorum none\n`, /line 1: /],
    ['witness with too many fields', `witness a ${K1} https://a.example x\nquorum none\n`, /line 1: want: witness/],
    ['witness named none', `witness none ${K1}\nquorum none\n`, /line 1: "none" is reserved/],
    ['duplicate witness name', `witness a ${K1}\nwitness a ${K2}\nquorum none\n`, /line 2: name "a" is already/],
    ['duplicate witness key', `witness a ${K1}\nwitness b ${K1}\nquorum none\n`, /line 2: duplicate witness key/],
    [
      'same witness key as type 0x01',
      `witness a ${K1}\nwitness b ${formatVerifierKey('other', 0x01, parsePolicyKey(K1))}\nquorum none\n`,
      /line 2: duplicate witness key/,
    ],
    ['group named like a witness', `witness a ${K1}\ngroup a any a\nquorum none\n`, /line 2: name "a" is already/],
    ['group without members', `witness a ${K1}\ngroup g any\nquorum none\n`, /line 2: want: group/],
    ['group with an undefined member', `witness a ${K1}\ngroup g any a b\nquorum g\n`, /line 2: "b" is not defined/],
    ['group member defined later', `group g any a\nwitness a ${K1}\nquorum g\n`, /line 1: "a" is not defined/],
    ['group listing a member twice', `witness a ${K1}\ngroup g 1 a a\nquorum g\n`, /line 2: "a" is listed twice/],
    ['group with none as member', `witness a ${K1}\ngroup g any a none\nquorum g\n`, /line 2: "none" cannot/],
    ['group named none', `witness a ${K1}\ngroup none any a\nquorum none\n`, /line 2: "none" is reserved/],
    ['group that contains itself', `witness a ${K1}\ngroup g any a g\nquorum g\n`, /line 2: "g" is not defined/],
    ['threshold 0', `witness a ${K1}\ngroup g 0 a\nquorum g\n`, /line 2: threshold 0 is not between 1 and 1/],
    ['threshold above members', `witness a ${K1}\ngroup g 2 a\nquorum g\n`, /line 2: threshold 2/],
    ['threshold with leading zero', `witness a ${K1}\ngroup g 01 a\nquorum g\n`, /line 2: threshold must be/],
    ['threshold word', `witness a ${K1}\ngroup g some a\nquorum g\n`, /line 2: threshold must be/],
    ['carriage return', 'quorum none\r\n', /line 1: control character/],
    ['NUL byte', '# \u0000\nquorum none\n', /line 1: control character/],
    ['DEL', 'quorum none\n#\u007f\n', /line 2: control character/],
    ['non-breaking space as separator', 'quorum\u00a0none\n', /line 1: unknown keyword/],
  ];
  it.each(table)('%s', (_, text, re) => {
    expect(parseError(text)).toMatch(re);
  });

  it('rejects invalid UTF-8 bytes', () => {
    const bytes = new Uint8Array([...new TextEncoder().encode('# '), 0xff, 0x0a, ...new TextEncoder().encode('quorum none\n')]);
    expect(() => parsePolicy(bytes)).toThrow(/UTF-8/);
  });

  it('allows non-ASCII names, compared exactly', () => {
    const p = parsePolicy(`witness K ${K1}\nwitness \u212a ${K2}\ngroup g all K \u212a\nquorum g\n`);
    expect(p.witnesses.map((w) => w.name)).toEqual(['K', '\u212a']);
  });
});

describe('quorum evaluation', () => {
  const p = parsePolicy(
    `witness X1 ${K1}\nwitness X2 ${K2}\nwitness X3 ${K3}\ngroup X 2 X1 X2 X3\n` +
      `witness Y1 ${K4}\ngroup Y any Y1\ngroup XY all X Y\nquorum XY\n`
  );
  const table: Array<[string[], boolean]> = [
    [[], false],
    [['X1', 'X2'], false],
    [['X1', 'Y1'], false],
    [['X1', 'X2', 'Y1'], true],
    [['X2', 'X3', 'Y1'], true],
    [['X1', 'X2', 'X3'], false],
    [['X1', 'X2', 'X3', 'Y1'], true],
    [['Y1', 'unknown', 'X1', 'nobody'], false],
  ];
  it.each(table)('cosigned by %j: met %s', (names, met) => {
    expect(evaluateQuorum(p, names).met).toBe(met);
  });

  it('reports every satisfied witness and group', () => {
    expect(evaluateQuorum(p, ['X1', 'X3', 'Y1']).satisfied).toEqual(['X1', 'X3', 'Y1', 'X', 'Y', 'XY']);
  });

  it('quorum none is always met; a single-witness quorum needs that witness', () => {
    expect(evaluateQuorum(parsePolicy('quorum none\n'), []).met).toBe(true);
    const single = parsePolicy(`witness a ${K1}\nwitness b ${K2}\nquorum a\n`);
    expect(evaluateQuorum(single, ['b']).met).toBe(false);
    expect(evaluateQuorum(single, ['a']).met).toBe(true);
  });
});
